package imageprep

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// DefaultMaxPixels is the default pixel limit. It is Pillow's
// MAX_IMAGE_PIXELS, the size above which PIL itself warns of a decompression
// bomb (about 268 MB once decoded to RGB).
const DefaultMaxPixels = 89_478_485

// ErrUnsupportedConfig is wrapped by ParsePreprocessorConfig and Validate
// when a preprocessor configuration asks for something this package does not
// reproduce (another resampling filter, a missing size, ...).
var ErrUnsupportedConfig = errors.New("imageprep: unsupported preprocessor config")

// Config describes the CLIPImageProcessor steps. A disabled step is expressed
// by neutral values rather than flags, so a Config literal means what it says:
// ShortestEdge and ResizeHeight/ResizeWidth all 0 skip the resize,
// CropHeight/CropWidth 0 skip the centre crop, RescaleFactor 1 skips the
// rescale and Mean 0 / Std 1 skip the normalisation.
type Config struct {
	// ShortestEdge resizes the shorter side to this many pixels, keeping the
	// aspect ratio as Hugging Face's get_resize_output_image_size does
	// (long side = int(ShortestEdge * long / short)).
	ShortestEdge int
	// ResizeHeight and ResizeWidth resize to exactly this size when
	// ShortestEdge is 0 (size {"height", "width"} in the HF config).
	ResizeHeight, ResizeWidth int
	// CropHeight and CropWidth are the centre crop; the output tensor has this
	// size whenever the crop is enabled.
	CropHeight, CropWidth int
	// RescaleFactor multiplies the 8-bit values. HF multiplies in float64 and
	// then rounds to float32, so it is kept as float64 for bit-exact results.
	RescaleFactor float64
	// Mean and Std normalise each channel: (x - Mean) / Std in float32.
	Mean, Std [3]float32
	// MaxPixels refuses images with more pixels than this, read from the
	// header before anything is decoded.
	MaxPixels int
}

