#!/usr/bin/env bash
# Builds the Python wheel (issue 49): the `adain` and `adain-batch` binaries, the graphs
# adain-batch runs (fp32 and int8, exported from the committed weights) as data installed under
# <prefix>/share/adain/onnx, and a dependency on PyPI's onnxruntime, whose library the binaries
# find in the same environment. `pip install target/wheels/adain-*.whl` then needs no other
# step (docs/setup.md).
# usage: scripts/wheel.sh [--check]
#   --check  also installs the wheel into a fresh venv and runs adain-batch on two demo images
#            from an empty folder outside the checkout (what scripts/test.sh runs).
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=0
for a in "$@"; do
  case "$a" in --check) CHECK=1 ;; *) echo "wheel.sh: unknown option '$a' (expected --check)" >&2; exit 2 ;; esac
done
log() { echo "[wheel] $*" >&2; }
source scripts/retry.sh
MATURIN=maturin==1.9.6

# The graphs: the int8 set-up tier makes them (and the quantiser it needs).
bash scripts/setup.sh --int8 --no-build >&2
data=target/wheel-data/data/share/adain/onnx
rm -rf target/wheel-data
mkdir -p "$data"
# What adain-batch opens: the fp32 graphs (the split pipeline; the fused adain_decoder.onnx and
# stylize.onnx would add 46 MB for a 10% faster --precision fp32) and the int8 encoder and
# decoder, its CPU default. The decoder's weights and provenance ride along for `adain info`.
for f in encoder.onnx adain.onnx decoder.onnx adain_masked.onnx encoder.int8.onnx decoder.int8.onnx \
         decoder.safetensors decoder.provenance.json; do
  cp "onnx/$f" "$data/$f"
done

# maturin in its own venv (a build tool, not a project dependency).
venv=.cache/maturin
if [ ! -x "$venv/bin/maturin" ]; then
  log "installing $MATURIN into $venv"
  python3 -m venv "$venv"
  retry "$MATURIN from PyPI" "$venv/bin/pip" install -q --retries 10 "$MATURIN"
fi
rm -f target/wheels/adain-*.whl
T0=$(date +%s)
"$venv/bin/maturin" build --release --locked -o target/wheels >&2
whl=$(ls target/wheels/adain-*.whl)
log "built $whl ($(du -h "$whl" | cut -f1)) in $(( $(date +%s) - T0 )) s"
[ $CHECK = 1 ] || { echo "$whl"; exit 0; }

# The check: a fresh venv outside the checkout, the wheel (ONNX Runtime comes from PyPI), then
# adain-batch from an empty folder with nothing set that names a place.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
T0=$(date +%s)
retry "the wheel and onnxruntime from PyPI" "$tmp/venv/bin/pip" install -q --retries 10 "$whl"
log "installed into a fresh venv in $(( $(date +%s) - T0 )) s ($(du -sh "$tmp/venv" | cut -f1) with its dependencies)"
mkdir "$tmp/work"
cp datasets/demo/content/chelsea.jpg "$tmp/work/"
cp datasets/demo/style/great_wave.jpg "$tmp/work/"
(
  cd "$tmp/work"
  env -u ADAIN_HOME -u ORT_DYLIB_PATH -u ADAIN_PYTHON -u XDG_DATA_HOME HOME="$tmp/home" \
    "$tmp/venv/bin/adain-batch" --content chelsea.jpg --style great_wave.jpg --alphas 1,0.5 --out out >&2
  env -u ADAIN_HOME -u ORT_DYLIB_PATH HOME="$tmp/home" "$tmp/venv/bin/adain" info >&2
  n=$(ls out/*.jpg | wc -l)
  [ "$n" = 2 ] || { echo "wheel check: expected 2 outputs, got $n" >&2; exit 1; }
  grep -q '"precision": "int8"' out/report.summary.json \
    || { echo "wheel check: the installed adain-batch did not run int8 by default" >&2; exit 1; }
  grep -q "$tmp/venv" out/report.summary.json \
    || { echo "wheel check: ONNX Runtime or the graphs did not come from the venv" >&2; exit 1; }
)
log "check passed: pip install + adain-batch from an empty folder"
