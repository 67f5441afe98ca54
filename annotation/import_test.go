package annotation_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// impFixture is a campaign, an importer writing into a fresh data
// directory, and a folder for input files.
type impFixture struct {
	t        *testing.T
	store    *models.Store
	im       *annotation.Importer
	dataDir  string
	in       string
	campaign int64
}

func newImpFixture(t *testing.T, s *models.Store) *impFixture {
	t.Helper()
	c := &models.Campaign{Name: t.Name(), Mode: models.ModeLikert}
	if err := s.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	return &impFixture{t: t, store: s, im: annotation.NewImporter(s, annotation.NewImageStore(dataDir), modelstest.Logger(t)),
		dataDir: dataDir, in: t.TempDir(), campaign: c.ID}
}

// file writes an input file and returns its path.
func (f *impFixture) file(name, content string) string {
	f.t.Helper()
	p := filepath.Join(f.in, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// images writes PNG images named <id>.png into the folder dir and returns
// its path; image i gets its own colour.
func (f *impFixture) images(dir string, ids ...string) string {
	f.t.Helper()
	for i, id := range ids {
		f.file(filepath.Join(dir, id+".png"), string(pngBytes(f.t, i, 4, 3)))
	}
	return filepath.Join(f.in, dir)
}

func (f *impFixture) importReq(req annotation.ImportRequest) (*annotation.ImportReport, error) {
	return f.im.Import(context.Background(), f.campaign, req)
}

func (f *impFixture) mustImport(req annotation.ImportRequest) *annotation.ImportReport {
	f.t.Helper()
	r, err := f.importReq(req)
	if err != nil {
		f.t.Fatalf("import: %v", err)
	}
	return r
}

// state describes the campaign's rows and the image store's files, to
// check that a refused import changed nothing.
func (f *impFixture) state(captioners ...string) string {
	f.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	keys, err := f.store.Images(ctx, f.campaign, false)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "image %d %s %s\n", k.ID, k.ExternalID, k.SHA256)
	}
	err = f.store.EachReference(ctx, f.campaign, func(r models.Reference) error {
		fmt.Fprintf(&b, "ref %d %d %q\n", r.ImageID, r.Position, r.Text)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	sum, err := f.store.CampaignSummaryByID(ctx, f.campaign)
	if err != nil {
		f.t.Fatal(err)
	}
	fmt.Fprintf(&b, "counts %+v\n", sum.CampaignCounts)
	for _, nv := range captioners {
		name, version, _ := strings.Cut(nv, "@")
		c, err := f.store.CaptionerByName(ctx, f.campaign, name, version)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			f.t.Fatal(err)
		}
		err = f.store.EachCaption(ctx, []int64{c.ID}, func(cp models.Caption) error {
			fmt.Fprintf(&b, "caption %s %d %q\n", nv, cp.ImageID, cp.Text)
			return nil
		})
		if err != nil {
			f.t.Fatal(err)
		}
	}
	for _, p := range storedFiles(f.t, f.dataDir) {
		fmt.Fprintf(&b, "file %s\n", p)
	}
	return b.String()
}

func storedFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dataDir, "images")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func pngBytes(t testing.TB, i, w, h int) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{uint8(i), uint8(i >> 8), uint8(i >> 16), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 5, 7)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gifBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, image.NewPaletted(image.Rect(0, 0, 6, 2), []color.Color{color.Black, color.White}), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// webpBytes is a lossless WebP header (RIFF, VP8L chunk, signature, 14-bit
// width-1 and height-1): all that DecodeConfig reads. Go has no WebP
// encoder, and the importer never decodes pixels.
func webpBytes(w, h int) []byte {
	var bits uint32 = uint32(w-1) | uint32(h-1)<<14
	payload := []byte{0x2f, byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24), 0, 0, 0}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(payload)))
	b.WriteString("WEBPVP8L")
	binary.Write(&b, binary.LittleEndian, uint32(len(payload)))
	b.Write(payload)
	return b.Bytes()
}

// hugePNG is a PNG whose header claims w×h pixels, with one tiny IDAT: a
// decompression bomb in miniature, refused from its header alone.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

type zipEntry struct {
	name    string
	content []byte
	mode    fs.FileMode
}

func (f *impFixture) zip(name string, entries ...zipEntry) string {
	f.t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			hdr.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := w.Write(e.content); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		f.t.Fatal(err)
	}
	return f.file(name, buf.String())
}

