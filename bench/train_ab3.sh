#!/usr/bin/env bash
# Round-3 training A/B (issue 47; not a test): each arm continues the published decoder
# (--continue-from onnx: its iteration, schedule position and data order; fresh Adam behind a
# 100-iteration warm-up) for the same number of iterations, ITERS (default 800: ~26 min of a
# 2-core AVX-512 CPU at round 9's ~4.2 images/s). Equal iterations, not equal seconds: every arm
# costs the same per step (the knobs add no pass), so the comparison holds even when something
# else shares the CPU; each arm's images/s is printed so the CPU time is visible.
# Every arm is round 9's recipe (128 px crops, bf16 + channels-last, 1,200-crop feature bank,
# identity terms 50/1, --lr 1e-4, style weight 13) with one change:
#   today      nothing (the inverse schedule, uniform style weight 13, alpha 1)
#   layers     --style-layer-weights published (6.4, 12.8, 25.6, 51.2)
#   onecycle   --schedule one-cycle (peak --lr 1e-4 after the warm-up, linear to 0) + --ema 0.999
#   alpha      --train-alpha 0.1-1,one=0.5 (half the samples at 1, half uniform in 0.1-1)
#   combo      all three
#   laplacian  onecycle + --laplacian-weight 50 (session 36: the change of objective, on the one
#              knob that helped; 50 puts the term near the content term's size)
# Then each arm's last checkpoint is scored by bench/checkpoints.sh (64 val pairs, alphas 1,
# 0.5, 0.1, 0; against the published decoder on the frontier), and the face check: luma SSIM
# at alpha 0.1 of the demo set's face photos (grace_hopper, astronaut) at full size with its six
# styles, the outputs kept for looking (ARM/faces/).
# usage: bench/train_ab3.sh [OUT=outputs/ab3]   (env: ITERS=800 ARMS="today layers ..."
#   TRAIN_BIN=a copy of adain-train, so that rebuilding meanwhile cannot change later arms)
# Needs datasets/full (datasets/fetch.sh) and bench/quality.sh's resized inputs (run it first).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/pairs.sh
source scripts/csv.sh
OUT=${1:-outputs/ab3}
ITERS=${ITERS:-800}
ARMS=${ARMS:-today layers onecycle alpha combo}
[ -d datasets/full/content/train ] || { echo "error: datasets/full missing: run datasets/fetch.sh" >&2; exit 1; }
FROM=$(python3 -c 'import json; print(json.load(open("onnx/training/state.json"))["iteration"])')
END=$((FROM + ITERS))
# The trainer's validation pairs since round 2 (val 9-12; the quality bench uses 1-8).
val() { ls "datasets/full/$1/val" | LC_ALL=C sort | sed -n 9,12p | sed "s|^|datasets/full/$1/val/|"; }
mapfile -t VC < <(val content); mapfile -t VS < <(val style)
mkdir -p "$OUT"

train() {
  local run=$1; shift
  nice -n 10 "${TRAIN_BIN:-./target/release/adain-train}" --content datasets/full/content/train --style datasets/full/style/train \
    --out "$run" --continue-from onnx --iterations "$END" --batch-size 8 --crop 128 --lr 1e-4 --warmup 100 \
    --device cpu --loader resident --feature-cache 1200 --precision bf16 --channels-last \
    --style-weight 13 --identity-pixel-weight 50 --identity-feature-weight 1 \
    --save-every 200 --val-every 0 --log-every 25 --sample-every 0 --select last -q \
    --sample-content "${VC[@]}" --sample-style "${VS[@]}" "$@" >&2
}

