package frontend

import (
	"bytes"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// pageRoutes are the server routes a page may link to; they are not files.
var pageRoutes = map[string]bool{"/": true, "/login": true, "/admin": true, "/lead": true, "/annotate": true}

// document is one HTML file of the UI with its parsed tree.
type document struct {
	name string
	root *html.Node
}

func documents(t *testing.T) []document {
	t.Helper()
	var docs []document
	pages, err := fs.Glob(Static, "*.html")
	if err != nil {
		t.Fatalf("glob pages: %v", err)
	}
	if len(pages) < 4 {
		t.Fatalf("found pages %v, want at least login, admin, lead, annotate", pages)
	}
	for _, name := range pages {
		b, err := fs.ReadFile(Static, name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		docs = append(docs, parse(t, name, b))
	}
	var buf bytes.Buffer
	if err := ErrorTemplate.Execute(&buf, errorData{Status: 403, Title: "Forbidden", Message: "No."}); err != nil {
		t.Fatalf("execute error template: %v", err)
	}
	return append(docs, parse(t, "templates/error.html", buf.Bytes()))
}

func parse(t *testing.T, name string, b []byte) document {
	t.Helper()
	root, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return document{name: name, root: root}
}

func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

type errorData struct {
	Status  int
	Title   string
	Message string
}

// TestReferencesResolve checks that every src and href of every page, and
// every #fragment, points at something that exists.
func TestReferencesResolve(t *testing.T) {
	for _, doc := range documents(t) {
		t.Run(doc.name, func(t *testing.T) {
			ids := map[string]bool{}
			walk(doc.root, func(n *html.Node) {
				if id, ok := attr(n, "id"); ok {
					ids[id] = true
				}
			})
			refs := 0
			walk(doc.root, func(n *html.Node) {
				for _, key := range []string{"src", "href"} {
					v, ok := attr(n, key)
					if !ok {
						continue
					}
					refs++
					switch {
					case strings.HasPrefix(v, "#"):
						if !ids[v[1:]] {
							t.Errorf("<%s %s=%q>: no element with that id", n.Data, key, v)
						}
					case strings.HasPrefix(v, "/static/"):
						if _, err := fs.Stat(Static, strings.TrimPrefix(v, "/static/")); err != nil {
							t.Errorf("<%s %s=%q> does not resolve in the embedded FS: %v", n.Data, key, v, err)
						}
					case pageRoutes[v]:
					default:
						t.Errorf("<%s %s=%q>: neither an embedded asset, a page route nor a fragment", n.Data, key, v)
					}
				}
			})
			if refs == 0 {
				t.Errorf("no src or href found; the parser saw nothing")
			}
		})
	}
}

// TestPagesFollowCSPAndA11y checks what the Content-Security-Policy and the
// accessibility rules require of every page: no inline script or style, a
// language, a title, one h1, a skip link to #main, a label for every input.
func TestPagesFollowCSPAndA11y(t *testing.T) {
	for _, doc := range documents(t) {
		t.Run(doc.name, func(t *testing.T) {
			var h1, titles int
			var lang, skip bool
			labels := map[string]bool{}
			var inputs []string
			walk(doc.root, func(n *html.Node) {
				if _, ok := attr(n, "style"); ok {
					t.Errorf("<%s> has an inline style attribute", n.Data)
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("<%s> has an inline handler %s", n.Data, a.Key)
					}
				}
				switch n.Data {
				case "html":
					_, lang = attr(n, "lang")
				case "title":
					titles++
				case "h1":
					h1++
				case "style":
					t.Errorf("inline <style> element")
				case "script":
					if _, ok := attr(n, "src"); !ok {
						t.Errorf("inline <script> element")
					}
				case "a":
					if v, _ := attr(n, "href"); v == "#main" {
						skip = true
					}
				case "label":
					if v, ok := attr(n, "for"); ok {
						labels[v] = true
					}
				case "input", "select", "textarea":
					id, _ := attr(n, "id")
					inputs = append(inputs, id)
				}
			})
			if !lang {
				t.Error("<html> has no lang")
			}
			if titles != 1 {
				t.Errorf("%d <title> elements, want 1", titles)
			}
			if h1 != 1 {
				t.Errorf("%d <h1> elements, want 1", h1)
			}
			if !skip {
				t.Error("no skip link to #main")
			}
			for _, id := range inputs {
				if id == "" || !labels[id] {
					t.Errorf("control id=%q has no <label for>", id)
				}
			}
		})
	}
}

var (
	importRE = regexp.MustCompile(`(?m)^import\s[^'"]*['"]([^'"]+)['"]`)
	assetRE  = regexp.MustCompile(`['"` + "`" + `](/static/[^'"` + "`" + `]+)['"` + "`" + `]`)
)

// TestModuleImportsResolve checks the ES module graph: every relative import
// and every /static/ URL named in a script exists, so a typo cannot break a
// page only at run time.
func TestModuleImportsResolve(t *testing.T) {
	scripts, err := fs.Glob(Static, "js/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("glob scripts: %v %v", scripts, err)
	}
	for _, name := range scripts {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(Static, name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range importRE.FindAllSubmatch(b, -1) {
				spec := string(m[1])
				if !strings.HasPrefix(spec, "./") {
					t.Errorf("import %q: only relative imports of our own modules are allowed (no CDN, no bare names)", spec)
					continue
				}
				target := path.Join(path.Dir(name), spec)
				if _, err := fs.Stat(Static, target); err != nil {
					t.Errorf("import %q does not resolve: %v", spec, err)
				}
			}
			for _, m := range assetRE.FindAllSubmatch(b, -1) {
				if _, err := fs.Stat(Static, strings.TrimPrefix(string(m[1]), "/static/")); err != nil {
					t.Errorf("asset %s does not resolve: %v", m[1], err)
				}
			}
			if bytes.Contains(b, []byte(".innerHTML")) {
				t.Errorf("uses innerHTML; build nodes with textContent so data is never parsed as HTML")
			}
		})
	}
}

