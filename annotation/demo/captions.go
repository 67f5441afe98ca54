package demo

import (
	"math/rand/v2"
	"strings"
)

// style says what a generated caption must mention. References may leave
// out the background, a position or (rarely) colours, as people do; the
// accurate captioner names everything, as a good model does, and a
// deliberately wrong caption always names the detail it got wrong.
type style struct {
	colour     bool // always name colours
	position   bool // always name positions
	background bool // always name the background
}

// describe writes one caption of s in a randomly chosen phrasing.
func describe(r *rand.Rand, s Scene, st style) string {
	var text string
	if len(s.Groups) == 1 {
		text = describeOne(r, s, s.Groups[0], st)
	} else {
		text = describeTwo(r, s, st)
	}
	return finish(r, text)
}

func describeOne(r *rand.Rand, s Scene, g Group, st style) string {
	np := nounPhrase(r, g, st)
	pos := positionPhrase(r, g.Position)
	bg := s.Background
	omitPos := !st.position && g.Position == "centre" && r.IntN(2) == 0
	if omitPos {
		switch r.IntN(4) {
		case 0:
			return np + " " + backgroundPhrase(r, bg)
		case 1:
			return "a " + bgWord(r, bg) + " background with " + np + " on it"
		case 2:
			return "a picture of " + np + " " + backgroundPhrase(r, bg)
		default:
			if st.background {
				return np + " " + backgroundPhrase(r, bg)
			}
			return np
		}
	}
	switch r.IntN(7) {
	case 0:
		return np + " " + pos + " " + backgroundPhrase(r, bg)
	case 1:
		return np + " " + pos + " of a " + bgWord(r, bg) + " " + pick(r, []string{"background", "canvas", "frame"})
	case 2:
		return "a " + bgWord(r, bg) + " background with " + np + " " + pos
	case 3:
		if st.background {
			return np + " " + pos + " " + backgroundPhrase(r, bg)
		}
		return np + " " + pos
	case 4:
		return "an image of " + np + " " + pos + " " + backgroundPhrase(r, bg)
	case 5:
		return np + " " + pick(r, []string{"placed", "drawn", "sitting"}) + " " + pos + " " + backgroundPhrase(r, bg)
	default:
		return np + " " + backgroundPhrase(r, bg) + ", " + pos
	}
}

func describeTwo(r *rand.Rand, s Scene, st style) string {
	a, b := s.Groups[0], s.Groups[1]
	if r.IntN(2) == 0 {
		a, b = b, a
	}
	an, bn := nounPhrase(r, a, st), nounPhrase(r, b, st)
	var text string
	switch n := r.IntN(6); {
	case n == 0 && !st.position:
		// No relation at all: "a blue square and a pair of red circles".
		text = an + " and " + bn
	case n <= 1:
		text = an + " " + relation(r, a.Position) + " " + bn
	case n == 2:
		text = an + " " + positionPhrase(r, a.Position) + " and " + bn + " " + positionPhrase(r, b.Position)
	case n == 3:
		pron := "it"
		if b.Count > 1 {
			pron = "them"
		}
		text = bn + " with " + an + " " + relation(r, a.Position) + " " + pron
	case n == 4:
		return "a " + bgWord(r, s.Background) + " background with " + an + " " + positionPhrase(r, a.Position) +
			" and " + bn + " " + positionPhrase(r, b.Position)
	default:
		text = "there " + verb(a) + " " + an + " " + relation(r, a.Position) + " " + bn
	}
	if r.IntN(5) < 3 || st.background {
		text += " " + backgroundPhrase(r, s.Background)
	}
	return text
}

// relation is how a group at pos relates to the group on the other side.
func relation(r *rand.Rand, pos string) string {
	switch pos {
	case "left":
		return pick(r, []string{"to the left of", "left of", "on the left of"})
	case "right":
		return pick(r, []string{"to the right of", "right of", "on the right of"})
	case "top":
		return pick(r, []string{"above", "over", "sitting above"})
	default:
		return pick(r, []string{"below", "under", "beneath"})
	}
}

func positionPhrase(r *rand.Rand, pos string) string {
	switch pos {
	case "left":
		return pick(r, []string{"on the left", "on the left side", "towards the left", "at the left"})
	case "right":
		return pick(r, []string{"on the right", "on the right side", "towards the right", "at the right"})
	case "top":
		return pick(r, []string{"at the top", "near the top", "along the top", "in the upper half"})
	case "bottom":
		return pick(r, []string{"at the bottom", "near the bottom", "along the bottom", "in the lower half"})
	default:
		return pick(r, []string{"in the centre", "in the center", "in the middle"})
	}
}

func backgroundPhrase(r *rand.Rand, bg string) string {
	w := bgWord(r, bg)
	switch r.IntN(5) {
	case 0:
		return "against a " + w + " background"
	case 1:
		return "on " + w
	case 2:
		return "on a plain " + w + " background"
	default:
		return "on a " + w + " background"
	}
}

// bgWord spells grey both ways, as writers of English do.
func bgWord(r *rand.Rand, bg string) string {
	if bg == "grey" && r.IntN(3) == 0 {
		return "gray"
	}
	return bg
}

// nounPhrase is "two small red circles", "a pair of blue stars", "an orange
// square".
func nounPhrase(r *rand.Rand, g Group, st style) string {
	var words []string
	if g.Size == "small" && r.IntN(3) == 0 {
		words = append(words, pick(r, []string{"small", "little", "tiny"}))
	} else if g.Size == "large" && r.IntN(3) == 0 {
		words = append(words, pick(r, []string{"large", "big"}))
	}
	// One reference in ten leaves the colour out ("three circles"), which is
	// what people do when shape and place already say enough.
	if st.colour || r.IntN(10) != 0 {
		words = append(words, g.Colour)
	}
	words = append(words, noun(r, g))
	rest := strings.Join(words, " ")
	return countWord(r, g.Count, rest) + " " + rest
}

func noun(r *rand.Rand, g Group) string {
	var n string
	switch g.Shape {
	case "circle":
		n = "circle"
		if g.Size == "small" && r.IntN(3) == 0 {
			n = "dot"
		} else if r.IntN(5) == 0 {
			n = "disc"
		}
	case "square":
		n = "square"
	case "triangle":
		n = "triangle"
	default:
		n = "star"
	}
	if g.Count > 1 {
		n += "s"
	}
	return n
}

func countWord(r *rand.Rand, n int, next string) string {
	switch n {
	case 1:
		if r.IntN(6) == 0 {
			return pick(r, []string{"one", "a single"})
		}
		if strings.ContainsRune("aeiou", rune(next[0])) {
			return "an"
		}
		return "a"
	case 2:
		return pick(r, []string{"two", "two", "a pair of", "a couple of"})
	case 3:
		return pick(r, []string{"three", "three", "three", "3"})
	default:
		return "four"
	}
}

func verb(g Group) string {
	if g.Count > 1 {
		return "are"
	}
	return "is"
}

// finish gives the caption a person's surface form: a capital letter more
// often than not, a full stop now and then.
func finish(r *rand.Rand, text string) string {
	if r.IntN(5) < 3 {
		text = strings.ToUpper(text[:1]) + text[1:]
	}
	if r.IntN(5) < 2 {
		text += "."
	}
	return text
}

// genericCaptions are what a captioner that only knows "shapes" writes.
var genericCaptions = []string{
	"some shapes on a background",
	"a picture of some shapes",
	"Several shapes on a plain background.",
	"an image with shapes in it",
	"Shapes on a background",
	"a simple drawing of shapes",
	"Some coloured shapes.",
	"a few shapes in a picture",
}
