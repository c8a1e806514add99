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
RUN=${1:?usage: bench/checkpoints.sh RUN_DIR [ITERATION...]}; shift
OUT=${OUT:-outputs/checkpoint-bench}
IN=outputs/quality-bench/inputs
[ -d "$IN/content" ] && [ -d "$IN/style" ] ||
  { echo "error: $IN/content and $IN/style are missing: run bench/quality.sh first" >&2; exit 1; }
[ -d "$RUN/checkpoints" ] || { echo "error: $RUN/checkpoints: not a training run's folder" >&2; exit 1; }

ckpts=()
if [ $# -gt 0 ]; then
  for it in "$@"; do
    f=$(printf '%s/checkpoints/decoder_iter_%07d.safetensors' "$RUN" "$it")
    [ -f "$f" ] || { echo "error: $f: no checkpoint at iteration $it" >&2; exit 1; }
    ckpts+=("$f")
  done
else
  shopt -s nullglob
  ckpts=("$RUN"/checkpoints/decoder_iter_*.safetensors)
  [ ${#ckpts[@]} -gt 0 ] || { echo "error: $RUN/checkpoints holds no decoder checkpoints" >&2; exit 1; }
fi

mkdir -p "$OUT"
for f in "${ckpts[@]}"; do
  it=$(basename "$f" .safetensors); it=$((10#${it#decoder_iter_}))
  d="$OUT/iter_$it"
  if [ -f "$d/quality.txt" ]; then echo "iteration $it: scored before ($d)" >&2; continue; fi
  echo "iteration $it: export, stylize, score" >&2
  rm -rf "$d"; mkdir -p "$d"
  ./target/release/adain export --decoder "$f" --out "$d/onnx" >&2
  ./target/release/adain-batch --models "$d/onnx" --content "$IN/content" --style "$IN/style" \
    --alphas 1,0.5,0.1,0 --content-size 0 --style-size 0 --format png --out "$d/out" --quiet >&2
  ./target/release/adain quality --content "$IN/content" --style "$IN/style" --outputs "$d/out" \
    --pattern '{content}_stylized_{style}_alpha{alpha}.png' --alphas 1,0.5,0.1,0 \
    --label "iteration $it" --report "$d/quality.csv" > "$d/quality.txt.tmp"
  mv "$d/quality.txt.tmp" "$d/quality.txt"
  # The images are the bulk (256 PNGs); the scores are what is kept.
  rm -rf "$d/out" "$d/onnx"
done

published=outputs/quality-bench/adain.txt
{
  for f in "${ckpts[@]}"; do
    it=$(basename "$f" .safetensors); it=$((10#${it#decoder_iter_}))
    tail -n +2 "$OUT/iter_$it/quality.txt"
  done
  if [ -f "$published" ]; then tail -n +2 "$published"; fi
} | awk 'BEGIN { f = "%-34s %5s %6s %7s %6s %12s %14s %8s\n"
  printf f, "method", "alpha", "scored", "missing", "errors", "style error", "content error", "SSIM" }
  { # the label is every field before the last seven
  l = $1; for (i = 2; i <= NF - 7; i++) l = l " " $i
  printf f, l, $(NF - 6), $(NF - 5), $(NF - 4), $(NF - 3), $(NF - 2), $(NF - 1), $NF }' |
  tee "$OUT/summary.txt"
