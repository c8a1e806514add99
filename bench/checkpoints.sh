#!/usr/bin/env bash
# Score a training run's checkpoints on the quality bench's pairs, to choose which one to publish.
# The trainer's validation loss (--select best-loss) and the bench can disagree: in round 3 it
# picked iteration 9,000, which the bench scored below the last checkpoint on SSIM at every alpha.
# Per checkpoint: export its fp32 graphs, stylize the bench pairs at alphas 1, 0.5, 0.1 and 0 at
# the bench's sizes, score them with `adain quality`; then one table of every checkpoint, and,
# for comparison, the published decoder's scores (from bench/quality.sh when it ran here, else
# docs/quality_published.csv) and each checkpoint against them on the frontier.
# The pairs are bench/quality.sh's resized inputs (outputs/quality-bench/inputs); run it first.
# usage: bench/checkpoints.sh RUN_DIR [ITERATION...]   (default: every checkpoint in the run)
# OUT env: working folder (default outputs/checkpoint-bench). About 3 min per checkpoint, 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/pairs.sh
source scripts/csv.sh
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
  bench_stylize "$IN" "$d/out" --models "$d/onnx" --precision fp32
  bench_score "$IN" "$d/out" "iteration $it" "$d/quality.csv" > "$d/quality.txt.tmp"
  mv "$d/quality.txt.tmp" "$d/quality.txt"
  # The images are the bulk (256 PNGs); the scores are what is kept.
  rm -rf "$d/out" "$d/onnx"
done

# The table from the summaries' named columns (scripts/csv.sh), not from the printed tables.
# The published decoder's rows: this machine's bench/quality.sh run, else the committed ones.
published=$BENCH_OUT/adain.summary.csv
[ -f "$published" ] || published=docs/quality_published.csv
{
  for it in "${its[@]}"; do
    csv_cols "$OUT/iter_$it/quality.summary.csv" method alpha scored missing errors style_error content_error ssim
  done
  if [ -f "$published" ]; then
    csv_cols "$published" method alpha scored missing errors style_error content_error ssim
  fi
} | awk -F, 'BEGIN { f = "%-34s %5s %6s %7s %6s %12s %14s %8s\n"
  printf f, "method", "alpha", "scored", "missing", "errors", "style error", "content error", "SSIM" }
  { printf "%-34s %5s %6s %7s %6s %12.4f %14.4f %8.4f\n", $1, $2, $3, $4, $5, $6, $7, $8 }' |
  tee "$OUT/summary.txt"
# Each checkpoint against the published decoder on the frontier (bench_frontier, pairs.sh).
if [ -f "$published" ]; then
  for it in "${its[@]}"; do
    echo "checkpoint $it vs published ($published): $(bench_frontier "$OUT/iter_$it/quality.summary.csv" "$published")"
  done | tee -a "$OUT/summary.txt"
fi