const (
	cocoRefs = `{"info": {}, "images": [{"id": 1, "file_name": "one.png"}, {"id": 2, "file_name": "two.png"}],
 "annotations": [{"image_id": 1, "id": 1, "caption": "a red square"}, {"image_id": 2, "id": 2, "caption": "a blue circle"},
  {"image_id": 1, "id": 3, "caption": "a square in red"}]}`
	jsonlRefs = "{\"image_id\": 1, \"caption\": \"a red square\"}\n{\"image_id\": \"2\", \"caption\": \"a blue circle\"}\n{\"image_id\": 1, \"caption\": \"a square in red\"}\n"
	csvRefs   = "image_id,caption\n1,a red square\n2,\"a blue circle\"\n1,a square in red\n"

	cocoResults  = `[{"image_id": 1, "caption": "a square"}, {"image_id": 2, "caption": "a circle"}]`
	jsonlResults = "{\"image_id\": 1, \"caption\": \"a square\"}\n{\"image_id\": 2, \"caption\": \"a circle\"}\n"
	csvResults   = "caption,image_id\na square,1\na circle,2\n"
)

// TestImportFormats imports the same data from every accepted format and
// source kind and checks the rows.
func TestImportFormats(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		tests := []struct {
			name      string
			images    func(f *impFixture) string
			refsName  string
			refs      string
			resName   string
			results   string
			wantWidth int
		}{
			{"COCO annotations, COCO results, folder", func(f *impFixture) string {
				f.file("imgs/one.png", string(pngBytes(t, 1, 4, 3)))
				f.file("imgs/sub/two.png", string(pngBytes(t, 2, 4, 3)))
				return filepath.Join(f.in, "imgs")
			}, "refs.json", cocoRefs, "res.json", cocoResults, 4},
			{"JSON Lines, zip with JPEG and GIF", func(f *impFixture) string {
				return f.zip("imgs.zip", zipEntry{name: "photos/1.jpg", content: jpegBytes(t)},
					zipEntry{name: "photos/2.gif", content: gifBytes(t)}, zipEntry{name: "photos/"},
					zipEntry{name: "README.txt", content: []byte("not an image")}, zipEntry{name: "__MACOSX/._1.jpg", content: []byte("x")})
			}, "refs.jsonl", jsonlRefs, "res.jsonl", jsonlResults, 5},
			{"CSV, WebP", func(f *impFixture) string {
				f.file("imgs/1.webp", string(webpBytes(9, 4)))
				f.file("imgs/2.webp", string(webpBytes(9, 5)))
				return filepath.Join(f.in, "imgs")
			}, "refs.csv", csvRefs, "res.csv", csvResults, 9},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newImpFixture(t, s)
				rep := f.mustImport(annotation.ImportRequest{
					Images:     annotation.SourceFile{Path: tt.images(f)},
					References: annotation.SourceFile{Path: f.file(tt.refsName, tt.refs)},
					Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file(tt.resName, tt.results), Name: tt.resName},
						Captioner: "model", Version: "1"}},
					Tags: map[string][]string{"1": {"red"}},
				})
				if rep.Images != (annotation.Counts{Added: 2}) || rep.References != (annotation.Counts{Added: 3}) ||
					len(rep.Captioners) != 1 || !rep.Captioners[0].New || rep.Captioners[0].Captions != (annotation.Counts{Added: 2}) || rep.Unchanged {
					t.Fatalf("report %+v", rep)
				}
				if strings.Contains(tt.name, "zip") && (len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "skipped 1 files") ||
					!strings.Contains(rep.Warnings[0], "README.txt")) {
					t.Errorf("warnings %q, want README.txt skipped", rep.Warnings)
				}
				ctx := context.Background()
				keys, err := s.Images(ctx, f.campaign, false)
				if err != nil || len(keys) != 2 || keys[0].ExternalID != "1" || keys[1].ExternalID != "2" {
					t.Fatalf("images %+v, %v", keys, err)
				}
				var refs []string
				if err := s.EachReference(ctx, f.campaign, func(r models.Reference) error {
					refs = append(refs, fmt.Sprintf("%d/%d %s", r.ImageID-keys[0].ID+1, r.Position, r.Text))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if want := "1/0 a red square|1/1 a square in red|2/0 a blue circle"; strings.Join(refs, "|") != want {
					t.Errorf("references %q, want %q", strings.Join(refs, "|"), want)
				}
				c, err := s.CaptionerByName(ctx, f.campaign, "model", "1")
				if err != nil || c.ID != rep.Captioners[0].ID {
					t.Fatalf("captioner %+v, %v (report id %d)", c, err, rep.Captioners[0].ID)
				}
				var caps []string
				if err := s.EachCaption(ctx, []int64{c.ID}, func(cp models.Caption) error {
					caps = append(caps, fmt.Sprintf("%d %s", cp.ImageID-keys[0].ID+1, cp.Text))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if strings.Join(caps, "|") != "1 a square|2 a circle" {
					t.Errorf("captions %q", caps)
				}
				// Dimensions from the header, files content-addressed.
				files := storedFiles(t, f.dataDir)
				if len(files) != 2 {
					t.Fatalf("stored files %q", files)
				}
				img := firstImage(t, s, f.campaign)
				if img.Width != tt.wantWidth || img.StorageKey != img.SHA256[:2]+"/"+img.SHA256+filepath.Ext(img.StorageKey) ||
					!strings.Contains(strings.Join(files, " "), img.StorageKey) || string(img.Tags) != `["red"]` {
					t.Errorf("image row %+v, files %q", img, files)
				}
			})
		}
	})
}

