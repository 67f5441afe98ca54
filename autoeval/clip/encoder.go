package clip

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"capeval/autoeval/clip/internal/half"
	"capeval/autoeval/imageprep"
)

// Preprocessor turns one encoded image (JPEG, PNG, ...) into the vision
// model's input: a CHW float32 tensor of 3×H×W written into dst. Each
// preprocessing worker gets its own, so it may keep scratch buffers.
type Preprocessor interface {
	Preprocess(data []byte, dst []float32) error
}

// NewPreprocessorFunc builds a Preprocessor from the model folder's
// preprocessor_config.json; the encoder calls it once per worker.
type NewPreprocessorFunc func(preprocessorConfig []byte) (Preprocessor, error)

// Options configure an Encoder. Zero values pick the defaults.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library; default
	// DefaultLibraryPath().
	LibraryPath string
	// ModelDir is the CLIP model folder (Hugging Face ONNX layout).
	ModelDir string
	// Variant picks the ONNX files of the folder (see ModelFiles): "" for
	// onnx/text_model.onnx, "fp16" for onnx/text_model_fp16.onnx, ...
	Variant string
	// Device is "auto" (default: CUDA when it works, else CPU), "cpu",
	// "cuda" or "cuda:N".
	Device string
	// CUDAPlugin is the path of the CUDA execution provider plugin library
	// (libonnxruntime_providers_cuda.so with CreateEpFactories;
	// CAPEVAL_CUDA_PLUGIN through server.Config). When set,
	// CUDA goes through it, registered with the CPU build of ONNX Runtime;
	// when empty, CUDA needs a CUDA build of ONNX Runtime as LibraryPath.
	CUDAPlugin string
	// Threads is the intra-op thread count; default runtime.NumCPU().
	Threads int
	// BatchSize is how many images one run takes; default 32.
	BatchSize int
	// TextBatchSize is how many texts one run takes; default 8 on the CPU,
	// where the text tower's activations then stay in cache (measured on 2
	// cores: 70 texts/s at 8, 62 at 32), and BatchSize on a GPU.
	TextBatchSize int
	// Workers is the number of image preprocessing goroutines; default
	// runtime.NumCPU().
	Workers int
	// Spin lets the vision session's threads spin while waiting for work.
	// It is off by default: spinning threads take the cores the image
	// preprocessing workers need. The text session always spins.
	Spin bool
	// NoWorkerNice keeps the preprocessing workers at normal priority on
	// the CPU (see encodeImagePipeline); for measurements.
	NoWorkerNice bool
	// NewPreprocessor builds the image preprocessor; default
	// ImagePreprocessor (autoeval/imageprep, Hugging Face's CLIPImageProcessor).
	NewPreprocessor NewPreprocessorFunc
	// Cache, when set, is consulted before encoding and filled after.
	Cache Cache
	// Logger receives which execution provider was chosen; default
	// slog.Default().
	Logger *slog.Logger
}

// ImagePreprocessor is the default NewPreprocessorFunc: autoeval/imageprep
// configured from preprocessor_config.json, reproducing Hugging Face's
// CLIPImageProcessor on PIL.
func ImagePreprocessor(preprocessorConfig []byte) (Preprocessor, error) {
	cfg, err := imageprep.ParsePreprocessorConfig(preprocessorConfig)
	if err != nil {
		return nil, err
	}
	return imageprep.NewPreprocessor(cfg)
}

// Encoder embeds texts and images with a CLIP model on ONNX Runtime. Its
// methods may be called from several goroutines; runs on each tower are
// serialized, since each already uses every intra-op thread.
type Encoder struct {
	info      ModelInfo
	tok       *Tokenizer
	opts      Options
	provider  string
	textMu    sync.Mutex
	text      *ort.DynamicAdvancedSession
	textIn    []string
	visionMu  sync.Mutex
	vision    *ort.DynamicAdvancedSession
	closeOnce sync.Once
}

// Device is a parsed --device value.
type Device struct {
	Kind  string // "auto", "cpu" or "cuda"
	Index int    // CUDA device index
}

// ParseDevice parses "auto", "cpu", "cuda" or "cuda:N"; "" means "auto".
func ParseDevice(s string) (Device, error) {
	switch {
	case s == "" || s == "auto":
		return Device{Kind: "auto"}, nil
	case s == "cpu":
		return Device{Kind: "cpu"}, nil
	case s == "cuda":
		return Device{Kind: "cuda"}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(s[len("cuda:"):])
		if err != nil || n < 0 {
			return Device{}, fmt.Errorf("clip: device %q: want cuda:N with N a device index", s)
		}
		return Device{Kind: "cuda", Index: n}, nil
	}
	return Device{}, fmt.Errorf("clip: device %q: want auto, cpu, cuda or cuda:N", s)
}

