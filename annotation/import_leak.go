package annotation

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"capeval/models"
)

// A caption that is one of its image's references word for word (after
// the metrics' tokenization, which drops case and punctuation) scores as a
// perfect match on BLEU, ROUGE-L and CIDEr-D, and high on RefCLIPScore: it
// inflates every reference-based metric. Published datasets have such
// captions (a "human" system that is a held-out reference, a model trained
// on the test references), so every import looks for them and warns; it
// is a warning, not a refusal, since a lead may study exactly that.

// wordsOnly is the leak check's tokenization when the importer was given
// none: lower-cased runs of letters and digits.
func wordsOnly(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

// leakTally counts one captioner's leaked captions.
type leakTally struct {
	n      int
	images []string
}

// maxLeakExamples is how many image ids a leak warning names.
const maxLeakExamples = 3

// checkLeaks warns about every caption of the import's scope that is one of
// its image's references after tokenization: the captions of the results
// files, the campaign's captions of images whose references are imported,
// and every caption of the captioners a ratings file rates (their ratings
// are set beside the metrics). Each pair is compared once.
func checkLeaks(ctx context.Context, st ImportStore, campaignID int64, plan *Plan, out *outcome, rated map[string]bool, warn *warnings) error {
	refToks := map[string][]digest{} // external image id → tokenized references
	for id, e := range plan.refsByID {
		refToks[id] = e.toks
	}
	tally := map[string]*leakTally{}
	var order []string
	hit := func(who, image string) {
		t := tally[who]
		if t == nil {
			t = &leakTally{}
			tally[who] = t
			order = append(order, who)
		}
		t.n++
		if len(t.images) < maxLeakExamples {
			t.images = append(t.images, image)
		}
	}
	byRow := make(map[int64]string, len(out.ids))
	for ext, id := range out.ids {
		byRow[id] = ext
	}
	// The campaign's captions in scope, and the images whose stored
	// references they need.
	type dbCaption struct {
		who, image string
		tok        digest
	}
	var dbCaps []dbCaption
	inFiles := map[string]map[string]bool{} // who → images a results file gives
	for _, rp := range plan.results {
		m := map[string]bool{}
		for id := range rp.captions {
			m[id] = true
		}
		inFiles[captionerName(rp.captioner, rp.version)] = m
	}
	if campaignID != 0 && (len(plan.refsByID) > 0 || len(rated) > 0) {
		captioners, err := st.Captioners(ctx, campaignID)
		if err != nil {
			return fmt.Errorf("annotation: import: %w", err)
		}
		for _, c := range captioners {
			who := captionerName(c.Name, c.Version)
			err := st.EachCaption(ctx, []int64{c.ID}, func(cp models.Caption) error {
				image := byRow[cp.ImageID]
				if inFiles[who][image] {
					return nil // compared below, from the file
				}
				if _, refsHere := plan.refsByID[image]; !refsHere && !rated[who] {
					return nil
				}
				dbCaps = append(dbCaps, dbCaption{who, image, textDigest(plan.tokenize(cp.Text))})
				return nil
			})
			if err != nil {
				return fmt.Errorf("annotation: import: %w", err)
			}
		}
	}
	need := map[int64]bool{} // image rows whose stored references are needed
	for _, rp := range plan.results {
		for id := range rp.captions {
			if _, ok := refToks[id]; !ok {
				if row, ok := out.ids[id]; ok {
					need[row] = true
				}
			}
		}
	}
	for _, c := range dbCaps {
		if _, ok := refToks[c.image]; !ok {
			need[out.ids[c.image]] = true
		}
	}
	if len(need) > 0 && campaignID != 0 {
		err := st.EachReference(ctx, campaignID, func(r models.Reference) error {
			if need[r.ImageID] {
				ext := byRow[r.ImageID]
				refToks[ext] = append(refToks[ext], textDigest(plan.tokenize(r.Text)))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("annotation: import: %w", err)
		}
	}
	leaked := func(image string, tok digest) bool {
		for _, r := range refToks[image] {
			if r == tok {
				return true
			}
		}
		return false
	}
	for _, rp := range plan.results {
		who := captionerName(rp.captioner, rp.version)
		for _, x := range sortedByPos(rp.captions, func(e *capEntry) int64 { return e.pos }) {
			if leaked(x.id, x.e.tok) {
				hit(who, x.id)
			}
		}
	}
	for _, c := range dbCaps {
		if leaked(c.image, c.tok) {
			hit(c.who, c.image)
		}
	}
	sort.Strings(order)
	for _, who := range order {
		t := tally[who]
		warn.add("captioner %s: %d captions are word for word one of their image's references after the metrics' tokenization (images %s%s): a copied reference inflates every reference-based metric",
			who, t.n, strings.Join(t.images, ", "), more(t.n, len(t.images)))
	}
	return nil
}

func more(n, shown int) string {
	if n > shown {
		return fmt.Sprintf(", and %d more", n-shown)
	}
	return ""
}