func mustCampaign(t *testing.T, s *models.Store, name string) int64 {
	t.Helper()
	c := &models.Campaign{Name: name, Mode: models.ModeLikert}
	if err := s.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// firstImage reads the campaign's image with external id 1.
func firstImage(t *testing.T, s *models.Store, campaignID int64) models.Image {
	t.Helper()
	img, err := s.ImageByExternalID(context.Background(), campaignID, "1")
	if err != nil {
		t.Fatal(err)
	}
	return *img
}

// TestImportRefused: every bad input names its problem (file, line or
// byte, field) and leaves the database and the image store as they were.
// The campaign holds a first import (images 1 and 2, model@1) before each
// case.
func TestImportRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		type files = map[string]string
		tests := []struct {
			name  string
			req   func(f *impFixture) annotation.ImportRequest
			want  []string // substrings of the error
			wantN int      // problems counted (listed + more), 0: don't check
		}{
			{"nothing to import", func(f *impFixture) annotation.ImportRequest { return annotation.ImportRequest{} },
				[]string{"nothing to import"}, 1},
			{"caption for an image not in the campaign", results(`[{"image_id": 1, "caption": "ok"}, {"image_id": 99, "caption": "x"}]`, "r.json"),
				[]string{"r.json: byte 35: image_id: no image 99 in the campaign nor in this import"}, 1},
			{"duplicate image ids in a results file", results("image_id,caption\n1,a\n2,b\n1,c\n", "r.csv"),
				[]string{"r.csv: line 4: image_id: image 1 has a caption already at line 2"}, 1},
			{"empty caption", results("{\"image_id\": 1, \"caption\": \"  \"}\n", "r.jsonl"),
				[]string{"r.jsonl: line 1: caption: empty caption for image 1"}, 1},
			{"missing field", results("{\"image_id\": 1}\n{\"caption\": \"x\"}\n", "r.jsonl"),
				[]string{"r.jsonl: line 1: caption: missing field", "r.jsonl: line 2: image_id: missing field"}, 2},
			{"CSV without a caption column", results("image_id,text\n1,a\n", "r.csv"),
				[]string{`r.csv: line 1: caption: missing field: the header has no caption column`}, 1},
			{"unknown format", results("hello world", "r.json"),
				[]string{"r.json: byte 1: malformed input: invalid character"}, 1},
			{"empty file", results("", "r.json"),
				[]string{"r.json: unrecognized format: the file is empty"}, 1},
			{"annotation file as results", results(cocoRefs, "r.json"),
				[]string{"COCO captions annotation file (references)"}, 1},
			{"malformed JSON", results(`[{"image_id": 1, "caption": "a"},`, "r.json"),
				[]string{"r.json: byte 33: malformed input"}, 1},
			{"missing results file", func(f *impFixture) annotation.ImportRequest {
				return annotation.ImportRequest{Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: filepath.Join(f.in, "nope.json")}, Captioner: "m"}}}
			}, []string{"nope.json: cannot read the file: no such file"}, 1},
			{"captioner without a name", func(f *impFixture) annotation.ImportRequest {
				return annotation.ImportRequest{Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("r.json", cocoResults)}, Captioner: " "}}}
			}, []string{"results[0]: captioner: the captioner of", "has no name"}, 1},
			{"the same captioner twice", func(f *impFixture) annotation.ImportRequest {
				p := f.file("r.json", cocoResults)
				return annotation.ImportRequest{Results: []annotation.ResultsFile{
					{SourceFile: annotation.SourceFile{Path: p}, Captioner: "m", Version: "2"},
					{SourceFile: annotation.SourceFile{Path: p}, Captioner: "m", Version: "2"}}}
			}, []string{"results[1]: captioner: m@2 is given twice"}, 1},
			{"changed captions", results(`[{"image_id": 1, "caption": "a square"}, {"image_id": 2, "caption": "an oval"}]`, "r.json", "model", "1"),
				[]string{"r.json: byte 41: caption: captioner model@1 has another caption for image 2 already: captions are never overwritten"}, 1},
			{"changed references", refs("{\"image_id\": 1, \"caption\": \"a red square\"}\n", "refs.jsonl"),
				[]string{"refs.jsonl: line 1: caption: the references of image 1 differ from the 2 the campaign has (the file gives 1)"}, 1},
			{"empty reference", refs("image_id,caption\n7,\n", "refs.csv"),
				[]string{"refs.csv: line 2: caption: empty reference caption for image 7"}, 1},
			{"reference for an unknown image", refs("image_id,caption\n7,a cat\n", "refs.csv"),
				[]string{"refs.csv: line 2: image_id: no image 7 in the campaign nor in this import"}, 1},
			{"COCO references matching no image", refs(`{"images": [{"id": 8, "file_name": "8.png"}], "annotations": [{"image_id": 8, "caption": "x"}]}`, "refs.json"),
				[]string{"refs.json: none of its 1 images with references is in the campaign"}, 1},
			{"COCO annotation file without annotations", refs(`{"images": [{"id": 1, "file_name": "1.png"}]}`, "refs.json"),
				[]string{"refs.json: annotations: missing field"}, 1},
			{"COCO image without an id", refs(`{"images": [{"file_name": "1.png"}], "annotations": []}`, "refs.json"),
				[]string{"refs.json: byte 12: id: missing field"}, 1},
			{"image with other content under a known id", imgs(files{"1.png": "png:7"}),
				[]string{"1.png: image 1 is in the campaign already with other content"}, 1},
			{"two files for one image id", imgs(files{"3.png": "png:3", "3.gif": "gif"}),
				[]string{`image id "3" is also the id of 3.gif`}, 1},
			{"not an image", imgs(files{"3.png": "hello"}),
				[]string{"3.png: not a JPEG, PNG, GIF or WebP image"}, 1},
			{"pixel bomb", imgs(files{"3.png": "huge"}),
				[]string{"3.png: 100000×100000 pixels: more than the limit of 64000000 pixels per image"}, 1},
			{"images neither folder nor zip", func(f *impFixture) annotation.ImportRequest {
				return annotation.ImportRequest{Images: annotation.SourceFile{Path: f.file("x.png", string(pngBytes(t, 1, 1, 1)))}}
			}, []string{"images must be a folder or a .zip archive"}, 1},
			{"zip slip", zipped(zipEntry{name: "../evil.png"}, zipEntry{name: "ok/../../evil.png"}, zipEntry{name: `..\evil.png`},
				zipEntry{name: "/etc/evil.png"}, zipEntry{name: "C:/evil.png"}, zipEntry{name: "5.png"}),
				[]string{"x.zip: ../evil.png: refused: a path with ..", "x.zip: ok/../../evil.png: refused", `x.zip: ..\evil.png: refused`,
					"x.zip: /etc/evil.png: refused: an absolute path", "x.zip: C:/evil.png: refused: a path with a drive letter"}, 5},
			{"zip entry declaring too many bytes", rawZip(1, 1<<40), []string{"x.zip: bomb0.png: 1099511627776 bytes uncompressed: larger than the limit of 67108864 bytes per image"}, 1},
			{"zip declaring too many bytes in all", rawZip(300, 60<<20), []string{"x.zip: 18874368000 bytes uncompressed: more than the limit of 17179869184 per import"}, 1},
			{"zip entry declaring a compression ratio over the limit", bombZip(bombEntry{name: "bomb.png", content: zerosAfterPNG(50 << 20)}),
				[]string{"x.zip: bomb.png: refused: 52428800 bytes from ", "over the limit of 100:1"}, 1},
			{"zip entry whose header understates its ratio", bombZip(bombEntry{name: "bomb.png", content: zerosAfterPNG(50 << 20), compressed: 50 << 20},
				// Incompressible padding keeps the archive as a whole under the ratio.
				bombEntry{name: "padding.bin", content: noise(2 << 20)}),
				[]string{"x.zip: bomb.png: refused: it inflates more than 100 times the compressed bytes read", "whatever its header declares"}, 1},
			{"zip entry inflating past its declared size", bombZip(bombEntry{name: "liar.png", content: zerosAfterPNG(2 << 20), uncompressed: 4096}),
				[]string{"x.zip: liar.png: corrupt archive entry: it inflates past the 4096 bytes its header declares"}, 1},
			{"zip of small entries over the ratio in all", bombZip(smallBombs(20)...),
				[]string{"x.zip: 20971520 bytes uncompressed from a ", "over the limit of 100:1"}, 1},
			{"symlink in a zip", zipped(zipEntry{name: "link.png", content: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}),
				[]string{"x.zip: link.png: refused: a symbolic link"}, 1},
			{"not a zip", func(f *impFixture) annotation.ImportRequest {
				return annotation.ImportRequest{Images: annotation.SourceFile{Path: f.file("x.zip", "PK but not really")}}
			}, []string{"x.zip: not a readable zip archive"}, 1},
			{"problems are listed up to 20", results(strings.Repeat("{\"image_id\": 1, \"caption\": \"\"}\n", 25), "r.jsonl"),
				[]string{"25 problems", "r.jsonl: line 20: caption", "… and 5 more"}, 25},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newImpFixture(t, s)
				f.mustImport(annotation.ImportRequest{
					Images:     annotation.SourceFile{Path: f.images("first", "1", "2")},
					References: annotation.SourceFile{Path: f.file("first.jsonl", jsonlRefs)},
					Results:    []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("first.json", cocoResults)}, Captioner: "model", Version: "1"}},
				})
				before := f.state("model@1", "m@2", "m@")
				_, err := f.importReq(tt.req(f))
				if err == nil {
					t.Fatal("import succeeded, want an error")
				}
				if !errors.Is(err, annotation.ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error\n%v\nwant it to contain %q", err, w)
					}
				}
				var ve *annotation.ValidationError
				if errors.As(err, &ve) && tt.wantN > 0 && len(ve.Problems)+ve.More != tt.wantN {
					t.Errorf("%d problems, want %d: %v", len(ve.Problems)+ve.More, tt.wantN, err)
				}
				if after := f.state("model@1", "m@2", "m@"); after != before {
					t.Errorf("the refused import changed the campaign or the store:\nbefore\n%s\nafter\n%s", before, after)
				}
			})
		}
	})
}

