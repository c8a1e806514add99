#!/usr/bin/env bash
# Video benchmark (issue 51; not a test): flicker and stylization with the default temporal
# smoothing against frame by frame, on two clips made here from a demo photo with ffmpeg:
#   still  4 s of grace_hopper.jpg at 512x384, 24 fps, with temporal sensor noise (alls=8) and
#          a slow exposure drift (+6% brightness over the clip): a tripod shot.
#   pan    4 s of pan and zoom over chelsea.jpg at 512x384, 24 fps.
# Each is stylized with one painting at alpha 1 and 0.5, --temporal-smoothing 0 and the default.
# Flicker (bench/video_metrics.py): mean |out[t] - out[t-1]| / the same for the input. Style
# error: `adain quality` on every 12th frame (input frames as contents, output frames as
# outputs). Then the throughput figure: a 10 s 854x480 clip at 30 fps, default settings; and
# memory: peak RSS of a 2-minute 1920x1080 clip (10 fps, 1,200 frames) against one 1920x1080
# photo, both at --content-size 256 (so the clip takes minutes, not half an hour).
# THROUGHPUT=0 / MEMORY=0 / FLICKER=0 leave a part out.
# usage: bench/video.sh [OUT=outputs/video-bench]   (needs ffmpeg, .venv with numpy)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/csv.sh
OUT=${1:-outputs/video-bench}
BIN=./target/release
PY=${PY:-.venv/bin/python}
STYLE=datasets/demo/style/starry_night.jpg
command -v ffmpeg >/dev/null || { echo "error: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 1; }
mkdir -p "$OUT/clips"
echo "CPU: $(grep -o -w 'avx512_vnni\|avx2\|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ')($(nproc) cores)"
[ -f "$OUT/clips/still.mp4" ] || ffmpeg -v error -y -loop 1 -framerate 24 -i datasets/demo/content/grace_hopper.jpg -t 4 \
  -vf "scale=512:384:force_original_aspect_ratio=increase,crop=512:384,noise=alls=8:allf=t,eq=brightness='0.06*t/4':eval=frame" \
  -c:v libx264 -crf 16 -pix_fmt yuv420p "$OUT/clips/still.mp4"
[ -f "$OUT/clips/pan.mp4" ] || ffmpeg -v error -y -loop 1 -i datasets/demo/content/chelsea.jpg -t 4 \
  -vf "scale=1024:-2,zoompan=z='1+0.004*on':x='iw/2-(iw/zoom/2)+2*on':y='ih/2-(ih/zoom/2)':d=1:s=512x384:fps=24" \
  -c:v libx264 -crf 16 -pix_fmt yuv420p "$OUT/clips/pan.mp4"

if [ "${FLICKER:-1}" = 1 ]; then
for s in 0 0.5; do
  $BIN/adain-batch --content "$OUT/clips" --style "$STYLE" --alphas 1,0.5 --temporal-smoothing "$s" \
    --out "$OUT/s$s" --quiet 2>&1 | grep -E "written|video:"
done

echo "== flicker (1.0 = changes as much as the input)"
args=()
for s in 0 0.5; do for c in still pan; do for a in 1 0.5; do
  args+=("$OUT/clips/$c.mp4" "$OUT/s$s/${c}_stylized_starry_night_alpha$a.mp4")
done; done; done
"$PY" bench/video_metrics.py "${args[@]}" | sed "s|$OUT/||"

echo "== style error and SSIM of every 12th frame (adain quality)"
for c in still pan; do
  f=$OUT/frames/$c; rm -rf "$f"; mkdir -p "$f/in"
  ffmpeg -v error -i "$OUT/clips/$c.mp4" -vf "select='not(mod(n\,12))'" -fps_mode passthrough "$f/in/f%03d.png"
  for s in 0 0.5; do for a in 1 0.5; do
    mkdir -p "$f/s$s"
    ffmpeg -v error -i "$OUT/s$s/${c}_stylized_starry_night_alpha$a.mp4" -vf "select='not(mod(n\,12))'" \
      -fps_mode passthrough "$f/s$s/f%03d_stylized_starry_night_alpha$a.png"
  done
    $BIN/adain quality --content "$f/in" --style "$STYLE" --outputs "$f/s$s" --alphas 1,0.5 \
      --pattern '{content}_stylized_{style}_alpha{alpha}.png' --label "$c s=$s" --report "$f/s$s.csv" >/dev/null
    csv_cols "$f/s$s.summary.csv" alpha style_error ssim | awk -F, -v l="$c s=$s" '{ printf "%s alpha %s: style error %.4f, SSIM %.4f\n", l, $1, $2, $3 }'
  done
done

fi

if [ "${THROUGHPUT:-1}" = 1 ]; then
  echo "== throughput: 10 s of 854x480 at 30 fps, one painting, alpha 1, defaults"
  [ -f "$OUT/clips10/c480.mp4" ] || { mkdir -p "$OUT/clips10"; ffmpeg -v error -y -loop 1 -i datasets/demo/content/city.jpg -t 10 \
    -vf "scale=1708:-2,zoompan=z='1+0.001*on':x='2*on':y=0:d=1:s=854x480:fps=30" -c:v libx264 -pix_fmt yuv420p "$OUT/clips10/c480.mp4"; }
  rm -rf "$OUT/t480"
  /usr/bin/time -f "peak RSS %M KB, %e s" $BIN/adain-batch --content "$OUT/clips10" --style "$STYLE" --out "$OUT/t480" --quiet 2>&1 |
    grep -E "written|video:|peak"
fi

if [ "${MEMORY:-1}" = 1 ]; then
  echo "== memory: a 2-minute 1920x1080 clip (10 fps) against one 1920x1080 photo, --content-size 256"
  m=$OUT/memory; mkdir -p "$m/video" "$m/photo"
  [ -f "$m/video/long1080.mp4" ] || ffmpeg -v error -y -loop 1 -i datasets/demo/content/city.jpg -t 120 \
    -vf "scale=3840:-2,zoompan=z='1+0.0005*on':x='on':y=0:d=1:s=1920x1080:fps=10" -c:v libx264 -preset veryfast \
    -pix_fmt yuv420p "$m/video/long1080.mp4"
  [ -f "$m/photo/one1080.png" ] || ffmpeg -v error -y -i "$m/video/long1080.mp4" -frames:v 1 "$m/photo/one1080.png"
  for kind in photo video; do
    rm -rf "$m/out-$kind"
    /usr/bin/time -f "$kind: peak RSS %M KB, %e s" $BIN/adain-batch --content "$m/$kind" --style "$STYLE" \
      --content-size 256 --out "$m/out-$kind" --quiet 2>&1 | grep -E "video:|peak"
  done
fi