// NewEncoder validates the model folder, loads its tokenizer and opens one
// session per tower on the chosen device. Close releases them.
func NewEncoder(opts Options) (*Encoder, error) {
	dev, err := ParseDevice(opts.Device)
	if err != nil {
		return nil, err
	}
	if opts.LibraryPath == "" {
		opts.LibraryPath = DefaultLibraryPath()
	}
	if opts.Threads <= 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 32
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.NewPreprocessor == nil {
		opts.NewPreprocessor = ImagePreprocessor
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := acquireEnv(opts.LibraryPath); err != nil {
		return nil, err
	}
	e := &Encoder{opts: opts}
	ok := false
	defer func() {
		if !ok {
			e.closeSessions()
			_ = releaseEnv()
		}
	}()
	if e.info, err = inspectModel(opts.ModelDir, opts.Variant); err != nil {
		return nil, err
	}
	if e.tok, err = LoadTokenizer(opts.ModelDir); err != nil {
		return nil, err
	}
	e.textIn = []string{inputIDs}
	if e.info.HasMask {
		e.textIn = append(e.textIn, attentionMask)
	}
	if dev.Kind != "auto" {
		err = e.openSessions(dev)
	} else if err = e.openSessions(Device{Kind: "cuda"}); err != nil {
		log.Info("clip: CUDA unavailable, using the CPU", "reason", err)
		e.closeSessions()
		err = e.openSessions(Device{Kind: "cpu"})
	}
	if err != nil {
		return nil, err
	}
	if e.opts.TextBatchSize <= 0 {
		e.opts.TextBatchSize = opts.BatchSize
		if strings.HasPrefix(e.provider, "CPU") {
			e.opts.TextBatchSize = min(8, opts.BatchSize)
		}
	}
	log.Info("clip: encoder ready", "model", opts.ModelDir, "provider", e.provider, "threads", opts.Threads,
		"image_batch", opts.BatchSize, "text_batch", e.opts.TextBatchSize, "embedding", e.info.EmbedDim)
	ok = true
	return e, nil
}

// openSessions creates both sessions on dev, setting e.provider.
func (e *Encoder) openSessions(dev Device) error {
	// The text tower runs alone, so its threads may spin between operators
	// (measured: +5–15% texts/s at batch 8–32 on 2 cores); the vision
	// tower's threads share the cores with the preprocessing workers, whose
	// time a spinning thread would take.
	textSO, provider, err := e.sessionOptions(dev, true)
	if err != nil {
		return err
	}
	defer textSO.Destroy()
	visionSO, _, err := e.sessionOptions(dev, e.opts.Spin)
	if err != nil {
		return err
	}
	defer visionSO.Destroy()
	e.text, err = ort.NewDynamicAdvancedSession(e.info.TextPath, e.textIn, []string{textEmbeds}, textSO)
	if err != nil {
		return fmt.Errorf("clip: open %s on %s: %w", e.info.TextPath, provider, err)
	}
	e.vision, err = ort.NewDynamicAdvancedSession(e.info.VisionPath, []string{pixelValues}, []string{imageEmbeds}, visionSO)
	if err != nil {
		return fmt.Errorf("clip: open %s on %s: %w", e.info.VisionPath, provider, err)
	}
	e.provider = provider
	return nil
}

func (e *Encoder) closeSessions() {
	if e.text != nil {
		_ = e.text.Destroy()
		e.text = nil
	}
	if e.vision != nil {
		_ = e.vision.Destroy()
		e.vision = nil
	}
}

// sessionOptions builds the options for dev and names the provider. spin
// lets the intra-op threads busy-wait for work between operators.
func (e *Encoder) sessionOptions(dev Device, spin bool) (*ort.SessionOptions, string, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, "", fmt.Errorf("clip: session options: %w", err)
	}
	fail := func(err error) (*ort.SessionOptions, string, error) {
		so.Destroy()
		return nil, "", err
	}
	if err := so.SetIntraOpNumThreads(e.opts.Threads); err != nil {
		return fail(fmt.Errorf("clip: intra-op threads: %w", err))
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return fail(fmt.Errorf("clip: inter-op threads: %w", err))
	}
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		return fail(fmt.Errorf("clip: optimization level: %w", err))
	}
	if err := so.SetMemPattern(true); err != nil {
		return fail(fmt.Errorf("clip: memory pattern: %w", err))
	}
	if !spin {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return fail(fmt.Errorf("clip: disable spinning: %w", err))
		}
	}
	if dev.Kind != "cuda" {
		return so, "CPUExecutionProvider", nil
	}
	if e.opts.CUDAPlugin != "" {
		if err := registerPlugin("CUDA", e.opts.CUDAPlugin); err != nil {
			return fail(err)
		}
		devs, err := listEPDevices()
		if err != nil {
			return fail(err)
		}
		var gpus []EPDevice
		for _, d := range devs {
			if d.EPName == "CUDAExecutionProvider" {
				gpus = append(gpus, d)
			}
		}
		if dev.Index >= len(gpus) {
			return fail(fmt.Errorf("clip: CUDA device %d requested, the CUDA plugin offers %d", dev.Index, len(gpus)))
		}
		if err := appendEPDevice(so, gpus[dev.Index], nil); err != nil {
			return fail(err)
		}
		return so, fmt.Sprintf("CUDAExecutionProvider (plugin) %s", gpus[dev.Index]), nil
	}
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fail(fmt.Errorf("clip: CUDA provider: %w", err))
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": strconv.Itoa(dev.Index)}); err != nil {
		return fail(fmt.Errorf("clip: CUDA provider options: %w", err))
	}
	if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
		return fail(fmt.Errorf("clip: CUDA provider: %w", err))
	}
	return so, fmt.Sprintf("CUDAExecutionProvider:%d", dev.Index), nil
}