// results returns a request with one results file (captioner m@2 unless
// given).
func results(content, name string, captioner ...string) func(f *impFixture) annotation.ImportRequest {
	return func(f *impFixture) annotation.ImportRequest {
		c, v := "m", "2"
		if len(captioner) == 2 {
			c, v = captioner[0], captioner[1]
		}
		return annotation.ImportRequest{Results: []annotation.ResultsFile{
			{SourceFile: annotation.SourceFile{Path: f.file(name, content), Name: name}, Captioner: c, Version: v}}}
	}
}

func refs(content, name string) func(f *impFixture) annotation.ImportRequest {
	return func(f *impFixture) annotation.ImportRequest {
		return annotation.ImportRequest{References: annotation.SourceFile{Path: f.file(name, content), Name: name}}
	}
}

// imgs returns a request with a folder of files: "png:N" is PNG number N,
// "gif" a GIF, "huge" a pixel bomb, anything else the bytes themselves.
func imgs(content map[string]string) func(f *impFixture) annotation.ImportRequest {
	return func(f *impFixture) annotation.ImportRequest {
		for name, c := range content {
			var b []byte
			switch {
			case strings.HasPrefix(c, "png:"):
				var n int
				fmt.Sscan(c[4:], &n)
				b = pngBytes(f.t, n, 4, 3)
			case c == "gif":
				b = gifBytes(f.t)
			case c == "huge":
				b = hugePNG(100000, 100000)
			default:
				b = []byte(c)
			}
			f.file(filepath.Join("more", name), string(b))
		}
		return annotation.ImportRequest{Images: annotation.SourceFile{Path: filepath.Join(f.in, "more"), Name: ""}}
	}
}

