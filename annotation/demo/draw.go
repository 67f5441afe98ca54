package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
)

// supersample is the number of sub-samples per pixel side used to anti-alias
// shape edges; 4×4 makes edges look drawn rather than stamped.
const supersample = 4

// Render draws s as an RGBA image of Width×Height.
func Render(s Scene) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, Width, Height))
	bg, _ := RGBA(s.Background)
	draw.Draw(img, img.Bounds(), &image.Uniform{C: bg}, image.Point{}, draw.Src)
	for _, g := range s.Groups {
		c, _ := RGBA(g.Colour)
		for _, p := range g.Centres {
			inside := insideFunc(g.Shape, float64(p.X)+0.5, float64(p.Y)+0.5, float64(g.Radius))
			box := image.Rect(p.X-g.Radius-2, p.Y-g.Radius-2, p.X+g.Radius+3, p.Y+g.Radius+3).Intersect(img.Bounds())
			draw.DrawMask(img, box, &image.Uniform{C: c}, image.Point{}, coverage(box, inside), box.Min, draw.Over)
		}
	}
	return img
}

// EncodePNG renders s and returns the PNG bytes.
func EncodePNG(s Scene) ([]byte, error) {
	var buf bytes.Buffer
	// Flat colours compress well at any level; the fastest costs ~7% in size
	// and most of the encoding time, which dominates generation.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, Render(s)); err != nil {
		return nil, fmt.Errorf("demo: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// coverage returns an alpha mask over box whose value at each pixel is the
// fraction of its sub-samples for which inside holds. Only pixels whose four
// corners disagree straddle an edge and are sub-sampled; the others are
// wholly in or out, which makes rendering about ten times cheaper.
func coverage(box image.Rectangle, inside func(x, y float64) bool) *image.Alpha {
	mask := image.NewAlpha(box)
	const n = supersample * supersample
	w, h := box.Dx(), box.Dy()
	corner := make([]bool, (w+1)*(h+1))
	for j := 0; j <= h; j++ {
		for i := 0; i <= w; i++ {
			corner[j*(w+1)+i] = inside(float64(box.Min.X+i), float64(box.Min.Y+j))
		}
	}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			k := (y-box.Min.Y)*(w+1) + (x - box.Min.X)
			c00, c10, c01, c11 := corner[k], corner[k+1], corner[k+w+1], corner[k+w+2]
			if c00 && c10 && c01 && c11 {
				mask.SetAlpha(x, y, color.Alpha{A: 0xff})
				continue
			}
			if !c00 && !c10 && !c01 && !c11 {
				continue
			}
			hits := 0
			for sy := range supersample {
				for sx := range supersample {
					if inside(float64(x)+(float64(sx)+0.5)/supersample, float64(y)+(float64(sy)+0.5)/supersample) {
						hits++
					}
				}
			}
			if hits > 0 {
				mask.SetAlpha(x, y, color.Alpha{A: uint8((hits*255 + n/2) / n)})
			}
		}
	}
	return mask
}

// insideFunc returns the point-in-shape test of a shape centred on (cx, cy)
// with half-extent r.
func insideFunc(shape string, cx, cy, r float64) func(x, y float64) bool {
	switch shape {
	case "square":
		h := r * 0.85 // a square as wide as the circle looks bigger; match areas roughly
		return func(x, y float64) bool { return math.Abs(x-cx) <= h && math.Abs(y-cy) <= h }
	case "triangle":
		return polygon([][2]float64{{cx, cy - r}, {cx + r*0.97, cy + r*0.72}, {cx - r*0.97, cy + r*0.72}})
	case "star":
		pts := make([][2]float64, 0, 10)
		for i := range 10 {
			rad := r
			if i%2 == 1 {
				rad = r * 0.45
			}
			a := -math.Pi/2 + float64(i)*math.Pi/5
			pts = append(pts, [2]float64{cx + rad*math.Cos(a), cy + rad*math.Sin(a)})
		}
		return polygon(pts)
	default: // circle
		return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r }
	}
}

// polygon returns an even-odd point-in-polygon test for a simple polygon.
func polygon(pts [][2]float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		in := false
		for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
			xi, yi, xj, yj := pts[i][0], pts[i][1], pts[j][0], pts[j][1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
		return in
	}
}
