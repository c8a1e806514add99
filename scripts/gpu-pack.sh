#!/usr/bin/env bash
# Packs what scripts/gpu-bench.sh needs on a GPU machine that has no Rust and no internet, into
# .gpu/ (git-ignored; carry it): stripped binaries, the encoder weights, a pre-resized training
# subset (short side 288 px, JPEG q90), the 4 + 4 validation images and, for ONNX Runtime's
# CUDA provider, the onnxruntime-gpu 1.31.1 libraries xz-compressed and split into pieces under 60 MiB
# (.gpu/ort/pieces/*), so each fits one 64 MiB transfer (see docs/gpu.md).
# usage: scripts/gpu-pack.sh [--no-ort]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/retry.sh
mkdir -p .gpu/bin .gpu/models
bash scripts/setup.sh --train
for b in adain adain-batch adain-train; do strip -o .gpu/bin/$b target/release/$b; done
cp models/vgg_normalised.safetensors .gpu/models/
if [ ! -d .gpu/data ]; then
  [ -f datasets/full/manifest.csv ] || bash datasets/fetch.sh
  # The training split at a 288 px shorter side (downscale only), by adain's own loader.
  for kind in content style; do
    target/release/adain resize --to short:288 --quality 90 --out .gpu/data/$kind datasets/full/$kind/train
  done
fi
# The validation pairs of every round since round 2: val contents and styles 9-12 in name order
# (the quality bench uses 1-8), as they are, so each round's validation scores compare.
rm -rf .gpu/val
for kind in content style; do
  mkdir -p .gpu/val/$kind
  ls datasets/full/$kind/val | LC_ALL=C sort | sed -n 9,12p | while read -r f; do
    cp "datasets/full/$kind/val/$f" .gpu/val/$kind/
  done
  [ "$(ls .gpu/val/$kind | wc -l)" = 4 ] || { echo "error: datasets/full/$kind/val has fewer than 12 images" >&2; exit 1; }
done
if [ "${1:-}" != "--no-ort" ] && [ ! -d .gpu/ort/pieces ]; then
  mkdir -p .gpu/ort/pieces .cache/ortgpu
  ls .cache/ortgpu/onnxruntime_gpu-1.31.1-*.whl >/dev/null 2>&1 || \
    retry "onnxruntime-gpu 1.31.1 from the Python package index" \
      .venv/bin/pip download -q --retries 10 --no-deps --only-binary :all: -d .cache/ortgpu onnxruntime-gpu==1.31.1
  (cd .cache/ortgpu && unzip -o -q onnxruntime_gpu-1.31.1-*.whl 'onnxruntime/capi/*.so*')
  tar -C .cache/ortgpu/onnxruntime/capi -cf - libonnxruntime.so.1.31.1 libonnxruntime_providers_shared.so \
    libonnxruntime_providers_cuda.so | xz -T0 -6 | split -b 58M - .gpu/ort/pieces/ort-gpu.tar.xz.
fi
# Sizes; with --no-ort there are no pieces, and du on the missing glob used to make a finished
# pack exit 1.
du -sh .gpu/*
if [ -d .gpu/ort/pieces ]; then du -sh .gpu/ort/pieces/*; fi
