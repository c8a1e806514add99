#!/usr/bin/env bash
# Benchmark of adain-batch (not a test): planned mode (each image encoded once, decodes batched)
# against the naive mode (content and style decoded and encoded again for every output, as the
# PyTorch port's test.py does), same outputs, same machine, same run.
# usage: bench/batch.sh [N_CONTENT N_STYLE]   (default 3 3: the design-card workload)
# Inputs are N demo/fetched images resized to exactly 512x512; alphas 0.1,0.5,0.9.
set -euo pipefail
cd "$(dirname "$0")/.."
NC=${1:-3}; NS=${2:-3}
W=outputs/bench/batch-${NC}x${NS}
rm -rf "$W"; mkdir -p "$W/content" "$W/style"
# Inputs: the demo images, then the fetched val split, resized exactly to 512x512 by adain
# itself (the pipeline's own loader and filter).
pick() {
  local files; files=$( (ls datasets/demo/"$1"/*.jpg; ls datasets/full/"$1"/val/*.jpg 2>/dev/null) | head -n "$2")
  [ "$(echo "$files" | wc -l)" -ge "$2" ] || { echo "need $2 $1 images: run datasets/fetch.sh for more than the demo set" >&2; exit 1; }
  # shellcheck disable=SC2086
  ./target/release/adain resize --to 512x512 --out "$W/$1" $files
}
pick content "$NC"; pick style "$NS"
B=./target/release/adain-batch
# fp32 named: the figures in docs/performance.md are fp32 (the CPU default is int8 when its graphs exist).
common=(--content "$W/content" --style "$W/style" --alphas 0.1,0.5,0.9 --content-size 512 --style-size 512 --precision fp32 -q)
echo "== planned ($NC x $NS x 3 at 512x512, $(nproc) cores)"
$B "${common[@]}" --out "$W/planned" 2>&1 | tail -4
echo "== naive (re-encode per output)"
$B "${common[@]}" --out "$W/naive" --naive 2>&1 | tail -4
# Same outputs, byte for byte, and the speed-up.
same=yes; n=0
for f in "$W"/planned/*.jpg; do
  n=$((n + 1)); cmp -s "$f" "$W/naive/$(basename "$f")" || same=no
done
rate() { grep -o '"outputs_per_s": [0-9.e+-]*' "$W/$1/report.summary.json" | cut -d' ' -f2; }
awk -v p="$(rate planned)" -v q="$(rate naive)" -v n="$n" -v same="$same" 'BEGIN {
  printf "planned %.3f outputs/s, naive %.3f outputs/s: speed-up %.2fx; %d outputs, byte-identical: %s\n", p, q, p / q, n, same }'