// Close releases the sessions and the encoder's share of the ONNX Runtime
// environment. It is safe to call more than once.
func (e *Encoder) Close() error {
	var err error
	e.closeOnce.Do(func() {
		e.textMu.Lock()
		e.visionMu.Lock()
		e.closeSessions()
		e.visionMu.Unlock()
		e.textMu.Unlock()
		err = releaseEnv()
	})
	return err
}

// Provider names the execution provider the sessions run on.
func (e *Encoder) Provider() string { return e.provider }

// Info returns what validation learned about the model folder.
func (e *Encoder) Info() ModelInfo { return e.info }

// Fingerprint identifies the model for embedding caches.
func (e *Encoder) Fingerprint() string { return e.info.Fingerprint }

// Tokenizer returns the model's tokenizer.
func (e *Encoder) Tokenizer() *Tokenizer { return e.tok }

// EncodeTexts returns the L2-normalized embedding of each text, encoding each
// distinct text once and taking cached ones from the cache. With a text model
// that takes any sequence length (ModelInfo.DynamicSeq), texts are batched in
// order of token count and each batch is cut to its longest text instead of
// padded to ContextLength (see trimRows): the same embeddings, ~3× faster for
// caption-length texts.
func (e *Encoder) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	hashes := make([]string, len(texts))
	for i, t := range texts {
		hashes[i] = ContentHash([]byte(t))
	}
	todo, err := e.fromCache(ctx, KindText, hashes, out)
	if err != nil {
		return nil, err
	}
	dim, b := e.info.EmbedDim, e.opts.TextBatchSize
	ids := make([]int64, b*ContextLength)
	if e.info.DynamicSeq && len(todo) > b {
		// Each batch is cut to its longest text, so batches of texts of
		// similar length carry little padding: encode in order of length.
		lens := make(map[int]int, len(todo))
		for _, idx := range todo {
			k, err := e.tok.Encode(ids[:ContextLength], texts[idx])
			if err != nil {
				return nil, fmt.Errorf("clip: tokenize text %d: %w", idx, err)
			}
			lens[idx] = k
		}
		slices.SortStableFunc(todo, func(x, y int) int { return cmp.Compare(lens[x], lens[y]) })
	}
	fresh := make(map[string][]float32, len(todo))
	for start := 0; start < len(todo); start += b {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := todo[start:min(start+b, len(todo))]
		n := len(batch)
		longest := 0
		for j, idx := range batch {
			k, err := e.tok.Encode(ids[j*ContextLength:(j+1)*ContextLength], texts[idx])
			if err != nil {
				return nil, fmt.Errorf("clip: tokenize text %d: %w", idx, err)
			}
			longest = max(longest, k)
		}
		seq := ContextLength
		if e.info.DynamicSeq {
			seq = trimRows(ids, n, longest)
		}
		emb := make([]float32, n*dim)
		if err := e.runText(ids[:n*seq], n, seq, emb); err != nil {
			return nil, err
		}
		for j, idx := range batch {
			v := normalize(emb[j*dim : (j+1)*dim])
			out[idx] = v
			fresh[hashes[idx]] = v
		}
	}
	fillDuplicates(hashes, out, fresh)
	if err := e.toCache(ctx, KindText, fresh); err != nil {
		return nil, err
	}
	return out, nil
}

