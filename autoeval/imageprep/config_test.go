package imageprep

import (
	"errors"
	"testing"
)

// clipB32 is the preprocessor_config.json of openai/clip-vit-base-patch32 as
// the Hugging Face hub serves it.
const clipB32 = `{
  "crop_size": 224,
  "do_center_crop": true,
  "do_normalize": true,
  "do_resize": true,
  "feature_extractor_type": "CLIPFeatureExtractor",
  "image_mean": [0.48145466, 0.4578275, 0.40821073],
  "image_std": [0.26862954, 0.26130258, 0.27577711],
  "resample": 3,
  "size": 224
}`

func TestParsePreprocessorConfig(t *testing.T) {
	def := DefaultConfig()
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		json    string
		want    Config
		wantErr error
	}{
		{name: "clip-vit-base-patch32", json: clipB32, want: def},
		{name: "empty object takes CLIP defaults", json: `{}`, want: def},
		{name: "new-style dicts", json: `{"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}, "do_convert_rgb": true}`,
			want: with(func(c *Config) { c.ShortestEdge, c.CropHeight, c.CropWidth = 336, 336, 336 })},
		{name: "height and width resize", json: `{"size": {"height": 256, "width": 192}}`,
			want: with(func(c *Config) { c.ShortestEdge, c.ResizeHeight, c.ResizeWidth = 0, 256, 192 })},
		{name: "no crop", json: `{"do_center_crop": false}`, want: with(func(c *Config) { c.CropHeight, c.CropWidth = 0, 0 })},
		{name: "no resize", json: `{"do_resize": false}`, want: with(func(c *Config) { c.ShortestEdge = 0 })},
		{name: "no rescale", json: `{"do_rescale": false}`, want: with(func(c *Config) { c.RescaleFactor = 1 })},
		{name: "no normalize", json: `{"do_normalize": false}`,
			want: with(func(c *Config) { c.Mean, c.Std = [3]float32{}, [3]float32{1, 1, 1} })},
		{name: "other mean and std", json: `{"image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 1]}`,
			want: with(func(c *Config) { c.Mean, c.Std = [3]float32{0.5, 0.5, 0.5}, [3]float32{0.25, 0.5, 1} })},
		{name: "bilinear is refused", json: `{"resample": 2}`, wantErr: ErrUnsupportedConfig},
		{name: "longest_edge is refused", json: `{"size": {"longest_edge": 224}}`, wantErr: ErrUnsupportedConfig},
		{name: "two means", json: `{"image_mean": [0.5, 0.5]}`, wantErr: ErrUnsupportedConfig},
		{name: "zero std", json: `{"image_std": [0.5, 0, 0.5]}`, wantErr: ErrUnsupportedConfig},
		{name: "negative size", json: `{"size": -3}`, wantErr: ErrUnsupportedConfig},
		{name: "crop without width", json: `{"crop_size": {"height": 224}}`, wantErr: ErrUnsupportedConfig},
		{name: "not json", json: `size=224`},
		{name: "size of the wrong type", json: `{"size": "224"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePreprocessorConfig([]byte(tt.json))
			wantFail := tt.wantErr != nil || tt.want == (Config{})
			switch {
			case wantFail && err == nil:
				t.Fatalf("got %+v, want an error", got)
			case wantFail && tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			case !wantFail && err != nil:
				t.Fatalf("error %v", err)
			case !wantFail && got != tt.want:
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestResizeSize pins HF's get_resize_output_image_size: the long side is
// truncated, never rounded.
func TestResizeSize(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		w, h         int
		wantH, wantW int
	}{
		{640, 480, 224, 298}, // 298.67
		{480, 640, 298, 224},
		{1000, 300, 224, 746}, // 746.67
		{100, 50, 224, 448},
		{224, 224, 224, 224},
		{301, 227, 224, 297}, // 297.02
		{1, 5000, 1120000, 224},
		{333, 250, 224, 298}, // 298.368
	}
	for _, tt := range tests {
		h, w := cfg.resizeSize(tt.w, tt.h)
		if h != tt.wantH || w != tt.wantW {
			t.Errorf("%dx%d resizes to %dx%d, want %dx%d", tt.w, tt.h, w, h, tt.wantW, tt.wantH)
		}
	}
}

// TestBicubic pins Keys' kernel with a = -0.5 at a few points.
func TestBicubic(t *testing.T) {
	tests := []struct{ x, want float64 }{
		{0, 1}, {0.5, 0.5625}, {-0.5, 0.5625}, {1, 0}, {1.5, -0.0625}, {2, 0}, {3, 0},
	}
	for _, tt := range tests {
		if got := bicubic(tt.x); got != tt.want {
			t.Errorf("bicubic(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestFloorHalf(t *testing.T) {
	for _, tt := range []struct{ d, want int }{{0, 0}, {1, 0}, {2, 1}, {-1, -1}, {-2, -1}, {-3, -2}, {75, 37}} {
		if got := floorHalf(tt.d); got != tt.want {
			t.Errorf("floorHalf(%d) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
