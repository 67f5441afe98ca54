package clip

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"capeval/autoeval/imageprep"
)

// Files of a CLIP model folder in the Hugging Face ONNX export layout.
const (
	TextModelFile          = "onnx/text_model.onnx"
	VisionModelFile        = "onnx/vision_model.onnx"
	PreprocessorConfigFile = "preprocessor_config.json"
)

// Input and output names the encoders are called with.
const (
	inputIDs      = "input_ids"
	attentionMask = "attention_mask"
	pixelValues   = "pixel_values"
	textEmbeds    = "text_embeds"
	imageEmbeds   = "image_embeds"
)

// ModelFiles returns the ONNX files of a model variant, relative to the
// folder: "" gives TextModelFile and VisionModelFile; another name, such as
// "fp16" or "quantized", gives onnx/text_model_<variant>.onnx and
// onnx/vision_model_<variant>.onnx, as Hugging Face exports name them.
func ModelFiles(variant string) (text, vision string) {
	if variant == "" {
		return TextModelFile, VisionModelFile
	}
	return "onnx/text_model_" + variant + ".onnx", "onnx/vision_model_" + variant + ".onnx"
}

// ErrInvalidModel is wrapped by every model-folder validation error.
var ErrInvalidModel = errors.New("invalid CLIP model")

// ModelInfo is what validation learned about a model folder.
type ModelInfo struct {
	Dir        string
	TextPath   string
	VisionPath string

	IDType       ort.TensorElementDataType // int64 or int32 input_ids
	HasMask      bool                      // text model also takes attention_mask
	DynamicSeq   bool                      // text inputs are [batch, sequence_length]: batches are cut to their longest text
	TextOutType  ort.TensorElementDataType // float or float16
	PixelType    ort.TensorElementDataType // float or float16
	ImageOutType ort.TensorElementDataType
	ImageHeight  int // from preprocessor_config.json's crop size
	ImageWidth   int
	EmbedDim     int

	// PreprocessorConfig is preprocessor_config.json, for the image
	// preprocessor to parse.
	PreprocessorConfig []byte
	// Fingerprint identifies the model for the embedding cache: sha256 over
	// both ONNX files, the tokenizer files and the preprocessor config.
	Fingerprint string
}

func invalid(path, format string, args ...any) error {
	return fmt.Errorf("clip: %s: %w: %s", path, ErrInvalidModel, fmt.Sprintf(format, args...))
}

// InspectModel validates a model folder (variant as in ModelFiles) without
// keeping sessions open. It needs the ONNX Runtime library to read the
// models' inputs and outputs.
func InspectModel(libPath, dir, variant string) (ModelInfo, error) {
	if libPath == "" {
		libPath = DefaultLibraryPath()
	}
	if err := acquireEnv(libPath); err != nil {
		return ModelInfo{}, err
	}
	defer releaseEnv()
	return inspectModel(dir, variant)
}

// inspectModel checks every file of the folder and every input and output
// the encoders use. The caller holds an environment reference.
func inspectModel(dir, variant string) (ModelInfo, error) {
	textFile, visionFile := ModelFiles(variant)
	if variant == "" {
		t, v, ok, err := manifestFiles(dir)
		if err != nil {
			return ModelInfo{}, err
		}
		if ok {
			textFile, visionFile = t, v
		}
	}
	info := ModelInfo{
		Dir:        dir,
		TextPath:   filepath.Join(dir, textFile),
		VisionPath: filepath.Join(dir, visionFile),
	}
	for _, p := range []string{info.TextPath, info.VisionPath, filepath.Join(dir, PreprocessorConfigFile)} {
		if _, err := os.Stat(p); err != nil {
			return ModelInfo{}, invalid(p, "missing (%v)", err)
		}
	}
	ppPath := filepath.Join(dir, PreprocessorConfigFile)
	pp, err := os.ReadFile(ppPath)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("clip: read %s: %w", ppPath, err)
	}
	info.PreprocessorConfig = pp
	if info.ImageHeight, info.ImageWidth, err = cropSize(pp); err != nil {
		return ModelInfo{}, invalid(ppPath, "%v", err)
	}
	if err := inspectText(&info); err != nil {
		return ModelInfo{}, err
	}
	if err := inspectVision(&info); err != nil {
		return ModelInfo{}, err
	}
	for _, name := range tokenizerFiles(dir) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return ModelInfo{}, invalid(dir, "neither tokenizer.json nor vocab.json + merges.txt (%v)", err)
		}
	}
	if info.Fingerprint, err = fingerprint(dir, textFile, visionFile); err != nil {
		return ModelInfo{}, err
	}
	return info, nil
}

