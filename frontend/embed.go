// Package frontend holds the web UI: static HTML pages, one stylesheet and
// plain ES modules under static/, plus the server-rendered error page under
// templates/. Everything is embedded into the binary so that `go build` needs
// no Node toolchain and the UI is served exactly as written.
package frontend

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
)

//go:embed static templates
var files embed.FS

// Static is the tree of static assets rooted at static/, ready to be served
// under /static/ (css/app.css, js/*.js, img/*, and the *.html pages).
var Static fs.FS = mustSub(files, "static")

// ErrorTemplate renders the error page. The server executes it with a value
// that has the fields Status (the HTTP status code), Title and Message. It is
// parsed once at start-up so that a broken template fails the build's tests
// rather than a live request.
var ErrorTemplate = template.Must(template.ParseFS(files, "templates/error.html")).Lookup("error.html")

// ErrNoPage is returned by Page for a name that is not one of the pages.
var ErrNoPage = errors.New("frontend: no such page")

// Page returns the bytes of the static page name ("login.html" or "login").
// Only top-level .html files of static/ are pages; anything else, including
// names with a path separator, returns an error wrapping ErrNoPage.
func Page(name string) ([]byte, error) {
	if path.Ext(name) == "" {
		name += ".html"
	}
	// A page name is a single element: refusing separators here keeps a
	// caller that forwards part of a URL from reaching other assets.
	if strings.ContainsAny(name, `/\`) || !fs.ValidPath(name) || path.Ext(name) != ".html" {
		return nil, fmt.Errorf("page %q: %w", name, ErrNoPage)
	}
	b, err := fs.ReadFile(Static, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("page %q: %w", name, ErrNoPage)
		}
		return nil, fmt.Errorf("frontend: read page %q: %w", name, err)
	}
	return b, nil
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		// fs.Sub fails only for an invalid directory name, a programming error.
		panic(fmt.Sprintf("frontend: sub %q: %v", dir, err))
	}
	return sub
}