func zipped(entries ...zipEntry) func(f *impFixture) annotation.ImportRequest {
	return func(f *impFixture) annotation.ImportRequest {
		for i := range entries {
			if entries[i].content == nil {
				entries[i].content = pngBytes(f.t, 9, 2, 2)
			}
		}
		return annotation.ImportRequest{Images: annotation.SourceFile{Path: f.zip("x.zip", entries...), Name: "x.zip"}}
	}
}

// TestImportTwice: the same files twice change nothing and say so; a new
// version is a new captioner; more images and captions are added beside
// what is there; identical content under two ids is stored once, with a
// warning.
func TestImportTwice(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		f.file("imgs/1.png", string(pngBytes(t, 1, 4, 3)))
		f.file("imgs/2.png", string(pngBytes(t, 2, 4, 3)))
		f.file("imgs/copy.png", string(pngBytes(t, 2, 4, 3)))
		first := annotation.ImportRequest{
			Images:     annotation.SourceFile{Path: filepath.Join(f.in, "imgs")},
			References: annotation.SourceFile{Path: f.file("refs.csv", csvRefs)},
			Results:    []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("r.jsonl", jsonlResults)}, Captioner: "model", Version: "1"}},
		}
		rep := f.mustImport(first)
		if rep.Images.Added != 3 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "copy.png (image copy) has the same content as image 2: stored once") {
			t.Fatalf("first import %+v", rep)
		}
		if files := storedFiles(t, f.dataDir); len(files) != 2 {
			t.Errorf("stored files %q, want 2 (the copy stored once)", files)
		}
		before := f.state("model@1")

		again := f.mustImport(first)
		want := annotation.ImportReport{CampaignID: f.campaign, Images: annotation.Counts{Unchanged: 3}, References: annotation.Counts{Unchanged: 3},
			Captioners: []annotation.CaptionerReport{{ID: rep.Captioners[0].ID, Name: "model", Version: "1", File: f.in + "/r.jsonl", Captions: annotation.Counts{Unchanged: 2}}},
			Warnings:   again.Warnings, Unchanged: true}
		if fmt.Sprint(*again) != fmt.Sprint(want) {
			t.Errorf("second import\n%+v\nwant\n%+v", *again, want)
		}
		if after := f.state("model@1"); after != before {
			t.Errorf("the second import changed something:\n%s\n%s", before, after)
		}

		// A new version is a new captioner, even with the same captions.
		v2 := f.mustImport(annotation.ImportRequest{Results: []annotation.ResultsFile{
			{SourceFile: annotation.SourceFile{Path: f.file("r2.csv", csvResults)}, Captioner: "model", Version: "2"}}})
		if len(v2.Captioners) != 1 || !v2.Captioners[0].New || v2.Captioners[0].ID == rep.Captioners[0].ID || v2.Captioners[0].Captions.Added != 2 {
			t.Errorf("version 2: %+v", v2.Captioners)
		}

		// More images later: their references and captions are added, the
		// others stay.
		f.file("imgs2/3.png", string(pngBytes(t, 3, 4, 3)))
		more := f.mustImport(annotation.ImportRequest{
			Images:     annotation.SourceFile{Path: filepath.Join(f.in, "imgs2")},
			References: annotation.SourceFile{Path: f.file("refs2.csv", csvRefs+"3,a green star\n")},
			Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("r3.jsonl", jsonlResults+"{\"image_id\": 3, \"caption\": \"a star\"}\n")},
				Captioner: "model", Version: "1"}},
		})
		if more.Images != (annotation.Counts{Added: 1}) || more.References != (annotation.Counts{Added: 1, Unchanged: 3}) ||
			more.Captioners[0].New || more.Captioners[0].Captions != (annotation.Counts{Added: 1, Unchanged: 2}) || more.Unchanged {
			t.Errorf("extension %+v", more)
		}
	})
}

