// Package demo generates the synthetic campaign that a fresh capeval shows a
// newcomer: images of simple coloured shapes drawn in Go, five human-style
// reference captions per image, and four captioners of clearly different
// quality, all determined by one seed. WriteFiles saves it in the COCO
// formats the importer and `capeval score` read, so the same data can take
// the whole path a real campaign takes; Load does that, accounts included,
// for `capeval serve` with CAPEVAL_DEMO=true, and Collect then opens the
// campaign's queue (text metrics computed, tasks committed, collecting).
package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
)

// NumImages is the number of images in a demo dataset.
const NumImages = 48

// RefsPerImage is the number of reference captions per image.
const RefsPerImage = 5

// DefaultSeed is the seed the server uses for the demo campaign.
const DefaultSeed int64 = 20261125

// Captioner names, from best to worst.
const (
	Accurate    = "accurate"
	PartlyWrong = "partly-wrong"
	Generic     = "generic"
	Random      = "random"
)

// Flaws a partly-wrong caption can have.
const (
	FlawColour   = "colour"
	FlawCount    = "count"
	FlawPosition = "position"
)

// Image is one synthetic picture with its scene, tags and references.
type Image struct {
	ID         int      `json:"id"`
	FileName   string   `json:"file_name"`
	Width      int      `json:"width"`
	Height     int      `json:"height"`
	Scene      Scene    `json:"scene"`
	Tags       []string `json:"tags"`
	References []string `json:"references"`
	PNG        []byte   `json:"-"`
}

// Caption is one captioner's output for one image.
type Caption struct {
	ImageID int    `json:"image_id"`
	Text    string `json:"caption"`
	// Flaw names what a partly-wrong caption got wrong (FlawColour,
	// FlawCount, FlawPosition); it is empty for a faithful caption. It is
	// ground truth for tests and demos, never shown to annotators.
	Flaw string `json:"-"`
}

// Captioner is a model under evaluation: one caption per image, in the
// order of Dataset.Images.
type Captioner struct {
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Description string    `json:"description"`
	Captions    []Caption `json:"captions"`
}

// Dataset is a complete demo campaign.
type Dataset struct {
	Seed       int64       `json:"seed"`
	Images     []Image     `json:"images"`
	Captioners []Captioner `json:"captioners"`
}

// Captioner returns the captioner called name, or nil.
func (d *Dataset) Captioner(name string) *Captioner {
	for i := range d.Captioners {
		if d.Captioners[i].Name == name {
			return &d.Captioners[i]
		}
	}
	return nil
}

// Random streams: each purpose and image gets its own PCG stream, so a change
// to, say, the reference phrasing leaves the images and the other
// captioners' outputs exactly as they were.
const (
	streamScene = iota + 1
	streamRefs
	streamAccurate
	streamWrong
	streamGeneric
	streamRandom
)

// wholeSet is the stream index for choices about all images at once (which
// images get a flaw, the random pairing), beyond any real image index.
const wholeSet = 1 << 20

func rng(seed int64, purpose, index int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(purpose)<<32|uint64(index)))
}

// Generate builds the demo dataset for seed. The same seed gives the same
// dataset, PNG bytes included (for a given Go release's PNG encoder).
func Generate(seed int64) *Dataset {
	d := &Dataset{Seed: seed}
	for i := range NumImages {
		s := newScene(rng(seed, streamScene, i))
		img, err := EncodePNG(s)
		if err != nil {
			// Encoding an in-memory RGBA into a bytes.Buffer cannot fail.
			panic(fmt.Sprintf("demo: image %d: %v", i+1, err))
		}
		d.Images = append(d.Images, Image{
			ID:         i + 1,
			FileName:   fmt.Sprintf("shapes-%03d.png", i+1),
			Width:      Width,
			Height:     Height,
			Scene:      s,
			Tags:       s.Tags(),
			References: distinctCaptions(rng(seed, streamRefs, i), s, style{}, RefsPerImage, nil),
			PNG:        img,
		})
	}
	d.Captioners = []Captioner{
		d.accurate(),
		d.partlyWrong(),
		d.generic(),
		d.random(),
	}
	return d
}

// distinctCaptions draws n different captions of s, avoiding those in
// avoid. Phrasings are plentiful, so the attempt cap is only a safeguard.
func distinctCaptions(r *rand.Rand, s Scene, st style, n int, avoid []string) []string {
	var out []string
	for try := 0; len(out) < n && try < 200; try++ {
		c := describe(r, s, st)
		if !slices.Contains(out, c) && !slices.Contains(avoid, c) {
			out = append(out, c)
		}
	}
	for len(out) < n {
		out = append(out, describe(r, s, st))
	}
	return out
}

