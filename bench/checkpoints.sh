#!/usr/bin/env bash
# Score a training run's checkpoints on the quality bench's pairs, to choose which one to publish.
# The trainer's validation loss (--select best-loss) and the bench can disagree: in round 3 it
# picked iteration 9,000, which the bench scored below the last checkpoint on SSIM at every alpha.
# Per checkpoint: export its fp32 graphs, stylize the bench pairs at alphas 1, 0.5, 0.1 and 0 at
# the bench's sizes, score them with `adain quality`; then one table of every checkpoint, and,
# for comparison, the published decoder's scores from bench/quality.sh when they are there.
# The pairs are bench/quality.sh's resized inputs (outputs/quality-bench/inputs); run it first.
# usage: bench/checkpoints.sh RUN_DIR [ITERATION...]   (default: every checkpoint in the run)
# OUT env: working folder (default outputs/checkpoint-bench). About 3 min per checkpoint, 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/pairs.sh
RUN=${1:?usage: bench/checkpoints.sh RUN_DIR [ITERATION...]}; shift
OUT=${OUT:-outputs/checkpoint-bench}
IN=$BENCH_OUT/inputs
[ -d "$IN/content" ] && [ -d "$IN/style" ] ||
  { echo "error: $IN/content and $IN/style are missing: run bench/quality.sh first" >&2; exit 1; }
[ -d "$RUN/checkpoints" ] || { echo "error: $RUN/checkpoints: not a training run's folder" >&2; exit 1; }

ckpt() { printf '%s/checkpoints/decoder_iter_%07d.safetensors' "$RUN" "$1"; }
its=("$@")
if [ ${#its[@]} -eq 0 ]; then
  shopt -s nullglob
  for f in "$RUN"/checkpoints/decoder_iter_*.safetensors; do
    f=$(basename "$f" .safetensors); its+=($((10#${f#decoder_iter_})))
  done
  [ ${#its[@]} -gt 0 ] || { echo "error: $RUN/checkpoints holds no decoder checkpoints" >&2; exit 1; }
fi
for it in "${its[@]}"; do
  [ -f "$(ckpt "$it")" ] || { echo "error: $(ckpt "$it"): no checkpoint at iteration $it" >&2; exit 1; }
done

mkdir -p "$OUT"
for it in "${its[@]}"; do
  f=$(ckpt "$it")
  d="$OUT/iter_$it"
  if [ -f "$d/quality.txt" ]; then echo "iteration $it: scored before ($d)" >&2; continue; fi
  echo "iteration $it: export, stylize, score" >&2
  rm -rf "$d"; mkdir -p "$d"
  ./target/release/adain export --decoder "$f" --out "$d/onnx" >&2
  bench_stylize "$IN" "$d/out" --models "$d/onnx"
  bench_score "$IN" "$d/out" "iteration $it" "$d/quality.csv" > "$d/quality.txt.tmp"
  mv "$d/quality.txt.tmp" "$d/quality.txt"
  # The images are the bulk (256 PNGs); the scores are what is kept.
  rm -rf "$d/out" "$d/onnx"
done

published=$BENCH_OUT/adain.txt
{
  for it in "${its[@]}"; do
    tail -n +2 "$OUT/iter_$it/quality.txt"
  done
  if [ -f "$published" ]; then tail -n +2 "$published"; fi
} | awk 'BEGIN { f = "%-34s %5s %6s %7s %6s %12s %14s %8s\n"
  printf f, "method", "alpha", "scored", "missing", "errors", "style error", "content error", "SSIM" }
  { # the label is every field before the last seven
  l = $1; for (i = 2; i <= NF - 7; i++) l = l " " $i
  printf f, l, $(NF - 6), $(NF - 5), $(NF - 4), $(NF - 3), $(NF - 2), $(NF - 1), $NF }' |
  tee "$OUT/summary.txt"
# Each checkpoint against the published decoder on the frontier (bench_frontier, pairs.sh).
if [ -f "$BENCH_OUT/adain.summary.csv" ]; then
  for it in "${its[@]}"; do
    echo "checkpoint $it vs published: $(bench_frontier "$OUT/iter_$it/quality.summary.csv" "$BENCH_OUT/adain.summary.csv")"
  done | tee -a "$OUT/summary.txt"
fi
