package clip

import (
	"compress/gzip"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"capeval/internal/sharedtest"
)

// clipMergeCount is how many merges openai/CLIP reads from its vocabulary file
// (49,408 ids minus 512 byte symbols and 2 special tokens).
const clipMergeCount = 48894

var (
	sharedMergesOnce sync.Once
	sharedMerges     [][2]string
	sharedMergesErr  error
)

// loadSharedMerges reads CLIP's merges from ../shared, once per test binary.
func loadSharedMerges(t testing.TB) [][2]string {
	t.Helper()
	path := sharedtest.Path(t, "data", "clip", "bpe_simple_vocab_16e6.txt.gz")
	sharedMergesOnce.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			sharedMergesErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			sharedMergesErr = err
			return
		}
		// openai/CLIP skips the first line unconditionally: it is a header
		// that, in this file, does not start with "#version".
		m, err := ReadMerges(zr)
		if err != nil {
			sharedMergesErr = err
			return
		}
		sharedMerges = m[1 : 1+clipMergeCount]
	})
	if sharedMergesErr != nil {
		t.Fatalf("read CLIP merges: %v", sharedMergesErr)
	}
	return sharedMerges
}

type tokenizerVectors struct {
	VocabSize int    `json:"vocab_size"`
	SOT       int64  `json:"sot"`
	EOT       int64  `json:"eot"`
	Prefix    string `json:"prefix"`
	Vectors   []struct {
		Text   string  `json:"text"`
		IDs    []int64 `json:"ids"`
		NonPad int     `json:"n_nonpad"`
	} `json:"vectors"`
}

func loadTokenizerVectors(t *testing.T) tokenizerVectors {
	t.Helper()
	data, err := os.ReadFile(sharedtest.Path(t, "testdata", "clip-tokenizer", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v tokenizerVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parse vectors.json: %v", err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("vectors.json holds no vectors")
	}
	return v
}

func TestTokenizerConformance(t *testing.T) {
	vec := loadTokenizerVectors(t)
	tok, err := NewTokenizerFromMerges(loadSharedMerges(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != vec.VocabSize || tok.SOT() != vec.SOT || tok.EOT() != vec.EOT {
		t.Fatalf("vocab size %d sot %d eot %d, want %d %d %d", tok.VocabSize(), tok.SOT(), tok.EOT(), vec.VocabSize, vec.SOT, vec.EOT)
	}
	for _, tt := range vec.Vectors {
		name := tt.Text
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got := make([]int64, ContextLength)
			n, err := tok.Encode(got, tt.Text)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.IDs) {
				t.Errorf("ids\n got %v\nwant %v", got, tt.IDs)
			}
			if n != tt.NonPad {
				t.Errorf("non-padding ids %d, want %d", n, tt.NonPad)
			}
		})
	}
}

// TestTokenizerFileFormats writes the shared vocabulary in each format a model
// folder may carry and checks that all of them tokenize like the merges-only
// construction.
func TestTokenizerFileFormats(t *testing.T) {
	vec := loadTokenizerVectors(t)
	merges := loadSharedMerges(t)
	ref, err := NewTokenizerFromMerges(merges)
	if err != nil {
		t.Fatal(err)
	}
	mergeStrings := make([]string, len(merges))
	mergePairs := make([][2]string, len(merges))
	for i, m := range merges {
		mergeStrings[i] = m[0] + " " + m[1]
		mergePairs[i] = m
	}
	writeJSON := func(t *testing.T, path string, v any) {
		t.Helper()
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		write func(t *testing.T, dir string)
	}{
		{"vocab.json+merges.txt", func(t *testing.T, dir string) {
			writeJSON(t, filepath.Join(dir, "vocab.json"), ref.encoder)
			body := "#version: 0.2\n" + strings.Join(mergeStrings, "\n") + "\n"
			if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"tokenizer.json string merges", func(t *testing.T, dir string) {
			writeJSON(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
				"model": map[string]any{"type": "BPE", "vocab": ref.encoder, "merges": mergeStrings},
			})
		}},
		{"tokenizer.json pair merges, added tokens", func(t *testing.T, dir string) {
			vocab := make(map[string]int64, len(ref.encoder))
			for k, v := range ref.encoder {
				if k != startOfText && k != endOfText {
					vocab[k] = v
				}
			}
			writeJSON(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
				"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": mergePairs},
				"added_tokens": []map[string]any{
					{"id": 49406, "content": startOfText}, {"id": 49407, "content": endOfText},
				},
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.write(t, dir)
			tok, err := LoadTokenizer(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vec.Vectors {
				got := make([]int64, ContextLength)
				if _, err := tok.Encode(got, v.Text); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, v.IDs) {
					t.Fatalf("%q: ids\n got %v\nwant %v", v.Text, got, v.IDs)
				}
			}
		})
	}
}

func TestLoadTokenizerErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"empty folder", nil, "neither tokenizer.json nor vocab.json"},
		{"vocab without merges", map[string]string{"vocab.json": `{"<|startoftext|>":0,"<|endoftext|>":1}`}, "merges.txt"},
		{"bad merges line", map[string]string{"vocab.json": `{"<|startoftext|>":0,"<|endoftext|>":1}`, "merges.txt": "a b c\n"}, "merges.txt: clip: merges line 1"},
		{"no special tokens", map[string]string{"tokenizer.json": `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`}, "lacks <|startoftext|>"},
		{"not BPE", map[string]string{"tokenizer.json": `{"model":{"type":"WordPiece","vocab":{"a":0}}}`}, "want BPE"},
		{"bad merge entry", map[string]string{"tokenizer.json": `{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a"]]}}`}, "merge 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadTokenizer(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  A  Dog\t\nRuns ", "a dog runs"},
		{"&amp;lt;b&amp;gt;", "<b>"},
		{"caf&eacute; &#233;", "café é"},
		{"İstanbul", "i\u0307stanbul"},
		{"a\u00a0b\u2003c\x1cd", "a b c d"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := cleanText(tt.in); got != tt.want {
				t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// clipWordPattern is CLIP's pattern in Go's syntax, \s spelled out since
// Go's \s is ASCII only; Go's regexp prefers the
// leftmost alternative like Python's, so it is an oracle for the scanner.
var clipWordPattern = regexp.MustCompile(`<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\t\n\v\f\r \x1c-\x1f\x85\p{Z}\p{L}\p{N}]+`)

func TestWordScannerMatchesPattern(t *testing.T) {
	alphabet := []string{"a", "b", "Z", "é", "ß", "中", "1", "٣", "½", " ", "\t", "'", "s", "t", "re", "ll", "!", ".", ",", "<|endoftext|>", "<|startoftext|>", "<|", "|>", "\u00a0", "😀", "-", "\u0301"}
	rng := rand.New(rand.NewPCG(4, 2))
	cases := []string{"", "don't", "he's here", "1,000.5", "!!'s", "a<|endoftext|>b", "  "}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		var got []string
		forEachWord(s, func(w string) bool { got = append(got, w); return true })
		want := clipWordPattern.FindAllString(s, -1)
		if !slices.Equal(got, want) {
			t.Fatalf("words of %q:\n got %q\nwant %q", s, got, want)
		}
	}
}

func TestEncodeTruncation(t *testing.T) {
	tok, err := NewTokenizerFromMerges(nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]int64, ContextLength)
	n, err := tok.Encode(dst, strings.Repeat("x ", 200))
	if err != nil {
		t.Fatal(err)
	}
	if n != ContextLength || dst[0] != tok.SOT() || dst[ContextLength-1] != tok.EOT() {
		t.Fatalf("n=%d first=%d last=%d", n, dst[0], dst[ContextLength-1])
	}
	if _, err := tok.Encode(make([]int64, 10), "x"); err == nil {
		t.Fatal("short buffer accepted")
	}
}

func BenchmarkTokenizerEncode(b *testing.B) {
	tok, err := NewTokenizerFromMerges(loadSharedMerges(b))
	if err != nil {
		b.Fatal(err)
	}
	text := "A photo depicts a black dog wearing headphones looks at the camera as an orange cat walks in the background."
	dst := make([]int64, ContextLength)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Encode(dst, text); err != nil {
			b.Fatal(err)
		}
	}
}
