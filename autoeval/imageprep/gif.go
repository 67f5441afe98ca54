package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
)

// decodeGIF returns the first frame of a GIF as PIL opens it, which differs
// from image/gif's first frame in two ways:
//   - PIL's image has the logical screen's size; the area outside the first
//     frame holds the frame's transparent index if it has one, else index 0;
//   - image/gif replaces the transparent palette entry by transparent black,
//     while PIL keeps the stored colour (convert("RGB") ignores
//     transparency), so the palette is read from the file again.
func decodeGIF(data []byte, screenW, screenH int, buf []uint8) (rgbImage, error) {
	img, err := gif.Decode(bytes.NewReader(data))
	if err != nil {
		return rgbImage{}, fmt.Errorf("imageprep: decode gif: %w", err)
	}
	frame, ok := img.(*image.Paletted)
	if !ok {
		return rgbImage{}, fmt.Errorf("imageprep: decode gif: unexpected %T", img)
	}
	pal, transparent, err := gifFirstPalette(data)
	if err != nil {
		return rgbImage{}, fmt.Errorf("imageprep: decode gif: %w", err)
	}
	var lut [256][3]uint8 // indexes past the palette stay black
	for i := 0; i < len(pal)/3 && i < 256; i++ {
		lut[i] = [3]uint8{pal[3*i], pal[3*i+1], pal[3*i+2]}
	}
	dst := rgbImage{Pix: grow(buf, screenW*screenH*3), W: screenW, H: screenH, Stride: 3 * screenW}
	fill := lut[0]
	if transparent >= 0 {
		fill = lut[transparent]
	}
	r := frame.Rect.Intersect(image.Rect(0, 0, screenW, screenH))
	for y := 0; y < screenH; y++ {
		out := dst.Pix[y*dst.Stride : (y+1)*dst.Stride]
		for x := 0; x < screenW; x++ {
			out[3*x], out[3*x+1], out[3*x+2] = fill[0], fill[1], fill[2]
		}
		if y < r.Min.Y || y >= r.Max.Y {
			continue
		}
		src := frame.Pix[frame.PixOffset(r.Min.X, y):]
		for x := r.Min.X; x < r.Max.X; x++ {
			p := lut[src[x-r.Min.X]]
			out[3*x], out[3*x+1], out[3*x+2] = p[0], p[1], p[2]
		}
	}
	return dst, nil
}

var errGIFStructure = errors.New("malformed block structure")

// gifFirstPalette walks the GIF blocks up to the first image descriptor and
// returns the colour table that frame uses (its local table, else the
// global one) as RGB triplets, and the transparent index of its graphic
// control extension, or -1.
func gifFirstPalette(data []byte) (pal []byte, transparent int, err error) {
	transparent = -1
	if len(data) < 13 {
		return nil, 0, errGIFStructure
	}
	pos := 13
	if flags := data[10]; flags&0x80 != 0 {
		n := 3 << ((flags & 7) + 1)
		if pos+n > len(data) {
			return nil, 0, errGIFStructure
		}
		pal = data[pos : pos+n]
		pos += n
	}
	for pos < len(data) {
		switch data[pos] {
		case 0x21: // extension
			if pos+2 > len(data) {
				return nil, 0, errGIFStructure
			}
			label := data[pos+1]
			pos += 2
			if label == 0xf9 && pos+5 <= len(data) && data[pos] == 4 {
				if data[pos+1]&1 != 0 {
					transparent = int(data[pos+4])
				} else {
					transparent = -1
				}
			}
			// Skip the data sub-blocks up to the zero-length terminator.
			for {
				if pos >= len(data) {
					return nil, 0, errGIFStructure
				}
				n := int(data[pos])
				pos += 1 + n
				if n == 0 {
					break
				}
			}
		case 0x2c: // image descriptor
			if pos+10 > len(data) {
				return nil, 0, errGIFStructure
			}
			if flags := data[pos+9]; flags&0x80 != 0 {
				n := 3 << ((flags & 7) + 1)
				if pos+10+n > len(data) {
					return nil, 0, errGIFStructure
				}
				pal = data[pos+10 : pos+10+n]
			}
			return pal, transparent, nil
		default:
			return nil, 0, errGIFStructure
		}
	}
	return nil, 0, errGIFStructure
}