// TestImportCOCOSubset: a COCO annotation file covers a whole split; the
// references of the images it lists that the campaign lacks are skipped
// with a warning, and file names map to the file's image ids.
func TestImportCOCOSubset(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		f.file("imgs/COCO_val_42.png", string(pngBytes(t, 1, 4, 3)))
		f.file("imgs/val/COCO_val_44.png", string(pngBytes(t, 2, 4, 3)))
		rep := f.mustImport(annotation.ImportRequest{
			Images: annotation.SourceFile{Path: filepath.Join(f.in, "imgs")},
			References: annotation.SourceFile{Path: f.file("captions_val.json", `{"images": [{"id": 42, "file_name": "COCO_val_42.png"}, {"id": 43, "file_name": "COCO_val_43.png"},
  {"id": 44, "file_name": "val2014/COCO_val_44.png"}],
 "annotations": [{"image_id": 42, "caption": "a dog"}, {"image_id": 43, "caption": "a cat"}, {"image_id": 43, "caption": "two cats"}]}`)},
		})
		if rep.Images.Added != 2 || rep.References.Added != 1 || len(rep.Warnings) != 1 ||
			!strings.Contains(rep.Warnings[0], "skipped 2 references of 1 images that the file lists but the campaign does not have (e.g. 43)") {
			t.Fatalf("report %+v", rep)
		}
		for _, id := range []string{"42", "44"} {
			if _, err := s.ImageByExternalID(context.Background(), f.campaign, id); err != nil {
				t.Errorf("image %s: %v", id, err)
			}
		}
	})
}

