package textmetrics

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"capeval/internal/sharedtest"
)

// ptbCase is one line of ../shared/testdata/ptb-tokenizer/cases.jsonl: a
// caption and what coco-caption's pipeline (PTBTokenizer 3.4.1, then its
// punctuation removal) makes of it when another caption follows it in the
// batch. TokensLast, set on a few lines only, is the result when the caption
// ends the batch; capeval tokenizes each caption on its own and matches
// Tokens.
type ptbCase struct {
	ID         int    `json:"id"`
	Raw        string `json:"raw"`
	Tokens     string `json:"tokens"`
	TokensLast string `json:"tokens_last"`
}

// ptbFamilies are the families of cases.jsonl by their first id, in id order,
// as its README lists them.
var ptbFamilies = []struct {
	first int
	name  string
}{
	{1, "numbers_units"}, {221, "hyphens"}, {391, "abbreviations"}, {651, "clitics_contractions"},
	{851, "quotes"}, {1021, "brackets"}, {1161, "dashes"}, {1261, "ellipses"}, {1351, "repeated_punct"},
	{1441, "slashes"}, {1531, "amp_at_email_hashtag"}, {1631, "urls"}, {1711, "emoticons"},
	{1801, "latin_diacritics"}, {1901, "other_scripts_cjk"}, {1981, "emoji_symbols"},
	{2061, "whitespace_control"}, {2161, "punct_only"}, {2221, "long_lines"}, {2251, "case_mixes"},
	{2351, "inner_apostrophes"}, {2431, "entities_sgml"}, {2501, "misc_symbols"},
	{2561, "acronym_in_context"}, {2621, "filenames"}, {2661, "alphanumerics"}, {2721, "mixed"},
	{2881, "real_text"},
}

// ptbFamily names the family of case id.
func ptbFamily(id int) string {
	name := ""
	for _, f := range ptbFamilies {
		if id >= f.first {
			name = f.name
		}
	}
	return name
}

var (
	ptbOnce    sync.Once
	ptbCases   []ptbCase
	ptbLoadErr error
)

// loadPTBCases reads cases.jsonl once per test binary.
func loadPTBCases(t testing.TB) []ptbCase {
	t.Helper()
	path := sharedtest.Path(t, "testdata", "ptb-tokenizer", "cases.jsonl")
	ptbOnce.Do(func() { ptbCases, ptbLoadErr = readPTBCases(path) })
	if ptbLoadErr != nil {
		t.Fatal(ptbLoadErr)
	}
	return ptbCases
}

func readPTBCases(path string) ([]ptbCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []ptbCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
	for line := 1; sc.Scan(); line++ {
		var c ptbCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if c.ID != line {
			return nil, fmt.Errorf("%s:%d: id %d, want %d", path, line, c.ID, line)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(cases) != 3100 {
		return nil, fmt.Errorf("%s: %d cases, want 3100", path, len(cases))
	}
	return cases, nil
}

// ptbCasesIfPresent returns the cases when ../shared has them, and nil
// otherwise (for tests that use them as extra inputs only).
func ptbCasesIfPresent(t testing.TB) []ptbCase {
	t.Helper()
	path := filepath.Join(sharedtest.Root(), "testdata", "ptb-tokenizer", "cases.jsonl")
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	return loadPTBCases(t)
}

// TestTokenizePTBCases checks the tokenizer on the 3,100 hard lines of
// cases.jsonl, whose families cover every shape the PTB lexer treats
// specially. On failure it prints the count per family and the first
// differences of each.
func TestTokenizePTBCases(t *testing.T) {
	cases := loadPTBCases(t)
	const showPerFamily = 3
	bad := map[string][]string{}
	total := 0
	for _, c := range cases {
		got := TokenizeString(c.Raw)
		if got == c.Tokens {
			continue
		}
		total++
		fam := ptbFamily(c.ID)
		bad[fam] = append(bad[fam], fmt.Sprintf("id %d %s\n   got  %s\n   want %s",
			c.ID, strconv.Quote(c.Raw), strconv.Quote(got), strconv.Quote(c.Tokens)))
	}
	if total == 0 {
		return
	}
	var summary strings.Builder
	for _, f := range ptbFamilies {
		if n := len(bad[f.name]); n > 0 {
			fmt.Fprintf(&summary, " %s=%d", f.name, n)
			for i, m := range bad[f.name] {
				if i == showPerFamily {
					break
				}
				t.Errorf("%s: %s", f.name, m)
			}
		}
	}
	t.Fatalf("%d of %d lines tokenized differently from coco-caption:%s", total, len(cases), summary.String())
}
