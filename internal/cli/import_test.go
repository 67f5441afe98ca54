package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capeval/annotation/demo"
)

// TestImportCommand runs its cases in order on one data directory: later
// cases see what earlier ones imported. The inputs are the demo's files.
func TestImportCommand(t *testing.T) {
	dataDir := setEnv(t)
	in := t.TempDir()
	if err := demo.Generate(demo.DefaultSeed).WriteFiles(in); err != nil {
		t.Fatal(err)
	}
	file := func(name, content string) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	imgs, refs := filepath.Join(in, "images"), filepath.Join(in, "references.json")
	acc, gen := "accurate@1="+filepath.Join(in, "results-accurate.json"), "generic="+filepath.Join(in, "results-generic.json")
	bad := file("bad.jsonl", "{\"image_id\": 1, \"caption\": \"fine\"}\n{\"image_id\": 4242, \"caption\": \"x\"}\n{\"image_id\": 2, \"caption\": \"\"}\n")

	tests := []cliCase{
		{"help", "", []string{"import", "-h"}, 0, []string{"--results NAME[@VERSION]=FILE", "a new VERSION is a new captioner"}},
		{"in the command list", "", []string{"help"}, 0, []string{"import   import images, references and captioner outputs"}},
		{"campaign required", "", []string{"import", "--images", imgs}, 2, []string{"--campaign is required"}},
		{"malformed --results", "", []string{"import", "--campaign", "c", "--results", "nofile"}, 2, []string{"want NAME[@VERSION]=FILE"}},
		{"bad mode", "", []string{"import", "--campaign", "c", "--mode", "ranking"}, 2, []string{`--mode "ranking": want likert or pairwise`}},
		{"bad files list every problem", "", []string{"import", "--campaign", "Shapes", "--images", imgs, "--references", refs, "--results", "x=" + bad}, 1,
			[]string{"capeval import: invalid import: 2 problems", "bad.jsonl: line 2: image_id: no image 4242 in the campaign nor in this import",
				"bad.jsonl: line 3: caption: empty caption for image 2"}},
		{"missing file", "", []string{"import", "--campaign", "Shapes", "--references", filepath.Join(in, "nope.json")}, 1,
			[]string{"nope.json: cannot read the file: no such file or directory"}},
		{"import creates the campaign", "", []string{"import", "--campaign", "Shapes", "--images", imgs, "--references", refs, "--results", acc, "--results", gen}, 0,
			[]string{`campaign "Shapes" (id 1, likert, created)`, "images          48 added       0 unchanged", "references     240 added       0 unchanged",
				"captions        48 added       0 unchanged  accurate@1 (new captioner) from ", "generic (new captioner)"}},
		{"the same files again", "", []string{"import", "--campaign", "Shapes", "--images", imgs, "--references", refs, "--results", acc}, 0,
			[]string{`(id 1, likert, existing)`, "images           0 added      48 unchanged", "nothing changed: everything was imported before"}},
		{"a new version", "", []string{"import", "--campaign", "1", "--results", "accurate@2=" + filepath.Join(in, "results-accurate.json"), "--format", "json"}, 0,
			[]string{`"campaign": "Shapes"`, `"created": false`, `"version": "2"`, `"new": true`, `"added": 48`}},
		{"changed captions", "", []string{"import", "--campaign", "Shapes", "--results", "generic=" + filepath.Join(in, "results-random.json")}, 1,
			[]string{"captioner generic has another caption for image 1 already", "… and 28 more"}},
		{"mode of an existing campaign", "", []string{"import", "--campaign", "Shapes", "--mode", "pairwise", "--results", acc}, 1,
			[]string{`campaign "Shapes" exists in mode likert, not pairwise`}},
		{"a pairwise campaign", "", []string{"import", "--campaign", "Pairs", "--mode", "pairwise", "--images", imgs}, 0,
			[]string{`campaign "Pairs" (id 2, pairwise, created)`}},
	}
	runCases(t, tests)
	// The refused first import created no campaign; the images are stored
	// once for both campaigns.
	_, out, _ := cli(t, "", "campaign", "list")
	if strings.Count(out, "\n") != 3 {
		t.Errorf("campaign list:\n%s", out)
	}
	n := 0
	filepath.WalkDir(filepath.Join(dataDir, "images"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n != demo.NumImages {
		t.Errorf("%d stored image files, want %d", n, demo.NumImages)
	}
}

// TestImportFailureCreatesNoCampaign: an import that fails after its files
// were checked (here the image store cannot be written) leaves no campaign
// behind: the campaign is created in the import's transaction.
func TestImportFailureCreatesNoCampaign(t *testing.T) {
	dataDir := setEnv(t)
	in := t.TempDir()
	if err := demo.Generate(demo.DefaultSeed).WriteFiles(in); err != nil {
		t.Fatal(err)
	}
	// A file where the image store's folder belongs.
	if err := os.WriteFile(filepath.Join(dataDir, "images"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "", "import", "--campaign", "Shapes", "--images", filepath.Join(in, "images"))
	if code != 1 {
		t.Fatalf("import: exit %d (want 1)\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if _, out, _ := cli(t, "", "campaign", "list"); !strings.Contains(out, "no campaigns yet") {
		t.Errorf("a failed import left a campaign:\n%s", out)
	}
}