func TestPage(t *testing.T) {
	tests := []struct {
		name    string
		page    string
		want    string
		wantErr bool
	}{
		{name: "with extension", page: "login.html", want: `<form id="login-form"`},
		{name: "without extension", page: "admin", want: "<h1>Users</h1>"},
		{name: "lead home", page: "lead", want: "<h1>Campaigns</h1>"},
		{name: "annotator home", page: "annotate.html", want: "<h1>Rate captions</h1>"},
		{name: "unknown", page: "nope", wantErr: true},
		{name: "asset is not a page", page: "css/app.css", wantErr: true},
		{name: "nested html refused", page: "js/../login.html", wantErr: true},
		{name: "traversal", page: "../templates/error.html", wantErr: true},
		{name: "template is not a page", page: "error", wantErr: true},
		{name: "empty", page: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Page(tt.page)
			if tt.wantErr {
				if !errors.Is(err, ErrNoPage) {
					t.Fatalf("Page(%q) error = %v, want ErrNoPage", tt.page, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Page(%q): %v", tt.page, err)
			}
			if !bytes.Contains(b, []byte(tt.want)) {
				t.Errorf("Page(%q) lacks %q", tt.page, tt.want)
			}
		})
	}
}

func TestErrorTemplate(t *testing.T) {
	tests := []struct {
		name string
		data any
		want []string
		not  []string
	}{
		{
			name: "forbidden",
			data: errorData{Status: 403, Title: "Forbidden", Message: "This page is for leads."},
			want: []string{"<title>403 Forbidden · capeval</title>", "Error 403", "<h1>Forbidden</h1>", "This page is for leads.", `href="/login"`, `href="/"`},
		},
		{
			name: "message is escaped",
			data: errorData{Status: 404, Title: "Not found", Message: `<script>alert(1)</script>`},
			want: []string{"&lt;script&gt;alert(1)&lt;/script&gt;"},
			not:  []string{"<script>alert(1)"},
		},
		{
			name: "map data",
			data: map[string]any{"Status": 500, "Title": "Internal error", "Message": "Try again."},
			want: []string{"Error 500", "<h1>Internal error</h1>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ErrorTemplate.Execute(&buf, tt.data); err != nil {
				t.Fatalf("execute: %v", err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output contains %q", n)
				}
			}
		})
	}
}

func TestStaticAssetsPresent(t *testing.T) {
	for _, name := range []string{"css/app.css", "js/api.js", "js/shell.js", "js/login.js", "img/logo.svg"} {
		if _, err := fs.Stat(Static, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := fs.Stat(Static, "templates/error.html"); err == nil {
		t.Error("templates/ leaks into Static; the error template must not be served as a static file")
	}
}
