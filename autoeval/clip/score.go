package clip

import (
	"context"
	"fmt"
	"math"
)

// Prefix is the prompt CLIPScore puts before every caption (Hessel et al.,
// 2021, section 3: "A photo depicts"; their code adds the space).
const Prefix = "A photo depicts "

// Metric names, as score reports and JSON keys use them.
const (
	MetricCLIPScore             = "CLIPScore"
	MetricRefCLIPScore          = "RefCLIPScore"
	MetricCLIPScoreTorchmetrics = "CLIPScore-torchmetrics"
)

// clipScoreWeight is Hessel et al.'s w = 2.5, which stretches the cosine
// similarities CLIP typically gives captions (≈0.2–0.4) towards [0, 1].
const clipScoreWeight = 2.5

// Cosine returns the cosine similarity of a and b, computed in float64; it is
// 0 when either is a zero vector.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// CLIPScore is 2.5·max(cos(image, caption), 0), with the caption embedded
// after Prefix.
func CLIPScore(image, caption []float32) float64 {
	return clipScoreWeight * max(Cosine(image, caption), 0)
}

// RefCLIPScore is the harmonic mean of CLIPScore and max(max_r cos(caption,
// r), 0) over the references r. Hessel et al.'s code embeds the references
// exactly like the candidate, prompt prefix included, and so does Score. With
// no references, or when either term is 0, it is 0.
func RefCLIPScore(image, caption []float32, refs [][]float32) float64 {
	clipS := CLIPScore(image, caption)
	best := 0.0
	for _, r := range refs {
		best = max(best, Cosine(caption, r))
	}
	if clipS+best == 0 {
		return 0
	}
	return 2 * clipS * best / (clipS + best)
}

// TorchmetricsCLIPScore is torchmetrics' CLIPScore: max(100·cos, 0), with
// the caption embedded as is (no prompt prefix).
func TorchmetricsCLIPScore(image, caption []float32) float64 {
	return max(100*Cosine(image, caption), 0)
}

// Sample is one candidate caption of one image, with that image's
// references.
type Sample struct {
	Image      int // index of the image, as the loader passed to Score knows it
	Caption    string
	References []string
}

// Metrics selects the scores Score computes.
type Metrics struct {
	CLIPScore             bool
	RefCLIPScore          bool
	TorchmetricsCLIPScore bool
}

// Scores holds per-sample scores (in Sample order) and their corpus means.
// A metric that was not asked for is nil, with mean 0.
type Scores struct {
	CLIPScore             []float64
	RefCLIPScore          []float64
	TorchmetricsCLIPScore []float64
	Mean                  map[string]float64
}

// Score embeds the images (nImages of them, through load) and the captions
// and references, and computes the chosen metrics for every sample. Each
// distinct image and text is encoded once.
func (e *Encoder) Score(ctx context.Context, samples []Sample, nImages int, load ImageLoader, m Metrics) (*Scores, error) {
	for i, s := range samples {
		if s.Image < 0 || s.Image >= nImages {
			return nil, fmt.Errorf("clip: sample %d: image index %d outside [0, %d)", i, s.Image, nImages)
		}
	}
	images, err := e.EncodeImages(ctx, nImages, load)
	if err != nil {
		return nil, err
	}
	// Texts: prefixed captions (and references) for CLIPScore and
	// RefCLIPScore, bare captions for torchmetrics' variant.
	var texts []string
	capAt := make([]int, len(samples))
	bareAt := make([]int, len(samples))
	refAt := make([][]int, len(samples))
	for i, s := range samples {
		if m.CLIPScore || m.RefCLIPScore {
			capAt[i] = len(texts)
			texts = append(texts, Prefix+s.Caption)
		}
		if m.TorchmetricsCLIPScore {
			bareAt[i] = len(texts)
			texts = append(texts, s.Caption)
		}
		if m.RefCLIPScore {
			for _, r := range s.References {
				refAt[i] = append(refAt[i], len(texts))
				texts = append(texts, Prefix+r)
			}
		}
	}
	vecs, err := e.EncodeTexts(ctx, texts)
	if err != nil {
		return nil, err
	}
	out := &Scores{Mean: map[string]float64{}}
	mean := func(name string, v []float64) {
		if len(v) == 0 {
			return
		}
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		out.Mean[name] = sum / float64(len(v))
	}
	if m.CLIPScore {
		out.CLIPScore = make([]float64, len(samples))
		for i, s := range samples {
			out.CLIPScore[i] = CLIPScore(images[s.Image], vecs[capAt[i]])
		}
		mean(MetricCLIPScore, out.CLIPScore)
	}
	if m.RefCLIPScore {
		out.RefCLIPScore = make([]float64, len(samples))
		for i, s := range samples {
			refs := make([][]float32, len(refAt[i]))
			for k, at := range refAt[i] {
				refs[k] = vecs[at]
			}
			out.RefCLIPScore[i] = RefCLIPScore(images[s.Image], vecs[capAt[i]], refs)
		}
		mean(MetricRefCLIPScore, out.RefCLIPScore)
	}
	if m.TorchmetricsCLIPScore {
		out.TorchmetricsCLIPScore = make([]float64, len(samples))
		for i, s := range samples {
			out.TorchmetricsCLIPScore[i] = TorchmetricsCLIPScore(images[s.Image], vecs[bareAt[i]])
		}
		mean(MetricCLIPScoreTorchmetrics, out.TorchmetricsCLIPScore)
	}
	return out, nil
}
