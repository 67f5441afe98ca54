package demo

import (
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
)

// Width and Height are the size of every demo image in pixels.
const (
	Width  = 320
	Height = 240
)

// Shapes, colours, backgrounds, sizes and positions a scene is made of. The
// names are the words the captions use, so tests can look for them.
var (
	Shapes      = []string{"circle", "square", "triangle", "star"}
	Colours     = []string{"red", "blue", "green", "yellow", "orange", "purple"}
	Backgrounds = []string{"white", "grey", "black"}
	Sizes       = []string{"small", "large"}
	Positions   = []string{"left", "right", "top", "bottom", "centre"}
)

var palette = map[string]color.RGBA{
	"red":    {R: 0xdc, G: 0x26, B: 0x26, A: 0xff},
	"blue":   {R: 0x25, G: 0x63, B: 0xeb, A: 0xff},
	"green":  {R: 0x16, G: 0xa3, B: 0x4a, A: 0xff},
	"yellow": {R: 0xea, G: 0xb3, B: 0x08, A: 0xff},
	"orange": {R: 0xf9, G: 0x73, B: 0x16, A: 0xff},
	"purple": {R: 0x93, G: 0x33, B: 0xea, A: 0xff},
	"white":  {R: 0xff, G: 0xff, B: 0xff, A: 0xff},
	"grey":   {R: 0xb4, G: 0xb8, B: 0xbf, A: 0xff},
	"black":  {R: 0x11, G: 0x11, B: 0x11, A: 0xff},
}

// RGBA returns the colour a colour or background name is drawn with.
func RGBA(name string) (color.RGBA, bool) {
	c, ok := palette[name]
	return c, ok
}

// Group is a set of identical shapes in one region of the image: "two small
// red circles on the left".
type Group struct {
	Shape    string `json:"shape"`
	Colour   string `json:"colour"`
	Count    int    `json:"count"`
	Size     string `json:"size"`
	Position string `json:"position"`
	// Centres holds where each shape is drawn and Radius its half-extent in
	// pixels; tests use them to check the pixels against the description.
	Centres []image.Point `json:"centres"`
	Radius  int           `json:"radius"`
}

// Scene is what one image shows: one or two groups, 1 to 4 shapes in all, on
// a plain background. Two groups sit on opposite sides (left/right or
// top/bottom) so that every caption's spatial relation is true.
type Scene struct {
	Background string  `json:"background"`
	Groups     []Group `json:"groups"`
}

// Total returns the number of shapes in the scene.
func (s Scene) Total() int {
	n := 0
	for _, g := range s.Groups {
		n += g.Count
	}
	return n
}

// Tags returns the labels used for stratified sampling, sorted: count:N,
// groups:N, shape:X, colour:X, size:X, position:X and background:X.
func (s Scene) Tags() []string {
	tags := []string{
		"count:" + itoa(s.Total()),
		"groups:" + itoa(len(s.Groups)),
		"background:" + s.Background,
	}
	for _, g := range s.Groups {
		tags = append(tags, "shape:"+g.Shape, "colour:"+g.Colour, "size:"+g.Size, "position:"+g.Position)
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

func itoa(n int) string {
	// Counts are 1..4 here; strconv would do, this keeps the intent visible.
	return string(rune('0' + n))
}

// newScene draws a random scene from r.
func newScene(r *rand.Rand) Scene {
	s := Scene{Background: pick(r, Backgrounds)}
	first := Group{Shape: pick(r, Shapes), Colour: pick(r, Colours), Size: pick(r, Sizes)}
	// Two groups in three scenes out of five: relations ("to the left of")
	// are what makes the captions worth scoring.
	if r.IntN(5) < 2 {
		first.Count = 1 + r.IntN(4)
		first.Position = pick(r, Positions)
		s.Groups = []Group{first}
	} else {
		second := Group{Shape: pick(r, Shapes), Colour: pick(r, Colours), Size: pick(r, Sizes)}
		// The groups must differ in what a caption names, or "a red circle to
		// the left of a red circle" would be all a person could write.
		for second.Shape == first.Shape && second.Colour == first.Colour {
			second.Colour = pick(r, Colours)
		}
		first.Count = 1 + r.IntN(3)
		second.Count = 1 + r.IntN(4-first.Count)
		if r.IntN(2) == 0 {
			first.Position, second.Position = "left", "right"
		} else {
			first.Position, second.Position = "top", "bottom"
		}
		if r.IntN(2) == 0 {
			first.Position, second.Position = second.Position, first.Position
		}
		s.Groups = []Group{first, second}
	}
	for i := range s.Groups {
		layout(r, &s.Groups[i])
	}
	return s
}

// region is where a group at position pos may put its shapes.
func region(pos string) image.Rectangle {
	const m = 8 // keep corners free so they always show the background
	switch pos {
	case "left":
		return image.Rect(m, m, Width/2-m, Height-m)
	case "right":
		return image.Rect(Width/2+m, m, Width-m, Height-m)
	case "top":
		return image.Rect(m, m, Width-m, Height/2-m)
	case "bottom":
		return image.Rect(m, Height/2+m, Width-m, Height-m)
	default:
		return image.Rect(Width/5, Height/5, Width-Width/5, Height-Height/5)
	}
}

// layout places g's shapes in cells of its region: a row along the region's
// long side, or a 2×2 grid for four shapes in a narrow region.
func layout(r *rand.Rand, g *Group) {
	reg := region(g.Position)
	cols, rows := g.Count, 1
	if reg.Dy() > reg.Dx() {
		cols, rows = 1, g.Count
	}
	if g.Count == 4 && (cols == 4 && reg.Dx() < 4*60 || rows == 4) {
		cols, rows = 2, 2
	}
	cw, ch := reg.Dx()/cols, reg.Dy()/rows
	want := 14
	if g.Size == "large" {
		want = 28
	}
	radius := min(want, cw/2-6, ch/2-6)
	g.Radius = radius
	g.Centres = g.Centres[:0]
	for i := range g.Count {
		cx := reg.Min.X + (i%cols)*cw + cw/2
		cy := reg.Min.Y + (i/cols)*ch + ch/2
		// A little jitter so that rows do not look machine-ruled, bounded so
		// that a shape never leaves its cell.
		slack := min(cw, ch)/2 - radius - 2
		if slack > 0 {
			cx += r.IntN(2*slack+1) - slack
			cy += r.IntN(2*slack+1) - slack
		}
		g.Centres = append(g.Centres, image.Pt(cx, cy))
	}
}

func pick(r *rand.Rand, from []string) string {
	return from[r.IntN(len(from))]
}
