package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"capeval/autoeval/hub"
	"capeval/server"
)

var modelsCommand = &command{
	name:    "models",
	summary: "download and list CLIP model folders",
	usage:   "[flags]",
	help:    "Download CLIP model folders from a Hugging Face hub and list those under $CAPEVAL_DATA_DIR/models.",
	subs: []*command{
		{
			name:    "pull",
			summary: "download a CLIP model folder from the Hugging Face hub, with resume and size/hash checks",
			usage:   "[REPO] [--dir DIR] [--revision REV] [--variant fp32|fp16|quantized] [flags]",
			help: "Download a CLIP model folder in the Hugging Face ONNX export layout (onnx/text_model.onnx,\n" +
				"onnx/vision_model.onnx, preprocessor_config.json, tokenizer files) from the hub. REPO is\n" +
				"owner/name; it defaults to " + hub.DefaultRepo + " (CLIP ViT-B/32).\n\n" +
				"Each file is checked against the size and hash the hub lists. An interrupted pull keeps what\n" +
				"it has in FILE.part and the next run resumes it; files already present and intact are kept.\n" +
				"The chosen variant is recorded in capeval-model.json in the folder. Afterwards point capeval\n" +
				"at the folder with --clip-model DIR or CAPEVAL_CLIP_MODEL=DIR.\n\n" +
				"Environment: HF_TOKEN, when set, is sent as a bearer token (private or gated repositories\n" +
				"need one); HF_ENDPOINT replaces the default endpoint (a mirror, or a local test server).",
			flags: modelsPull,
		},
		{
			name:    "list",
			summary: "list the model folders under the data directory and whether each is complete",
			usage:   "[--dir DIR] [--verify]",
			help: "List the model folders under $CAPEVAL_DATA_DIR/models (the data dir defaulting to ./data) with their\n" +
				"repository, variant, size and state. A folder pulled by capeval is checked against its manifest\n" +
				"(capeval-model.json): every file present with its size; a folder copied by hand is checked for\n" +
				"the files of the Hugging Face ONNX layout. The ONNX graphs themselves are not loaded.",
			flags: modelsList,
		},
	},
}

// modelsConfig reads the configuration without validating it against the
// machine: `models pull` fetches the folder CAPEVAL_CLIP_MODEL may be
// about to name.
func modelsConfig(e *env) (server.Config, error) {
	cfg, err := server.ParseConfig(e.getenv)
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

// modelsDir is where model folders live by default: models/ in the data
// directory.
func modelsDir(cfg server.Config) string { return filepath.Join(cfg.DataDir, "models") }

func modelsPull(fs *flag.FlagSet, e *env) action {
	dir := fs.String("dir", "", "destination `folder` (default $CAPEVAL_DATA_DIR/models/OWNER--NAME, the data dir defaulting to ./data)")
	revision := fs.String("revision", hub.DefaultRevision, "branch, tag or commit (`REV`) to download")
	variant := fs.String("variant", string(hub.VariantFP32),
		"which encoder files to fetch, `fp32|fp16|quantized`: onnx/text_model.onnx and onnx/vision_model.onnx,\n"+
			"their _fp16 or their _quantized (8-bit) versions")
	endpoint := fs.String("endpoint", "", "hub base `URL` (default $HF_ENDPOINT, else "+hub.DefaultEndpoint+")")
	return func(ctx context.Context, args []string) error {
		repo := hub.DefaultRepo
		switch len(args) {
		case 0:
		case 1:
			repo = args[0]
		default:
			return usagef("pull takes one repository, got %q", args)
		}
		if err := hub.ValidateRepo(repo); err != nil {
			return err
		}
		v, err := hub.ParseVariant(*variant)
		if err != nil {
			return err
		}
		cfg, err := modelsConfig(e)
		if err != nil {
			return err
		}
		if *endpoint == "" {
			*endpoint = cfg.HFEndpoint
		}
		if *dir == "" {
			*dir = filepath.Join(modelsDir(cfg), hub.FolderName(repo))
		}
		client, err := hub.NewClient(hub.Options{
			Endpoint:    *endpoint,
			Token:       cfg.HFToken,
			UserAgent:   "capeval/" + versionString(),
			Progress:    e.stderr,
			Interactive: isTerminal(e.stderr),
		})
		if err != nil {
			return err
		}
		m, err := client.Pull(ctx, hub.PullOptions{Repo: repo, Revision: *revision, Variant: v, Dir: *dir})
		if err != nil {
			return fmt.Errorf("pull %s: %w", repo, err)
		}
		fmt.Fprintf(e.stdout, "CLIP model %s (%s, commit %.10s) is in %s\n", m.Repo, m.Variant, m.Commit, *dir)
		fmt.Fprintf(e.stdout, "use it with --clip-model %s or CAPEVAL_CLIP_MODEL=%s\n", *dir, *dir)
		return nil
	}
}

func modelsList(fs *flag.FlagSet, e *env) action {
	dir := fs.String("dir", "", "`folder` holding model folders (default $CAPEVAL_DATA_DIR/models)")
	verify := fs.Bool("verify", false, "also check every file's sha256 against the manifest (reads every byte)")
	return func(_ context.Context, args []string) error {
		if err := wantArgs(args, 0, "models list", ""); err != nil {
			return err
		}
		cfg, err := modelsConfig(e)
		if err != nil {
			return err
		}
		root := *dir
		if root == "" {
			root = modelsDir(cfg)
		}
		entries, err := os.ReadDir(root)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("list %s: %w", root, err)
		}
		var names []string
		for _, d := range entries {
			if d.IsDir() {
				names = append(names, d.Name())
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(e.stdout, "no model folders in %s; download one with `capeval models pull`\n", root)
			return nil
		}
		sort.Strings(names)
		configured := modelsAbs(cfg.CLIPModel)

		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FOLDER\tREPO\tVARIANT\tSIZE\tSTATE")
		for _, name := range names {
			path := filepath.Join(root, name)
			st := hub.Inspect(path, *verify)
			repo, variant, size := "-", "-", "-"
			if st.Manifest != nil {
				repo = st.Manifest.Repo + "@" + modelsShortRev(st.Manifest)
			}
			if st.Variant != "" {
				variant = string(st.Variant)
			}
			if st.Size > 0 {
				size = hub.FormatBytes(st.Size)
			}
			state := "ok"
			switch {
			case st.Problem != nil:
				state = "invalid: " + strings.TrimPrefix(st.Problem.Error(), "hub: ")
			case st.Manifest == nil:
				state = "ok (no manifest: not pulled by capeval)"
			case *verify:
				state = "ok (verified)"
			}
			if configured != "" && modelsAbs(path) == configured {
				state += " [CAPEVAL_CLIP_MODEL]"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, repo, variant, size, state)
		}
		return tw.Flush()
	}
}

// modelsShortRev shows the revision asked for and, when it was a branch or tag,
// the commit it resolved to.
func modelsShortRev(m *hub.Manifest) string {
	c := m.Commit
	if len(c) > 10 {
		c = c[:10]
	}
	if m.Revision == m.Commit || c == "" {
		return m.Revision
	}
	return m.Revision + " (" + c + ")"
}

func modelsAbs(p string) string {
	if p == "" {
		return ""
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return filepath.Clean(a)
}

// isTerminal reports whether w is a terminal, where progress is
// redrawn in place; redirected to a file or CI log it gets one line per file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