func isFloat(t ort.TensorElementDataType) bool {
	return t == ort.TensorElementDataTypeFloat || t == ort.TensorElementDataTypeFloat16
}

func findIO(infos []ort.InputOutputInfo, name string) *ort.InputOutputInfo {
	for i := range infos {
		if infos[i].Name == name {
			return &infos[i]
		}
	}
	return nil
}

func ioNames(infos []ort.InputOutputInfo) []string {
	names := make([]string, len(infos))
	for i := range infos {
		names[i] = infos[i].Name
	}
	return names
}

// dimOK accepts a dynamic dimension (negative) or exactly want.
func dimOK(got int64, want int) bool { return got < 0 || got == int64(want) }

func inspectText(info *ModelInfo) error {
	p := info.TextPath
	ins, outs, err := ort.GetInputOutputInfo(p)
	if err != nil {
		return invalid(p, "ONNX Runtime cannot read it: %v", err)
	}
	ids := findIO(ins, inputIDs)
	if ids == nil {
		return invalid(p, "no input %q (inputs: %q)", inputIDs, ioNames(ins))
	}
	info.DynamicSeq = true
	for _, in := range ins {
		switch in.Name {
		case inputIDs, attentionMask:
			if in.DataType != ort.TensorElementDataTypeInt64 && in.DataType != ort.TensorElementDataTypeInt32 {
				return invalid(p, "input %q is %v, want int64 or int32", in.Name, in.DataType)
			}
			if len(in.Dimensions) != 2 || !dimOK(in.Dimensions[1], ContextLength) {
				return invalid(p, "input %q has shape %v, want [batch, %d]", in.Name, in.Dimensions, ContextLength)
			}
			info.DynamicSeq = info.DynamicSeq && in.Dimensions[1] < 0
		default:
			return invalid(p, "unexpected input %q: a CLIP text model takes %q (and optionally %q)", in.Name, inputIDs, attentionMask)
		}
	}
	info.IDType = ids.DataType
	info.HasMask = findIO(ins, attentionMask) != nil
	out := findIO(outs, textEmbeds)
	if out == nil {
		return invalid(p, "no output %q (outputs: %q)", textEmbeds, ioNames(outs))
	}
	if !isFloat(out.DataType) {
		return invalid(p, "output %q is %v, want float or float16", textEmbeds, out.DataType)
	}
	if len(out.Dimensions) != 2 || out.Dimensions[1] <= 0 {
		return invalid(p, "output %q has shape %v, want [batch, embedding size]", textEmbeds, out.Dimensions)
	}
	info.TextOutType = out.DataType
	info.EmbedDim = int(out.Dimensions[1])
	return nil
}

