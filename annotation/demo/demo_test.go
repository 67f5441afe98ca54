package demo

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// shapeWords are the words a caption may use for each shape (singular).
var shapeWords = map[string][]string{
	"circle":   {"circle", "dot", "disc"},
	"square":   {"square"},
	"triangle": {"triangle"},
	"star":     {"star"},
}

func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// shapeColours returns the shape colour names a caption mentions.
func shapeColours(text string) []string {
	var out []string
	for _, w := range words(text) {
		if slices.Contains(Colours, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

func sceneColours(s Scene) []string {
	var out []string
	for _, g := range s.Groups {
		if !slices.Contains(out, g.Colour) {
			out = append(out, g.Colour)
		}
	}
	slices.Sort(out)
	return out
}

func mentionsShape(text, shape string) bool {
	for _, w := range words(text) {
		for _, s := range shapeWords[shape] {
			if w == s || w == s+"s" {
				return true
			}
		}
	}
	return false
}

// generated memoizes Generate for the tests that only read a dataset:
// generation is the slow part of this package's tests, most of all under -race.
var generated sync.Map // int64 → *Dataset

func cached(seed int64) *Dataset {
	if d, ok := generated.Load(seed); ok {
		return d.(*Dataset)
	}
	d, _ := generated.LoadOrStore(seed, Generate(seed))
	return d.(*Dataset)
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(7), Generate(7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Generate(7) twice gave different datasets")
	}
	c := Generate(8)
	if reflect.DeepEqual(a.Images[0].References, c.Images[0].References) && bytes.Equal(a.Images[0].PNG, c.Images[0].PNG) {
		t.Error("Generate(7) and Generate(8) start with the same image and references")
	}
}

func TestGenerateShape(t *testing.T) {
	for _, seed := range []int64{1, 2, DefaultSeed} {
		d := cached(seed)
		if len(d.Images) < 40 {
			t.Fatalf("seed %d: %d images, want at least 40", seed, len(d.Images))
		}
		files := map[string]bool{}
		for i, img := range d.Images {
			if img.ID != i+1 {
				t.Errorf("seed %d: image %d has id %d", seed, i, img.ID)
			}
			if files[img.FileName] || !strings.HasSuffix(img.FileName, ".png") {
				t.Errorf("seed %d: file name %q repeated or not .png", seed, img.FileName)
			}
			files[img.FileName] = true
			if n := img.Scene.Total(); n < 1 || n > 4 || len(img.Scene.Groups) < 1 || len(img.Scene.Groups) > 2 {
				t.Errorf("seed %d image %d: %d shapes in %d groups", seed, img.ID, n, len(img.Scene.Groups))
			}
			refs := slices.Clone(img.References)
			slices.Sort(refs)
			if len(slices.Compact(refs)) != RefsPerImage {
				t.Errorf("seed %d image %d: references not %d distinct: %q", seed, img.ID, RefsPerImage, img.References)
			}
			for _, r := range img.References {
				for _, g := range img.Scene.Groups {
					if !mentionsShape(r, g.Shape) {
						t.Errorf("seed %d image %d: reference %q does not name the %s", seed, img.ID, r, g.Shape)
					}
				}
			}
			wantTag := "count:" + string(rune('0'+img.Scene.Total()))
			if !slices.Contains(img.Tags, wantTag) || !slices.Contains(img.Tags, "shape:"+img.Scene.Groups[0].Shape) {
				t.Errorf("seed %d image %d: tags %v lack %s or the shape", seed, img.ID, img.Tags, wantTag)
			}
		}
		names := []string{}
		for _, c := range d.Captioners {
			names = append(names, c.Name)
			if len(c.Captions) != len(d.Images) {
				t.Errorf("seed %d: %s has %d captions for %d images", seed, c.Name, len(c.Captions), len(d.Images))
				continue
			}
			for i, cap := range c.Captions {
				if cap.ImageID != d.Images[i].ID || strings.TrimSpace(cap.Text) == "" {
					t.Errorf("seed %d: %s caption %d = %+v", seed, c.Name, i, cap)
				}
			}
		}
		if want := []string{Accurate, PartlyWrong, Generic, Random}; !slices.Equal(names, want) {
			t.Errorf("seed %d: captioners %v, want %v", seed, names, want)
		}
	}
}

// TestTagsSpread checks that the tags stratify: every shape and several
// counts occur, so stratified sampling has strata to draw from.
func TestTagsSpread(t *testing.T) {
	d := cached(DefaultSeed)
	seen := map[string]int{}
	for _, img := range d.Images {
		for _, tag := range img.Tags {
			seen[tag]++
		}
	}
	for _, tag := range []string{"shape:circle", "shape:square", "shape:triangle", "shape:star", "count:1", "count:2", "count:3", "count:4", "groups:1", "groups:2"} {
		if seen[tag] == 0 {
			t.Errorf("no image tagged %s", tag)
		}
	}
}

func TestAccurateCaptionsMatchTheScene(t *testing.T) {
	for _, seed := range []int64{1, DefaultSeed} {
		d := cached(seed)
		for i, c := range d.Captioner(Accurate).Captions {
			s := d.Images[i].Scene
			if got, want := shapeColours(c.Text), sceneColours(s); !slices.Equal(got, want) {
				t.Errorf("seed %d image %d: %q names colours %v, scene has %v", seed, i+1, c.Text, got, want)
			}
			for _, g := range s.Groups {
				if !mentionsShape(c.Text, g.Shape) {
					t.Errorf("seed %d image %d: %q does not name the %s", seed, i+1, c.Text, g.Shape)
				}
			}
			if c.Flaw != "" {
				t.Errorf("accurate caption flagged %q", c.Flaw)
			}
		}
	}
}

func TestPartlyWrongCaptions(t *testing.T) {
	d := cached(DefaultSeed)
	flaws := map[string]int{}
	for i, c := range d.Captioner(PartlyWrong).Captions {
		s := d.Images[i].Scene
		flaws[c.Flaw]++
		got, want := shapeColours(c.Text), sceneColours(s)
		switch c.Flaw {
		case "":
			if !slices.Equal(got, want) {
				t.Errorf("image %d: faithful caption %q names colours %v, scene has %v", i+1, c.Text, got, want)
			}
		case FlawColour:
			foreign := slices.ContainsFunc(got, func(c string) bool { return !slices.Contains(want, c) })
			if !foreign {
				t.Errorf("image %d: colour-flawed caption %q names only true colours %v", i+1, c.Text, want)
			}
		case FlawCount, FlawPosition:
			if slices.Contains(d.Images[i].References, c.Text) {
				t.Errorf("image %d: flawed caption %q is one of the references", i+1, c.Text)
			}
		default:
			t.Errorf("image %d: unknown flaw %q", i+1, c.Flaw)
		}
	}
	if got := len(d.Images) - flaws[""]; got != len(d.Images)/2 {
		t.Errorf("%d flawed captions, want %d (half)", got, len(d.Images)/2)
	}
	for _, f := range []string{FlawColour, FlawCount, FlawPosition} {
		if flaws[f] == 0 {
			t.Errorf("no caption with a %s flaw", f)
		}
	}
}

func TestGenericAndRandomCaptions(t *testing.T) {
	d := cached(DefaultSeed)
	generic := map[string]bool{}
	for _, c := range d.Captioner(Generic).Captions {
		generic[c.Text] = true
		if cs := shapeColours(c.Text); len(cs) > 0 {
			t.Errorf("generic caption %q names colours %v", c.Text, cs)
		}
	}
	if len(generic) > len(genericCaptions) {
		t.Errorf("%d distinct generic captions, want at most %d", len(generic), len(genericCaptions))
	}
	for i, c := range d.Captioner(Random).Captions {
		if slices.Contains(d.Images[i].References, c.Text) {
			t.Errorf("image %d: random caption %q is its own reference", i+1, c.Text)
		}
		other := slices.ContainsFunc(d.Images, func(img Image) bool {
			return img.ID != d.Images[i].ID && slices.Contains(img.References, c.Text)
		})
		if !other {
			t.Errorf("image %d: random caption %q is no other image's reference", i+1, c.Text)
		}
	}
}

// TestImagesDecode decodes every PNG and checks its pixels against the
// scene: the corners show the background, each shape's centre its colour.
func TestImagesDecode(t *testing.T) {
	d := cached(DefaultSeed)
	for _, img := range d.Images {
		m, err := png.Decode(bytes.NewReader(img.PNG))
		if err != nil {
			t.Fatalf("image %d: %v", img.ID, err)
		}
		if b := m.Bounds(); b.Dx() != img.Width || b.Dy() != img.Height || img.Width != Width || img.Height != Height {
			t.Fatalf("image %d: bounds %v, recorded %dx%d", img.ID, b, img.Width, img.Height)
		}
		bg, _ := RGBA(img.Scene.Background)
		for _, p := range [][2]int{{0, 0}, {Width - 1, 0}, {0, Height - 1}, {Width - 1, Height - 1}} {
			if got := rgbaAt(m, p[0], p[1]); got != bg {
				t.Errorf("image %d: corner %v is %v, want background %v", img.ID, p, got, bg)
			}
		}
		for _, g := range img.Scene.Groups {
			want, _ := RGBA(g.Colour)
			if len(g.Centres) != g.Count {
				t.Errorf("image %d: %d centres for %d shapes", img.ID, len(g.Centres), g.Count)
			}
			for _, c := range g.Centres {
				if got := rgbaAt(m, c.X, c.Y); got != want {
					t.Errorf("image %d: %s %s at %v is %v, want %v", img.ID, g.Colour, g.Shape, c, got, want)
				}
				if !rectAround(c, g.Radius).In(region(g.Position)) {
					t.Errorf("image %d: %s shape at %v is outside the %s region", img.ID, g.Shape, c, g.Position)
				}
			}
		}
	}
}

func TestWriteFiles(t *testing.T) {
	d := cached(1)
	dir := filepath.Join(t.TempDir(), "demo")
	if err := d.WriteFiles(dir); err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}
	var refs cocoCaptions
	readJSON(t, filepath.Join(dir, "references.json"), &refs)
	if len(refs.Images) != len(d.Images) || len(refs.Annotations) != len(d.Images)*RefsPerImage {
		t.Fatalf("references.json: %d images, %d annotations", len(refs.Images), len(refs.Annotations))
	}
	ids := map[int]bool{}
	for _, im := range refs.Images {
		ids[im.ID] = true
		b, err := os.ReadFile(filepath.Join(dir, "images", im.FileName))
		if err != nil {
			t.Fatalf("image file: %v", err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != im.Width || cfg.Height != im.Height {
			t.Errorf("%s: %v, %dx%d, recorded %dx%d", im.FileName, err, cfg.Width, cfg.Height, im.Width, im.Height)
		}
	}
	annIDs := map[int]bool{}
	for _, a := range refs.Annotations {
		if !ids[a.ImageID] || annIDs[a.ID] || a.Caption == "" {
			t.Errorf("annotation %+v: unknown image, repeated id or empty", a)
		}
		annIDs[a.ID] = true
	}
	for _, c := range d.Captioners {
		var rows []cocoResult
		readJSON(t, filepath.Join(dir, "results-"+c.Name+".json"), &rows)
		if len(rows) != len(d.Images) {
			t.Errorf("results-%s.json: %d rows, want %d", c.Name, len(rows), len(d.Images))
		}
		for i, r := range rows {
			if !ids[r.ImageID] || r.Caption != c.Captions[i].Text {
				t.Errorf("results-%s.json row %d = %+v", c.Name, i, r)
			}
		}
	}
	if _, err := d.ResultsJSON("nobody"); err == nil {
		t.Error("ResultsJSON of an unknown captioner succeeded")
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate(DefaultSeed)
	}
}

func rgbaAt(m interface {
	At(x, y int) color.Color
}, x, y int) color.RGBA {
	return color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
}

func rectAround(c image.Point, r int) image.Rectangle {
	return image.Rect(c.X-r, c.Y-r, c.X+r+1, c.Y+r+1)
}

// TestCaptionerQualityOrder checks that the captioners differ clearly in how
// close they come to the references, by the n-gram overlap the accurate
// captioner's selection uses: accurate > partly-wrong > random > generic.
// (`capeval score` on the written files gives the same order for BLEU-4,
// ROUGE-L and CIDEr-D.)
func TestCaptionerQualityOrder(t *testing.T) {
	for _, seed := range []int64{1, 2, DefaultSeed} {
		d := cached(seed)
		mean := map[string]float64{}
		for _, c := range d.Captioners {
			for i, cap := range c.Captions {
				for _, r := range d.Images[i].References {
					mean[c.Name] += overlap(cap.Text, r)
				}
			}
			mean[c.Name] /= float64(len(c.Captions) * RefsPerImage)
		}
		order := []string{Accurate, PartlyWrong, Random, Generic}
		for i := 1; i < len(order); i++ {
			if hi, lo := mean[order[i-1]], mean[order[i]]; hi <= lo+0.02 {
				t.Errorf("seed %d: %s overlap %.3f not clearly above %s %.3f", seed, order[i-1], hi, order[i], lo)
			}
		}
		t.Logf("seed %d: mean overlap %v", seed, mean)
	}
}

func TestConsensus(t *testing.T) {
	tests := []struct {
		name  string
		cands []string
		refs  []string
		want  string
	}{
		{"closest wins", []string{"a blue star", "two red circles on white"}, []string{"two red circles", "two red circles on a white background"}, "two red circles on white"},
		{"tie keeps the first", []string{"a cat", "a dog"}, []string{"a bird"}, "a cat"},
		{"case and punctuation ignored", []string{"Red square.", "blue square"}, []string{"a red square"}, "Red square."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consensus(tt.cands, tt.refs); got != tt.want {
				t.Errorf("consensus = %q, want %q", got, tt.want)
			}
		})
	}
}