func (d *Dataset) accurate() Captioner {
	c := Captioner{Name: Accurate, Version: "1", Description: "correct, complete captions in varied phrasing"}
	for i, img := range d.Images {
		st := style{colour: true, position: true, background: true}
		// A strong captioner writes the consensus description; picking the
		// draw closest to the references (minimum-Bayes-risk style) models
		// that, and keeps the references themselves out.
		cands := distinctCaptions(rng(d.Seed, streamAccurate, i), img.Scene, st, 8, img.References)
		text := consensus(cands, img.References)
		c.Captions = append(c.Captions, Caption{ImageID: img.ID, Text: text})
	}
	return c
}

func (d *Dataset) partlyWrong() Captioner {
	c := Captioner{Name: PartlyWrong, Version: "1", Description: "a wrong colour, count or position in about half the captions"}
	// Exactly half the images, chosen by the seed, get a flawed caption.
	order := rng(d.Seed, streamWrong, wholeSet).Perm(len(d.Images))
	wrong := make([]bool, len(d.Images))
	for _, i := range order[:len(order)/2] {
		wrong[i] = true
	}
	for i, img := range d.Images {
		r := rng(d.Seed, streamWrong, i)
		// Like the accurate captioner, never a reference word for word: a copy
		// would score as a perfect match and hide the flaws from the metrics.
		if !wrong[i] {
			text := distinctCaptions(r, img.Scene, style{colour: true}, 1, img.References)[0]
			c.Captions = append(c.Captions, Caption{ImageID: img.ID, Text: text})
			continue
		}
		s, flaw := mutate(r, img.Scene)
		st := style{colour: true, position: flaw == FlawPosition}
		c.Captions = append(c.Captions, Caption{ImageID: img.ID, Text: distinctCaptions(r, s, st, 1, img.References)[0], Flaw: flaw})
	}
	return c
}

// mutate returns a copy of s with one thing made wrong, and what it was.
func mutate(r *rand.Rand, s Scene) (Scene, string) {
	out := Scene{Background: s.Background, Groups: slices.Clone(s.Groups)}
	g := &out.Groups[r.IntN(len(out.Groups))]
	switch flaw := []string{FlawColour, FlawCount, FlawPosition}[r.IntN(3)]; flaw {
	case FlawColour:
		used := map[string]bool{}
		for _, h := range out.Groups {
			used[h.Colour] = true
		}
		var others []string
		for _, c := range Colours {
			if !used[c] {
				others = append(others, c)
			}
		}
		g.Colour = pick(r, others)
		return out, flaw
	case FlawCount:
		n := 1 + r.IntN(3)
		if n >= g.Count {
			n++
		}
		g.Count = n
		return out, flaw
	default:
		if len(out.Groups) == 2 {
			out.Groups[0].Position, out.Groups[1].Position = out.Groups[1].Position, out.Groups[0].Position
			return out, flaw
		}
		var others []string
		for _, p := range Positions {
			if p != g.Position {
				others = append(others, p)
			}
		}
		g.Position = pick(r, others)
		return out, flaw
	}
}

func (d *Dataset) generic() Captioner {
	c := Captioner{Name: Generic, Version: "1", Description: "the same few vague captions for every image"}
	for i, img := range d.Images {
		r := rng(d.Seed, streamGeneric, i)
		c.Captions = append(c.Captions, Caption{ImageID: img.ID, Text: pick(r, genericCaptions)})
	}
	return c
}

func (d *Dataset) random() Captioner {
	c := Captioner{Name: Random, Version: "1", Description: "a reference caption of another image"}
	r := rng(d.Seed, streamRandom, wholeSet)
	n := len(d.Images)
	// A random derangement: every image gets some other image's caption.
	perm := r.Perm(n)
	for i := range n {
		if perm[i] == i {
			j := (i + 1) % n
			perm[i], perm[j] = perm[j], perm[i]
		}
	}
	for i, img := range d.Images {
		other := d.Images[perm[i]]
		c.Captions = append(c.Captions, Caption{ImageID: img.ID, Text: other.References[r.IntN(len(other.References))]})
	}
	return c
}

// consensus returns the candidate with the highest mean overlap with refs:
// the F-measure of shared word unigrams and bigrams. Ties go to the earlier
// candidate, so the choice is deterministic.
func consensus(cands, refs []string) string {
	best, bestScore := "", -1.0
	for _, c := range cands {
		score := 0.0
		for _, r := range refs {
			score += overlap(c, r)
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

func overlap(a, b string) float64 {
	ga, gb := grams(a), grams(b)
	shared, na, nb := 0, 0, 0
	for g, n := range ga {
		shared += min(n, gb[g])
		na += n
	}
	for _, n := range gb {
		nb += n
	}
	if shared == 0 {
		return 0
	}
	p, r := float64(shared)/float64(na), float64(shared)/float64(nb)
	return 2 * p * r / (p + r)
}

// grams counts the lower-cased word unigrams and bigrams of s.
func grams(s string) map[string]int {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	out := map[string]int{}
	for i, w := range words {
		out[w]++
		if i > 0 {
			out[words[i-1]+" "+w]++
		}
	}
	return out
}
