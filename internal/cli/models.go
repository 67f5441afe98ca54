package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"capeval/autoeval/hub"
)

const modelsSynopsis = "models pull|list [flags]"

// modelsCommand downloads CLIP model folders from a Hugging Face hub and
// lists the ones under the data directory.
func modelsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, "Usage: capeval %s\n\n"+
			"  pull  download a CLIP model folder (Hugging Face ONNX layout) from the hub, with resume\n"+
			"        and size/hash checks: [REPO] [--dir DIR] [--revision REV] [--variant fp32|fp16|quantized]\n"+
			"        [--endpoint URL]; REPO defaults to %s\n"+
			"  list  show the model folders under $CAPEVAL_DATA_DIR/models and whether each is complete\n\n"+
			"`capeval models SUBCOMMAND -h` explains its flags.\n", modelsSynopsis, hub.DefaultRepo)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "pull":
		return modelsPull(ctx, rest, stdout, stderr)
	case "list":
		return modelsList(rest, stdout, stderr)
	default:
		return fmt.Errorf("unknown subcommand %q: want pull or list", sub)
	}
}

// modelsDataDir is where model folders live by default: models/ in the
// data directory, as server.Config reads it.
func modelsDataDir() string {
	dir := os.Getenv("CAPEVAL_DATA_DIR")
	if dir == "" {
		dir = "./data"
	}
	return filepath.Join(dir, "models")
}

func modelsPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("models pull", "models pull [REPO] [flags]",
		"Download a CLIP model folder in the Hugging Face ONNX export layout (onnx/text_model.onnx,\n"+
			"onnx/vision_model.onnx, preprocessor_config.json, tokenizer files) from the hub. REPO is\n"+
			"owner/name; it defaults to "+hub.DefaultRepo+" (CLIP ViT-B/32).\n\n"+
			"Each file is checked against the size and hash the hub lists. An interrupted pull keeps what\n"+
			"it has in FILE.part and the next run resumes it; files already present and intact are kept.\n"+
			"The chosen variant is recorded in capeval-model.json in the folder. Afterwards point capeval\n"+
			"at the folder with --clip-model DIR or CAPEVAL_CLIP_MODEL=DIR.\n\n"+
			"Environment: HF_TOKEN, when set, is sent as a bearer token (private or gated repositories\n"+
			"need one); HF_ENDPOINT replaces the default endpoint (a mirror, or a local test server).",
		stderr)
	dir := fs.String("dir", "", "destination `folder` (default $CAPEVAL_DATA_DIR/models/OWNER--NAME, the data dir defaulting to ./data)")
	revision := fs.String("revision", hub.DefaultRevision, "branch, tag or commit (`REV`) to download")
	variant := fs.String("variant", string(hub.VariantFP32),
		"which encoder files to fetch, `fp32|fp16|quantized`: onnx/text_model.onnx and onnx/vision_model.onnx,\n"+
			"their _fp16 or their _quantized (8-bit) versions")
	endpoint := fs.String("endpoint", "", "hub base `URL` (default $HF_ENDPOINT, else "+hub.DefaultEndpoint+")")

	// The flag package stops at the first positional argument; parse again
	// after it so that `pull REPO --dir X` works as well as `pull --dir X REPO`.
	repo := ""
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		if repo != "" {
			return fmt.Errorf("pull takes one repository, got %q and %q", repo, fs.Arg(0))
		}
		repo, args = fs.Arg(0), fs.Args()[1:]
	}
	if repo == "" {
		repo = hub.DefaultRepo
	}
	if err := hub.ValidateRepo(repo); err != nil {
		return err
	}
	v, err := hub.ParseVariant(*variant)
	if err != nil {
		return err
	}
	if *endpoint == "" {
		*endpoint = os.Getenv("HF_ENDPOINT")
	}
	if *dir == "" {
		*dir = filepath.Join(modelsDataDir(), hub.FolderName(repo))
	}
	client, err := hub.NewClient(hub.Options{
		Endpoint:    *endpoint,
		Token:       strings.TrimSpace(os.Getenv("HF_TOKEN")),
		UserAgent:   "capeval/" + versionString(),
		Progress:    stderr,
		Interactive: isTerminal(stderr),
	})
	if err != nil {
		return err
	}
	m, err := client.Pull(ctx, hub.PullOptions{Repo: repo, Revision: *revision, Variant: v, Dir: *dir})
	if err != nil {
		return fmt.Errorf("pull %s: %w", repo, err)
	}
	fmt.Fprintf(stdout, "CLIP model %s (%s, commit %.10s) is in %s\n", m.Repo, m.Variant, m.Commit, *dir)
	fmt.Fprintf(stdout, "use it with --clip-model %s or CAPEVAL_CLIP_MODEL=%s\n", *dir, *dir)
	return nil
}

func modelsList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("models list", "models list [flags]",
		"List the model folders under $CAPEVAL_DATA_DIR/models (the data dir defaulting to ./data) with their\n"+
			"repository, variant, size and state. A folder pulled by capeval is checked against its manifest\n"+
			"(capeval-model.json): every file present with its size; a folder copied by hand is checked for\n"+
			"the files of the Hugging Face ONNX layout. The ONNX graphs themselves are not loaded.",
		stderr)
	dir := fs.String("dir", "", "`folder` holding model folders (default $CAPEVAL_DATA_DIR/models)")
	verify := fs.Bool("verify", false, "also check every file's sha256 against the manifest (reads every byte)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("list takes no arguments, got %q", fs.Args())
	}
	root := *dir
	if root == "" {
		root = modelsDataDir()
	}
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("list %s: %w", root, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		fmt.Fprintf(stdout, "no model folders in %s; download one with `capeval models pull`\n", root)
		return nil
	}
	sort.Strings(names)
	configured := modelsAbs(os.Getenv("CAPEVAL_CLIP_MODEL"))

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
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

// modelsIsTerminal reports whether w is a terminal, where progress is
// redrawn in place; redirected to a file or CI log it gets one line per file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