func TestImportCampaignState(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		req := annotation.ImportRequest{Images: annotation.SourceFile{Path: f.images("i", "1")}}
		if _, err := f.im.Import(context.Background(), f.campaign+100, req); !errors.Is(err, annotation.ErrNotFound) {
			t.Errorf("missing campaign: %v, want ErrNotFound", err)
		}
		closed := models.StatusClosed
		if err := s.UpdateCampaign(context.Background(), f.campaign, models.CampaignChanges{Status: &closed}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.importReq(req); !errors.Is(err, annotation.ErrConflict) || !strings.Contains(err.Error(), "is closed") {
			t.Errorf("closed campaign: %v, want ErrConflict", err)
		}
		if files := storedFiles(t, f.dataDir); len(files) != 0 {
			t.Errorf("files stored for a refused import: %q", files)
		}
	})
}

// rawZip writes n stored entries bombN.png whose headers declare size
// bytes each (compressed as stored entries are: not at all) while holding
// 8: archive bombs judged by their headers alone.
func rawZip(n int, size uint64) func(f *impFixture) annotation.ImportRequest {
	return func(f *impFixture) annotation.ImportRequest {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := 0; i < n; i++ {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("bomb%d.png", i), Method: zip.Store,
				CompressedSize64: size, UncompressedSize64: size})
			if err != nil {
				f.t.Fatal(err)
			}
			w.Write([]byte("12345678"))
		}
		if err := zw.Close(); err != nil {
			f.t.Fatal(err)
		}
		return annotation.ImportRequest{Images: annotation.SourceFile{Path: f.file("x.zip", buf.String()), Name: "x.zip"}}
	}
}

// bombEntry is a deflated zip entry whose header may lie: compressed and
// uncompressed, when not 0, are the sizes it declares instead of the true
// ones.
type bombEntry struct {
	name                     string
	content                  []byte
	compressed, uncompressed uint64
}

// bombZip writes the entries, deflated, into x.zip with the sizes they
// declare.
func bombZip(entries ...bombEntry) func(f *impFixture) annotation.ImportRequest {
	return func(f *impFixture) annotation.ImportRequest {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, e := range entries {
			var def bytes.Buffer
			fw, err := flate.NewWriter(&def, flate.BestCompression)
			if err != nil {
				f.t.Fatal(err)
			}
			fw.Write(e.content)
			if err := fw.Close(); err != nil {
				f.t.Fatal(err)
			}
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(e.content),
				CompressedSize64: uint64(def.Len()), UncompressedSize64: uint64(len(e.content))}
			if e.compressed != 0 {
				h.CompressedSize64 = e.compressed
			}
			if e.uncompressed != 0 {
				h.UncompressedSize64 = e.uncompressed
			}
			w, err := zw.CreateRaw(h)
			if err != nil {
				f.t.Fatal(err)
			}
			w.Write(def.Bytes())
		}
		if err := zw.Close(); err != nil {
			f.t.Fatal(err)
		}
		return annotation.ImportRequest{Images: annotation.SourceFile{Path: f.file("x.zip", buf.String()), Name: "x.zip"}}
	}
}

// zerosAfterPNG is a valid PNG padded with zeros to n bytes: the decoder
// reads its header and ignores the rest, so only a limit on the inflated
// bytes refuses it.
func zerosAfterPNG(n int) []byte {
	b := make([]byte, n)
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 2)))
	copy(b, buf.Bytes())
	return b
}

