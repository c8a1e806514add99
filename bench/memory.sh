#!/usr/bin/env bash
# Peak memory (RSS) and time of adain-batch on one large content at full size (--content-size 0),
# by megapixels: what the tiled path (--tile, default 512) bounds. Not a test: prints numbers.
# usage: bench/memory.sh [MEGAPIXELS...]   (default 1 4 16 48; 48 MP takes ~5 min on 2 cores)
#        PRECISION=int8 bench/memory.sh ...  (default fp32, the figures in docs/performance.md)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/csv.sh
MPS=("$@"); [ ${#MPS[@]} -gt 0 ] || MPS=(1 4 16 48)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/style"
A=./target/release/adain
$A resize --to mp:0.25 --out "$W/style" datasets/demo/style/great_wave.jpg 2>/dev/null
printf "%-6s %-12s %-10s %-12s %s\n" MP size seconds "peak RSS" "tile"
for mp in "${MPS[@]}"; do
  rm -rf "$W/content" "$W/out"; mkdir -p "$W/content"
  $A resize --to "mp:$mp" --out "$W/content" datasets/demo/content/astronaut.jpg 2>/dev/null
  /usr/bin/time -f "%e %M" -o "$W/time" ./target/release/adain-batch --content "$W/content" --style "$W/style" \
    --alphas 1 --content-size 0 --max-pixels 100000000 --out "$W/out" --quiet ${TILE:+--tile $TILE} \
    --precision "${PRECISION:-fp32}" 2>/dev/null
  read -r secs kb < "$W/time"
  size=$(csv_cols "$W/out/report.csv" content_width content_height | head -n 1 | tr , x)
  printf "%-6s %-12s %-10s %-12s %s\n" "$mp" "$size" "$secs" "$((kb / 1024)) MiB" "${TILE:-512 (default)}"
done
