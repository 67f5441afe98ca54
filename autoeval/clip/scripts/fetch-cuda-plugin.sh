#!/usr/bin/env bash
# Fetches ONNX Runtime's CUDA execution provider as a plugin library, so that a
# GPU can be used with the official CPU build of ONNX Runtime 1.30 that
# `make onnxruntime` provisions (no CUDA build of ONNX Runtime needed).
#
# The npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 ships ONNX
# Runtime 1.29's libonnxruntime_providers_cuda.so (CUDA 13, cuDNN 9), which
# exports the plugin entry points CreateEpFactories/ReleaseEpFactory. It is
# checked against pinned sha256 sums and cached outside the source tree.
#
# Usage: fetch-cuda-plugin.sh [DEST]   (default: $XDG_CACHE_HOME/capeval/onnxruntime-cuda-plugin-0.4.9)
# Then:  capeval ... --device cuda with CAPEVAL_CUDA_PLUGIN=DEST/libonnxruntime_providers_cuda.so
#        (clip.Options.CUDAPlugin), and the CUDA 13 runtime libraries on the
#        loader path: libcudart.so.13, libcublas.so.13, libcublasLt.so.13,
#        libcurand.so.10, cuDNN 9 and the driver's libcuda.so.1. The Python
#        wheels nvidia-cuda-runtime, nvidia-cublas, nvidia-curand and
#        nvidia-cudnn-cu13 carry them: add their lib/ folders to LD_LIBRARY_PATH.
set -euo pipefail

version=0.4.9
pkg=com.github.asus4.onnxruntime.linux-x64-gpu
cache=${XDG_CACHE_HOME:-$HOME/.cache}/capeval
dest=${1:-$cache/onnxruntime-cuda-plugin-$version}
plugin_sha=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037
shared_sha=c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772

if [ -f "$dest/libonnxruntime_providers_cuda.so" ]; then
	echo "CUDA plugin already at $dest/libonnxruntime_providers_cuda.so"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching $pkg@$version from the npm registry (about 180 MB)"
(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
dir=package/Plugins/Linux/x64
tar -xzf "$tmp/$pkg-$version.tgz" -C "$tmp" "$dir/libonnxruntime_providers_cuda.so" "$dir/libonnxruntime_providers_shared.so"
printf '%s  %s\n%s  %s\n' \
	"$plugin_sha" "$tmp/$dir/libonnxruntime_providers_cuda.so" \
	"$shared_sha" "$tmp/$dir/libonnxruntime_providers_shared.so" | sha256sum -c --quiet - \
	|| { echo "CUDA plugin: sha256 mismatch, refusing it" >&2; exit 1; }
mkdir -p "$dest"
# The shared helper library travels with the plugin: the plugin finds it
# beside itself.
mv "$tmp/$dir/libonnxruntime_providers_cuda.so" "$tmp/$dir/libonnxruntime_providers_shared.so" "$dest/"
echo "CUDA plugin at $dest/libonnxruntime_providers_cuda.so"
