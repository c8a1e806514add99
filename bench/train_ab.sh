#!/usr/bin/env bash
# Training-objective A/B at equal CPU minutes (not a test): each arm continues the published
# decoder (onnx/decoder.safetensors, fresh Adam behind a 100-iteration warm-up) for SECS seconds
# of training on the same machine, one arm after another, then bench/checkpoints.sh scores each
# arm's last checkpoint on the quality bench's 64 pairs (alphas 1, 0.5, 0.1, 0) beside the
# published decoder. Run nothing else meanwhile: the arms are compared at equal wall time.
# Arms (ARMS env, default all, in this order):
#   paper      the paper's loss (content + 10 x style)
#   identity   the paper's loss + SANet's identity terms (pixel 50, feature 1)
#   recon      reconstruction: the identity terms alone (pixel 50, feature 1)
#   two-phase  recon for SECS/2, then paper + identity for SECS/2 from its result
#   low-style  content + 3 x style + identity terms (a content-preserving decoder)
# usage: bench/train_ab.sh SECS [OUT=outputs/train-ab]     (env: CROP=96 BATCH=8 LR=1e-4)
# Needs datasets/full (datasets/fetch.sh) and bench/quality.sh's resized inputs (run it first).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:?usage: bench/train_ab.sh SECS [OUT]}; OUT=${2:-outputs/train-ab}
CROP=${CROP:-96}; BATCH=${BATCH:-8}; LR=${LR:-1e-4}
ARMS=${ARMS:-paper identity recon two-phase low-style}
[ -d datasets/full/content/train ] || { echo "error: datasets/full missing: run datasets/fetch.sh" >&2; exit 1; }
IDENTITY=(--identity-pixel-weight 50 --identity-feature-weight 1)
# The trainer's validation pairs since round 2: val contents and styles 9-12 in name order (the
# quality bench uses 1-8), in the byte order scripts/gpu-pack.sh packs them in.
val() { ls "datasets/full/$1/val" | LC_ALL=C sort | sed -n 9,12p | sed "s|^|datasets/full/$1/val/|"; }
mapfile -t VC < <(val content); mapfile -t VS < <(val style)
mkdir -p "$OUT"

# train RUN SECS INIT [adain-train options...]: one timed run from decoder INIT; its last
# checkpoint is exported to RUN/onnx.
train() {
  local run=$1 secs=$2 init=$3; shift 3
  rm -rf "$run"
  ./target/release/adain-train --content datasets/full/content/train --style datasets/full/style/train \
    --out "$run" --init-decoder "$init" --iterations 1000000 --time-limit "$secs" \
    --batch-size "$BATCH" --crop "$CROP" --lr "$LR" --warmup 100 --device cpu --loader resident \
    --save-every 0 --val-every 0 --log-every 25 --sample-every 0 --select last -q \
    --sample-content "${VC[@]}" --sample-style "${VS[@]}" "$@" >&2
}

for arm in $ARMS; do
  run=$OUT/$arm
  if [ -f "$run/done" ]; then echo "$arm: trained before ($run)" >&2; continue; fi
  echo "== $arm: $SECS s from the published decoder" >&2
  case "$arm" in
    paper) train "$run" "$SECS" onnx/decoder.safetensors ;;
    identity) train "$run" "$SECS" onnx/decoder.safetensors "${IDENTITY[@]}" ;;
    recon) train "$run" "$SECS" onnx/decoder.safetensors --objective reconstruction "${IDENTITY[@]}" ;;
    two-phase)
      train "$run.phase1" $((SECS / 2)) onnx/decoder.safetensors --objective reconstruction "${IDENTITY[@]}"
      train "$run" $((SECS - SECS / 2)) "$run.phase1/onnx/decoder.onnx" "${IDENTITY[@]}" ;;
    low-style) train "$run" "$SECS" onnx/decoder.safetensors --style-weight 3 "${IDENTITY[@]}" ;;
    *) echo "error: unknown arm '$arm' (expected paper, identity, recon, two-phase, low-style)" >&2; exit 2 ;;
  esac
  touch "$run/done"
done

# Iterations and images/s per arm (two-phase: both phases), then the bench rows.
for arm in $ARMS; do
  for run in "$OUT/$arm.phase1" "$OUT/$arm"; do
    [ -f "$run/losses.csv" ] || continue
    awk -F, -v name="$(basename "$run")" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { it = $c["iteration"]; r += $c["images_per_s"]; n++ }
      END { printf "%-20s %6d iterations (cumulative), %.2f images/s\n", name, it, r / n }' "$run/losses.csv"
  done
done | tee "$OUT/throughput.txt"
for arm in $ARMS; do
  last=$(ls "$OUT/$arm/checkpoints"/decoder_iter_*.safetensors | sort | tail -n 1)
  it=$(basename "$last" .safetensors); it=$((10#${it#decoder_iter_}))
  echo "== $arm (iteration $it)"
  OUT="$OUT/$arm/bench" bash bench/checkpoints.sh "$OUT/$arm" "$it"
done | tee "$OUT/summary.txt"