// noise is n pseudo-random bytes, the same every run: deflate cannot
// shrink them.
func noise(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{7}).Read(b)
	return b
}

// smallBombs are n distinct padded PNGs of exactly
// annotation.CompressionRatioFloor bytes each: no entry is over the floor,
// the archive is.
func smallBombs(n int) []bombEntry {
	out := make([]bombEntry, n)
	for i := range out {
		b := zerosAfterPNG(annotation.CompressionRatioFloor)
		b[len(b)-1] = byte(i) // distinct content, distinct images
		out[i] = bombEntry{name: fmt.Sprintf("small%d.png", i), content: b}
	}
	return out
}

// TestImportZipOfPNGs: a zip of photo-like PNGs drawn here, one of them
// saved without PNG compression and over the ratio floor (images that
// barely compress in a zip, and one that compresses as much as a real
// image does at worst), imports whole.
func TestImportZipOfPNGs(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		var entries []zipEntry
		for i := range 12 {
			entries = append(entries, zipEntry{name: fmt.Sprintf("photos/%02d.png", i), content: photoPNG(t, i, 64, 48, png.DefaultCompression)})
		}
		big := photoPNG(t, 99, 800, 600, png.NoCompression)
		if len(big) <= annotation.CompressionRatioFloor {
			t.Fatalf("the uncompressed PNG has %d bytes, want more than the floor %d", len(big), annotation.CompressionRatioFloor)
		}
		entries = append(entries, zipEntry{name: "photos/big.png", content: big})
		p := f.zip("photos.zip", entries...)
		zr, err := zip.OpenReader(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range zr.File {
			r := float64(e.UncompressedSize64) / float64(e.CompressedSize64)
			t.Logf("%s: %d bytes, %.2f:1", e.Name, e.UncompressedSize64, r)
			if r > annotation.MaxCompressionRatio/4 {
				t.Errorf("%s compresses %.1f:1: no longer far below the limit", e.Name, r)
			}
		}
		zr.Close()
		rep := f.mustImport(annotation.ImportRequest{Images: annotation.SourceFile{Path: p, Name: "photos.zip"}})
		if rep.Images.Added != 13 {
			t.Errorf("%d images added, want 13: %+v", rep.Images.Added, rep)
		}
		if files := storedFiles(t, f.dataDir); len(files) != 13 {
			t.Errorf("%d files stored, want 13", len(files))
		}
	})
}

// photoPNG draws a w×h image with gradients and noise, as a photograph
// has, seeded by i.
func photoPNG(t *testing.T, i, w, h int, level png.CompressionLevel) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	state := uint32(i)*2654435761 + 1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			state = state*1664525 + 1013904223
			n := uint8(state >> 28)
			m.Set(x, y, color.RGBA{uint8(x*255/w) + n, uint8(y*255/h) + n, uint8(i*37) + n/2, 255})
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: level}).Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportConcurrently: two imports of the same files at once both
// succeed and the rows exist once (the second compares again under the
// campaign's lock and finds everything there).
func TestImportConcurrently(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		req := annotation.ImportRequest{
			Images:     annotation.SourceFile{Path: f.images("imgs", "1", "2")},
			References: annotation.SourceFile{Path: f.file("refs.json", cocoRefs)},
			Results:    []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("r.csv", csvResults)}, Captioner: "m", Version: "1"}},
		}
		// The COCO file names one.png and two.png; these files are 1.png
		// and 2.png, so their ids are the stems, which match.
		errs := make(chan error, 2)
		reps := make(chan *annotation.ImportReport, 2)
		for i := 0; i < 2; i++ {
			go func() {
				r, err := f.im.Import(context.Background(), f.campaign, req)
				errs <- err
				reps <- r
			}()
		}
		added := 0
		for i := 0; i < 2; i++ {
			if err := <-errs; err != nil {
				t.Fatalf("import %d: %v", i, err)
			}
			r := <-reps
			added += r.Images.Added
			if r.Images.Added == 0 && !r.Unchanged {
				t.Errorf("the import that added nothing does not say unchanged: %+v", r)
			}
		}
		if added != 2 {
			t.Errorf("%d images added in all, want 2", added)
		}
		sum, err := s.CampaignSummaryByID(context.Background(), f.campaign)
		if err != nil || sum.Images != 2 || sum.Captioners != 1 || sum.Captions != 2 {
			t.Errorf("counts %+v, %v", sum.CampaignCounts, err)
		}
	})
}