func inspectVision(info *ModelInfo) error {
	p := info.VisionPath
	ins, outs, err := ort.GetInputOutputInfo(p)
	if err != nil {
		return invalid(p, "ONNX Runtime cannot read it: %v", err)
	}
	if len(ins) != 1 || ins[0].Name != pixelValues {
		return invalid(p, "inputs %q, want exactly %q", ioNames(ins), pixelValues)
	}
	in := ins[0]
	if !isFloat(in.DataType) {
		return invalid(p, "input %q is %v, want float or float16", pixelValues, in.DataType)
	}
	d := in.Dimensions
	if len(d) != 4 || !dimOK(d[1], 3) || !dimOK(d[2], info.ImageHeight) || !dimOK(d[3], info.ImageWidth) {
		return invalid(p, "input %q has shape %v, want [batch, 3, %d, %d] (the crop size of %s)",
			pixelValues, d, info.ImageHeight, info.ImageWidth, PreprocessorConfigFile)
	}
	info.PixelType = in.DataType
	out := findIO(outs, imageEmbeds)
	if out == nil {
		return invalid(p, "no output %q (outputs: %q)", imageEmbeds, ioNames(outs))
	}
	if !isFloat(out.DataType) {
		return invalid(p, "output %q is %v, want float or float16", imageEmbeds, out.DataType)
	}
	if len(out.Dimensions) != 2 || out.Dimensions[1] != int64(info.EmbedDim) {
		return invalid(p, "output %q has shape %v, want [batch, %d] like %s's %q",
			imageEmbeds, out.Dimensions, info.EmbedDim, filepath.Base(info.TextPath), textEmbeds)
	}
	info.ImageOutType = out.DataType
	return nil
}

// cropSize reads the tensor size the preprocessing produces, which CLIP
// needs fixed: the centre crop.
func cropSize(data []byte) (h, w int, err error) {
	cfg, err := imageprep.ParsePreprocessorConfig(data)
	if err != nil {
		return 0, 0, err
	}
	if cfg.CropHeight == 0 {
		return 0, 0, errors.New("no centre crop: CLIP needs a fixed input size (do_center_crop and crop_size)")
	}
	return cfg.CropHeight, cfg.CropWidth, nil
}

// tokenizerFiles lists the tokenizer files the folder holds, in the order
// LoadTokenizer prefers them.
func tokenizerFiles(dir string) []string {
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
		return []string{"tokenizer.json"}
	}
	return []string{"vocab.json", "merges.txt"}
}

// fingerprint hashes what determines a model's embeddings: both graphs, the
// tokenizer and the preprocessing. Each file's digest is framed by its name so
// that moving bytes between files changes the result.
func fingerprint(dir, textFile, visionFile string) (string, error) {
	files := append([]string{textFile, visionFile}, tokenizerFiles(dir)...)
	files = append(files, PreprocessorConfigFile)
	all := sha256.New()
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("clip: fingerprint model: %w", err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("clip: fingerprint %s: %w", name, err)
		}
		fmt.Fprintf(all, "%s\x00%x\n", name, h.Sum(nil))
	}
	return hex.EncodeToString(all.Sum(nil)), nil
}

// ManifestFile is the manifest `capeval models pull` writes last into a
// model folder; its text_model and vision_model name the encoder files of
// the variant that was pulled (onnx/text_model_fp16.onnx, …). It is
// hub.ManifestName; clip reads only these two keys, so it does not import hub.
const ManifestFile = "capeval-model.json"

// manifestFiles reads the encoder files named by the folder's manifest; ok
// is false when the folder has none (a folder copied by hand).
func manifestFiles(dir string) (text, vision string, ok bool, err error) {
	p := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", false, nil
	} else if err != nil {
		return "", "", false, fmt.Errorf("clip: read %s: %w", p, err)
	}
	var m struct {
		TextModel   string `json:"text_model"`
		VisionModel string `json:"vision_model"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return "", "", false, invalid(p, "not valid JSON: %v", err)
	}
	for _, f := range []struct{ key, path string }{{"text_model", m.TextModel}, {"vision_model", m.VisionModel}} {
		if f.path == "" || !filepath.IsLocal(filepath.FromSlash(f.path)) {
			return "", "", false, invalid(p, "%s %q is not a file inside the folder", f.key, f.path)
		}
	}
	return filepath.FromSlash(m.TextModel), filepath.FromSlash(m.VisionModel), true, nil
}
