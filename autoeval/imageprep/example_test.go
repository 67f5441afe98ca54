package imageprep_test

import (
	"fmt"
	"os"
	"path/filepath"

	"capeval/autoeval/imageprep"
)

// A worker keeps one Preprocessor and fills its slots of a batch buffer in
// place.
func ExamplePreprocessor() {
	cfg, err := imageprep.ParsePreprocessorConfig([]byte(`{"size": {"shortest_edge": 224}, "crop_size": 224, "resample": 3}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := imageprep.NewPreprocessor(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	files := []string{"jpeg_640x480.jpg", "png_rgba_320x240.png"}
	h, w := cfg.OutputSize(0, 0)
	batch := make([]float32, len(files)*3*h*w) // NCHW pixel_values
	for i, name := range files {
		data, err := os.ReadFile(filepath.Join("testdata", "images", name))
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := p.Preprocess(data, batch[i*3*h*w:(i+1)*3*h*w]); err != nil {
			fmt.Println(err)
			return
		}
	}
	// The PNG's first red value (JPEG values depend a little on the decoder
	// compiled in).
	fmt.Printf("pixel_values %dx3x%dx%d, image 1 starts with %.4f\n", len(files), h, w, batch[3*h*w])

	err = p.Preprocess([]byte("not an image"), batch[:3*h*w])
	fmt.Println(err)
	// Output:
	// pixel_values 2x3x224x224, image 1 starts with -1.3397
	// imageprep: unknown image format (want JPEG, PNG, GIF or WebP)
}