last() { printf '%s/checkpoints/iter_%07d.json' "$1" "$END"; }
for arm in $ARMS; do
  run=$OUT/$arm
  if [ -f "$(last "$run")" ]; then echo "$arm: trained before ($run)" >&2; continue; fi
  echo "== $arm: iterations $FROM -> $END from the published decoder" >&2
  resume=(); [ -d "$run/checkpoints" ] && resume=(--resume)
  case "$arm" in
    today) train "$run" "${resume[@]}" ;;
    layers) train "$run" "${resume[@]}" --style-layer-weights published ;;
    onecycle) train "$run" "${resume[@]}" --schedule one-cycle --ema 0.999 ;;
    alpha) train "$run" "${resume[@]}" --train-alpha 0.1-1,one=0.5 ;;
    combo) train "$run" "${resume[@]}" --style-layer-weights published --schedule one-cycle --ema 0.999 \
      --train-alpha 0.1-1,one=0.5 ;;
    laplacian) train "$run" "${resume[@]}" --schedule one-cycle --ema 0.999 --laplacian-weight 50 ;;
    *) echo "error: unknown arm '$arm' (expected today, layers, onecycle, alpha, combo, laplacian)" >&2; exit 2 ;;
  esac
done

# faces DECODER DIR: the face check's outputs and their mean SSIM (adain quality's summary).
FACES=$OUT/faces-inputs
mkdir -p "$FACES/content"
cp datasets/demo/content/grace_hopper.jpg datasets/demo/content/astronaut.jpg "$FACES/content/"
faces() {
  local dec=$1 d=$2
  [ -f "$d/faces.summary.csv" ] && return 0
  rm -rf "$d/onnx" "$d/faces"
  ./target/release/adain export --decoder "$dec" --out "$d/onnx" >&2
  ./target/release/adain-batch --content "$FACES/content" --style datasets/demo/style --alphas 0.1 \
    --content-size 0 --format png --out "$d/faces" --models "$d/onnx" --precision fp32 --quiet >&2
  ./target/release/adain quality --content "$FACES/content" --style datasets/demo/style --outputs "$d/faces" \
    --pattern '{content}_stylized_{style}_alpha{alpha}.png' --alphas 0.1 --label "$(basename "$d")" \
    --report "$d/faces.csv" > "$d/faces.txt"
  rm -rf "$d/onnx"
}

mkdir -p "$OUT/published"
faces onnx/decoder.safetensors "$OUT/published"
for arm in $ARMS; do
  run=$OUT/$arm
  OUT="$run/bench" bash bench/checkpoints.sh "$run" "$END" >&2
  faces "$run/checkpoints/decoder_iter_$(printf %07d "$END").safetensors" "$run"
done

# The table: per arm, images/s, the bench at each alpha, the frontier line, the face SSIM.
{
  echo "round-3 A/B: $ITERS iterations per arm ($FROM -> $END), $(grep -o -w 'avx512_vnni\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  printf '%-10s %8s  %-62s %10s\n' arm "img/s" "style error / SSIM at alpha 1, 0.5, 0.1, 0" "face SSIM"
  for arm in published $ARMS; do
    if [ "$arm" = published ]; then
      sum=${BENCH_OUT}/adain.summary.csv; [ -f "$sum" ] || sum=docs/quality_published.csv; rate=-
    else
      sum=$OUT/$arm/bench/iter_$END/quality.summary.csv
      # This round's rows only: the log carries the published rounds' rows before them.
      rate=$(awk -F, -v from="$FROM" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["iteration"] > from { r += $c["images_per_s"]; n++ } END { printf "%.2f", r / n }' "$OUT/$arm/losses.csv")
    fi
    cells=$(csv_cols "$sum" alpha style_error ssim | awk -F, '{ printf "%.4f/%.4f  ", $2, $3 }')
    face=$(csv_cols "$OUT/$arm/faces.summary.csv" ssim | awk '{ printf "%.4f", $1 }')
    printf '%-10s %8s  %-62s %10s\n' "$arm" "$rate" "$cells" "$face"
  done
  for arm in $ARMS; do
    echo "$arm vs published: $(grep 'vs published' "$OUT/$arm/bench/summary.txt" | sed 's/.*csv): //')"
    [ "$arm" = today ] || [ ! -f "$OUT/today/bench/iter_$END/quality.summary.csv" ] ||
      echo "$arm vs today: $(bench_frontier "$OUT/$arm/bench/iter_$END/quality.summary.csv" \
        "$OUT/today/bench/iter_$END/quality.summary.csv")"
  done
} | tee "$OUT/summary.txt"