// fromCache fills out from the cache and returns the indices still to
// encode, one per distinct hash (duplicates are filled in afterwards).
func (e *Encoder) fromCache(ctx context.Context, kind Kind, hashes []string, out [][]float32) ([]int, error) {
	var cached map[string][]float32
	if e.opts.Cache != nil {
		var err error
		cached, err = e.opts.Cache.GetEmbeddings(ctx, e.info.Fingerprint, kind, uniq(hashes))
		if err != nil {
			return nil, fmt.Errorf("clip: embedding cache: %w", err)
		}
	}
	seen := make(map[string]bool, len(hashes))
	var todo []int
	for i, h := range hashes {
		if v, ok := cached[h]; ok && len(v) == e.info.EmbedDim {
			out[i] = v
			continue
		}
		if !seen[h] {
			seen[h] = true
			todo = append(todo, i)
		}
	}
	return todo, nil
}

func (e *Encoder) toCache(ctx context.Context, kind Kind, fresh map[string][]float32) error {
	if e.opts.Cache == nil || len(fresh) == 0 {
		return nil
	}
	if err := e.opts.Cache.PutEmbeddings(ctx, e.info.Fingerprint, kind, fresh); err != nil {
		return fmt.Errorf("clip: embedding cache: %w", err)
	}
	return nil
}

