#!/usr/bin/env bash
# Peak memory (RSS) and time of adain-batch on one large content at full size (--content-size 0),
# by megapixels: what the tiled path (--tile, default 512) bounds. Not a test: prints numbers.
# usage: bench/memory.sh [MEGAPIXELS...]   (default 1 4 16 48; 48 MP takes ~5 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
MPS=("$@"); [ ${#MPS[@]} -gt 0 ] || MPS=(1 4 16 48)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/style"
.venv/bin/python bench/resize_image.py datasets/demo/style/great_wave.jpg 0.25 "$W/style/wave.jpg"
printf "%-6s %-12s %-10s %-12s %s\n" MP size seconds "peak RSS" "tile"
for mp in "${MPS[@]}"; do
  rm -rf "$W/content" "$W/out"; mkdir -p "$W/content"
  .venv/bin/python bench/resize_image.py datasets/demo/content/astronaut.jpg "$mp" "$W/content/photo.jpg"
  size=$(.venv/bin/python -c "from PIL import Image; im = Image.open('$W/content/photo.jpg'); print(f'{im.width}x{im.height}')")
  /usr/bin/time -f "%e %M" -o "$W/time" ./target/release/adain-batch --content "$W/content" --style "$W/style" \
    --alphas 1 --content-size 0 --max-pixels 100000000 --out "$W/out" --quiet ${TILE:+--tile $TILE} 2>/dev/null
  read -r secs kb < "$W/time"
  printf "%-6s %-12s %-10s %-12s %s\n" "$mp" "$size" "$secs" "$((kb / 1024)) MiB" "${TILE:-512 (default)}"
done