// DefaultConfig returns the preprocessing of CLIP ViT-B/32
// (openai/clip-vit-base-patch32): shortest edge 224, centre crop 224×224,
// 1/255, OpenAI's mean and std, and DefaultMaxPixels.
func DefaultConfig() Config {
	return Config{
		ShortestEdge:  224,
		CropHeight:    224,
		CropWidth:     224,
		RescaleFactor: 1.0 / 255,
		Mean:          [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:           [3]float32{0.26862954, 0.26130258, 0.27577711},
		MaxPixels:     DefaultMaxPixels,
	}
}

// Validate reports the first value that cannot work.
func (c Config) Validate() error {
	switch {
	case c.ShortestEdge < 0 || c.ResizeHeight < 0 || c.ResizeWidth < 0:
		return fmt.Errorf("%w: negative resize size", ErrUnsupportedConfig)
	case c.ShortestEdge == 0 && (c.ResizeHeight == 0) != (c.ResizeWidth == 0):
		return fmt.Errorf("%w: resize needs both height and width, got %dx%d", ErrUnsupportedConfig, c.ResizeWidth, c.ResizeHeight)
	case c.CropHeight < 0 || c.CropWidth < 0 || (c.CropHeight == 0) != (c.CropWidth == 0):
		return fmt.Errorf("%w: crop size %dx%d", ErrUnsupportedConfig, c.CropWidth, c.CropHeight)
	case !(c.RescaleFactor > 0) || math.IsInf(c.RescaleFactor, 0):
		return fmt.Errorf("%w: rescale factor %v must be positive (1 disables it)", ErrUnsupportedConfig, c.RescaleFactor)
	case c.MaxPixels <= 0:
		return fmt.Errorf("%w: MaxPixels must be positive", ErrUnsupportedConfig)
	}
	for i, s := range c.Std {
		if s == 0 || math.IsNaN(float64(s)) {
			return fmt.Errorf("%w: std[%d] is %v", ErrUnsupportedConfig, i, s)
		}
	}
	return nil
}

// OutputSize returns the height and width of the tensor that an image of
// w×h pixels becomes. With the crop enabled it does not depend on the image.
func (c Config) OutputSize(w, h int) (outH, outW int) {
	if c.CropHeight > 0 {
		return c.CropHeight, c.CropWidth
	}
	return c.resizeSize(w, h)
}

// resizeSize computes the resized height and width exactly as Hugging Face's
// get_resize_output_image_size(default_to_square=False): the long side is
// truncated, not rounded. float64 division matches Python's true division.
func (c Config) resizeSize(w, h int) (outH, outW int) {
	switch {
	case c.ShortestEdge > 0:
		short, long := w, h
		if w > h {
			short, long = h, w
		}
		newShort := c.ShortestEdge
		newLong := int(float64(c.ShortestEdge*long) / float64(short))
		if w <= h {
			return newLong, newShort
		}
		return newShort, newLong
	case c.ResizeHeight > 0:
		return c.ResizeHeight, c.ResizeWidth
	default:
		return h, w
	}
}

// hfConfig is the subset of a Hugging Face preprocessor_config.json that
// CLIPImageProcessor reads. Pointers tell an absent key from a zero one,
// because HF's defaults apply to absent keys only.
type hfConfig struct {
	DoResize       *bool           `json:"do_resize"`
	Size           json.RawMessage `json:"size"`
	Resample       *int            `json:"resample"`
	DoCenterCrop   *bool           `json:"do_center_crop"`
	CropSize       json.RawMessage `json:"crop_size"`
	DoRescale      *bool           `json:"do_rescale"`
	RescaleFactor  *float64        `json:"rescale_factor"`
	DoNormalize    *bool           `json:"do_normalize"`
	ImageMean      []float64       `json:"image_mean"`
	ImageStd       []float64       `json:"image_std"`
	DoConvertRGB   *bool           `json:"do_convert_rgb"`
	ProcessorClass string          `json:"image_processor_type"`
}

// pilBicubic is PIL.Image.BICUBIC (Resampling.BICUBIC), the only filter this
// package reproduces.
const pilBicubic = 3

// ParsePreprocessorConfig reads a Hugging Face preprocessor_config.json and
// returns the Config that CLIPImageProcessor would apply. Absent keys take
// CLIPImageProcessor's defaults (which are ViT-B/32's). "size" may be an int
// or {"shortest_edge"} or {"height","width"}; "crop_size" an int or
// {"height","width"}. A resample other than 3 (bicubic) is an error wrapping
// ErrUnsupportedConfig. do_convert_rgb is accepted either way: the encoder
// needs three channels, so images are always converted as PIL's
// convert("RGB") does. MaxPixels is DefaultMaxPixels.
func ParsePreprocessorConfig(data []byte) (Config, error) {
	var hf hfConfig
	if err := json.Unmarshal(data, &hf); err != nil {
		return Config{}, fmt.Errorf("imageprep: parse preprocessor config: %w", err)
	}
	cfg := DefaultConfig()
	if hf.Resample != nil && *hf.Resample != pilBicubic {
		return Config{}, fmt.Errorf("%w: resample %d (only 3, PIL bicubic, is implemented)", ErrUnsupportedConfig, *hf.Resample)
	}
	if len(hf.Size) > 0 && string(hf.Size) != "null" {
		se, h, w, err := parseSize(hf.Size, "size", true)
		if err != nil {
			return Config{}, err
		}
		cfg.ShortestEdge, cfg.ResizeHeight, cfg.ResizeWidth = se, h, w
	}
	if hf.DoResize != nil && !*hf.DoResize {
		cfg.ShortestEdge, cfg.ResizeHeight, cfg.ResizeWidth = 0, 0, 0
	}
	if len(hf.CropSize) > 0 && string(hf.CropSize) != "null" {
		se, h, w, err := parseSize(hf.CropSize, "crop_size", false)
		if err != nil {
			return Config{}, err
		}
		if se != 0 {
			return Config{}, fmt.Errorf("%w: crop_size needs height and width", ErrUnsupportedConfig)
		}
		cfg.CropHeight, cfg.CropWidth = h, w
	}
	if hf.DoCenterCrop != nil && !*hf.DoCenterCrop {
		cfg.CropHeight, cfg.CropWidth = 0, 0
	}
	if hf.RescaleFactor != nil {
		cfg.RescaleFactor = *hf.RescaleFactor
	}
	if hf.DoRescale != nil && !*hf.DoRescale {
		cfg.RescaleFactor = 1
	}
	if hf.ImageMean != nil {
		if err := setTriple(&cfg.Mean, hf.ImageMean, "image_mean"); err != nil {
			return Config{}, err
		}
	}
	if hf.ImageStd != nil {
		if err := setTriple(&cfg.Std, hf.ImageStd, "image_std"); err != nil {
			return Config{}, err
		}
	}
	if hf.DoNormalize != nil && !*hf.DoNormalize {
		cfg.Mean, cfg.Std = [3]float32{}, [3]float32{1, 1, 1}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("imageprep: preprocessor config: %w", err)
	}
	return cfg, nil
}

// parseSize decodes HF's size forms. An int means the shortest edge for
// "size" (CLIP's get_size_dict with default_to_square=False) and a square for
// "crop_size".
func parseSize(raw json.RawMessage, key string, intIsShortest bool) (shortest, h, w int, err error) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		if n <= 0 {
			return 0, 0, 0, fmt.Errorf("%w: %s %d", ErrUnsupportedConfig, key, n)
		}
		if intIsShortest {
			return n, 0, 0, nil
		}
		return 0, n, n, nil
	}
	var d struct {
		ShortestEdge *int `json:"shortest_edge"`
		LongestEdge  *int `json:"longest_edge"`
		Height       *int `json:"height"`
		Width        *int `json:"width"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return 0, 0, 0, fmt.Errorf("imageprep: preprocessor config %s: %w", key, err)
	}
	switch {
	case d.LongestEdge != nil:
		return 0, 0, 0, fmt.Errorf("%w: %s.longest_edge", ErrUnsupportedConfig, key)
	case d.ShortestEdge != nil && *d.ShortestEdge > 0:
		return *d.ShortestEdge, 0, 0, nil
	case d.Height != nil && d.Width != nil && *d.Height > 0 && *d.Width > 0:
		return 0, *d.Height, *d.Width, nil
	}
	return 0, 0, 0, fmt.Errorf("%w: %s %s needs shortest_edge or height and width", ErrUnsupportedConfig, key, raw)
}

func setTriple(dst *[3]float32, v []float64, key string) error {
	if len(v) != 3 {
		return fmt.Errorf("%w: %s has %d values, want 3", ErrUnsupportedConfig, key, len(v))
	}
	for i, x := range v {
		// HF builds np.array(mean, dtype=float32): round each to float32.
		dst[i] = float32(x)
	}
	return nil
}