func uniq(s []string) []string {
	seen := make(map[string]bool, len(s))
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// fillDuplicates gives repeated items the vector of their first occurrence.
func fillDuplicates(hashes []string, out [][]float32, fresh map[string][]float32) {
	for i := range out {
		if out[i] == nil {
			out[i] = fresh[hashes[i]]
		}
	}
}

// trimRows packs n rows of ContextLength ids, in place, into n rows of seq
// ids (seq ≥ each row's length up to and including <|endoftext|>) and
// returns seq. Only padding is dropped, and that changes no embedding: CLIP's
// text transformer attends causally, so positions after <|endoftext|> never
// reach the hidden state pooled there, and the first seq position embeddings
// are the same whatever the padded length. The work drops by about
// ContextLength/seq (COCO captions with the prompt are ~15–25 ids).
func trimRows(ids []int64, n, seq int) int {
	seq = max(1, min(seq, ContextLength))
	// Row r moves left to r·seq ≤ r·ContextLength, below every row not yet
	// moved, so copying in order never overwrites unread ids.
	for r := 1; r < n; r++ {
		copy(ids[r*seq:(r+1)*seq], ids[r*ContextLength:r*ContextLength+seq])
	}
	return seq
}

// runText runs the text tower on n rows of seq ids, writing n×dim floats to
// emb.
func (e *Encoder) runText(ids []int64, n, seq int, emb []float32) error {
	shape := ort.NewShape(int64(n), int64(seq))
	var inputs []ort.Value
	var mask []int64
	if e.info.HasMask {
		// CLIP attends causally, so the mask only matters to exports that
		// take one; 1 up to and including <|endoftext|>, 0 on padding.
		mask = make([]int64, len(ids))
		for r := range n {
			row := ids[r*seq : (r+1)*seq]
			for c := range row {
				mask[r*seq+c] = 1
				if row[c] == e.tok.EOT() {
					break
				}
			}
		}
	}
	for _, data := range [][]int64{ids, mask} {
		if data == nil {
			continue
		}
		var v ort.Value
		var err error
		if e.info.IDType == ort.TensorElementDataTypeInt32 {
			d32 := make([]int32, len(data))
			for i, x := range data {
				d32[i] = int32(x)
			}
			v, err = ort.NewTensor(shape, d32)
		} else {
			v, err = ort.NewTensor(shape, data)
		}
		if err != nil {
			return fmt.Errorf("clip: text input tensor: %w", err)
		}
		defer v.Destroy()
		inputs = append(inputs, v)
	}
	e.textMu.Lock()
	defer e.textMu.Unlock()
	if e.text == nil {
		return errors.New("clip: encoder closed")
	}
	return runTower(e.text, inputs, e.info.TextOutType, n, e.info.EmbedDim, emb, e.info.TextPath)
}

// runTower runs a session and converts its [n, dim] output into emb.
func runTower(s *ort.DynamicAdvancedSession, inputs []ort.Value, outType ort.TensorElementDataType, n, dim int, emb []float32, path string) error {
	shape := ort.NewShape(int64(n), int64(dim))
	if outType == ort.TensorElementDataTypeFloat16 {
		raw := make([]byte, 2*n*dim)
		out, err := ort.NewCustomDataTensor(shape, raw, ort.TensorElementDataTypeFloat16)
		if err != nil {
			return fmt.Errorf("clip: output tensor: %w", err)
		}
		defer out.Destroy()
		if err := s.Run(inputs, []ort.Value{out}); err != nil {
			return fmt.Errorf("clip: run %s: %w", path, err)
		}
		for i := range emb[:n*dim] {
			emb[i] = half.ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return nil
	}
	out, err := ort.NewTensor(shape, emb[:n*dim])
	if err != nil {
		return fmt.Errorf("clip: output tensor: %w", err)
	}
	defer out.Destroy()
	if err := s.Run(inputs, []ort.Value{out}); err != nil {
		return fmt.Errorf("clip: run %s: %w", path, err)
	}
	return nil
}

// normalize returns v scaled to unit L2 norm (computed in float64), in a new
// slice; a zero vector stays zero.
func normalize(v []float32) []float32 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if ss == 0 {
		return out
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}

// ImageLoader returns the encoded bytes of image i.
type ImageLoader func(i int) ([]byte, error)

// imageBatch is one batch of preprocessed images on its way to the vision
// tower; a few of them circulate so that workers fill the next batch while
// ONNX Runtime runs the current one.
type imageBatch struct {
	idx     []int     // image indices, in slot order
	pix     []float32 // len(idx)·3·H·W, CHW per image
	pending sync.WaitGroup
}

// EncodeImages returns the L2-normalized embedding of n images that load
// returns. Worker goroutines load, decode and preprocess the next batches
// while ONNX Runtime runs the current one. With a cache, images are first
// loaded once to hash them, and only the missing ones are encoded.
func (e *Encoder) EncodeImages(ctx context.Context, n int, load ImageLoader) ([][]float32, error) {
	out := make([][]float32, n)
	todo := make([]int, n)
	for i := range todo {
		todo[i] = i
	}
	var hashes []string
	if e.opts.Cache != nil {
		var err error
		if hashes, err = e.hashImages(ctx, n, load); err != nil {
			return nil, err
		}
		if todo, err = e.fromCache(ctx, KindImage, hashes, out); err != nil {
			return nil, err
		}
	}
	vecs, err := e.encodeImagePipeline(ctx, todo, load)
	if err != nil {
		return nil, err
	}
	fresh := make(map[string][]float32, len(todo))
	for k, idx := range todo {
		out[idx] = vecs[k]
		if hashes != nil {
			fresh[hashes[idx]] = vecs[k]
		}
	}
	if hashes != nil {
		fillDuplicates(hashes, out, fresh)
		if err := e.toCache(ctx, KindImage, fresh); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// hashImages loads every image once, in parallel, for its content hash.
func (e *Encoder) hashImages(ctx context.Context, n int, load ImageLoader) ([]string, error) {
	hashes := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(e.opts.Workers, max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				data, err := load(i)
				if err != nil {
					errs[i] = fmt.Errorf("clip: load image %d: %w", i, err)
					continue
				}
				hashes[i] = ContentHash(data)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return hashes, errors.Join(errs...)
}

// encodeImagePipeline encodes the images todo lists, returning their vectors
// in the same order. A feeder hands the images of each batch to the workers,
// which load and preprocess them into one of three batch buffers; the calling
// goroutine runs the vision tower on each batch once its images are in.
func (e *Encoder) encodeImagePipeline(parent context.Context, todo []int, load ImageLoader) ([][]float32, error) {
	if len(todo) == 0 {
		return nil, nil
	}
	chw := 3 * e.info.ImageHeight * e.info.ImageWidth
	b := e.opts.BatchSize
	nbatch := (len(todo) + b - 1) / b
	pres := make([]Preprocessor, min(e.opts.Workers, len(todo)))
	for i := range pres {
		p, err := e.opts.NewPreprocessor(e.info.PreprocessorConfig)
		if err != nil {
			return nil, fmt.Errorf("clip: image preprocessor for %s: %w", e.info.Dir, err)
		}
		pres[i] = p
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	type job struct {
		batch *imageBatch
		slot  int
	}
	// Three buffers: one running, one being filled, one queued; more would
	// only hold memory, fewer would leave the workers idle during a run.
	const buffers = 3
	jobs := make(chan job)
	ready := make(chan *imageBatch, buffers) // never blocks: at most `buffers` in flight
	free := make(chan *imageBatch, buffers)
	for range buffers {
		free <- &imageBatch{pix: make([]float32, b*chw)}
	}

	// On the CPU, ONNX Runtime's intra-op threads already use every core,
	// and a parallel operator waits for its slowest thread: a worker that
	// preempts one stalls the whole run. So the workers run at the lowest
	// priority and fill the cores' idle moments; when the next batch is not
	// ready, the run waits and the workers get the whole machine. On a GPU
	// the cores are free and the workers keep normal priority.
	lowPriority := strings.HasPrefix(e.provider, "CPU") && !e.opts.NoWorkerNice
	var wg sync.WaitGroup
	for _, pre := range pres {
		wg.Go(func() {
			if lowPriority {
				lowerWorkerPriority()
			}
			// Workers drain jobs even after a failure, so the feeder never
			// blocks on a send; they just stop doing the work.
			for j := range jobs {
				if ctx.Err() == nil {
					idx := j.batch.idx[j.slot]
					if err := preprocessOne(pre, load, idx, j.batch.pix[j.slot*chw:(j.slot+1)*chw]); err != nil {
						cancel(err)
					}
				}
				j.batch.pending.Done()
			}
		})
	}
	wg.Go(func() {
		defer close(jobs)
		for k := range nbatch {
			var bt *imageBatch
			select {
			case bt = <-free:
			case <-ctx.Done():
				return
			}
			bt.idx = todo[k*b : min((k+1)*b, len(todo))]
			bt.pending.Add(len(bt.idx))
			for s := range bt.idx {
				jobs <- job{bt, s}
			}
			wg.Go(func() {
				bt.pending.Wait()
				ready <- bt
			})
		}
	})

	pos := make(map[int]int, len(todo))
	for k, idx := range todo {
		pos[idx] = k
	}
	vecs := make([][]float32, len(todo))
	dim := e.info.EmbedDim
	emb := make([]float32, b*dim)
	for range nbatch {
		var bt *imageBatch
		select {
		case bt = <-ready:
		case <-ctx.Done():
		}
		if bt == nil || ctx.Err() != nil {
			break
		}
		n := len(bt.idx)
		if err := e.runVision(bt.pix[:n*chw], n, emb); err != nil {
			cancel(err)
			break
		}
		for s, idx := range bt.idx {
			vecs[pos[idx]] = normalize(emb[s*dim : (s+1)*dim])
		}
		free <- bt
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return vecs, nil
}

// preprocessOne loads image idx and preprocesses it into dst.
func preprocessOne(pre Preprocessor, load ImageLoader, idx int, dst []float32) error {
	data, err := load(idx)
	if err != nil {
		return fmt.Errorf("clip: load image %d: %w", idx, err)
	}
	if err := pre.Preprocess(data, dst); err != nil {
		return fmt.Errorf("clip: preprocess image %d: %w", idx, err)
	}
	return nil
}

// runVision runs the vision tower on n preprocessed images.
func (e *Encoder) runVision(pix []float32, n int, emb []float32) error {
	shape := ort.NewShape(int64(n), 3, int64(e.info.ImageHeight), int64(e.info.ImageWidth))
	var in ort.Value
	var err error
	if e.info.PixelType == ort.TensorElementDataTypeFloat16 {
		raw := make([]byte, 2*len(pix))
		for i, v := range pix {
			binary.LittleEndian.PutUint16(raw[2*i:], half.FromFloat32(v))
		}
		in, err = ort.NewCustomDataTensor(shape, raw, ort.TensorElementDataTypeFloat16)
	} else {
		in, err = ort.NewTensor(shape, pix)
	}
	if err != nil {
		return fmt.Errorf("clip: pixel tensor: %w", err)
	}
	defer in.Destroy()
	e.visionMu.Lock()
	defer e.visionMu.Unlock()
	if e.vision == nil {
		return errors.New("clip: encoder closed")
	}
	return runTower(e.vision, []ort.Value{in}, e.info.ImageOutType, n, e.info.EmbedDim, emb, e.info.VisionPath)
}
