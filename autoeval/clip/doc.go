// Package clip computes CLIPScore and RefCLIPScore (Hessel et al., EMNLP 2021)
// with CLIP encoders exported to ONNX in the Hugging Face layout and run on
// ONNX Runtime. It holds the CLIP BPE tokenizer, model-folder loading and
// validation, the batched text and image encoders (CPU, or CUDA through either
// a CUDA build of ONNX Runtime or the CUDA plugin execution provider), an
// embedding cache interface and the scores themselves.
//
// It is the only package besides its subpackages that imports onnxruntime_go.
package clip
