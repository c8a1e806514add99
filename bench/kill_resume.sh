#!/usr/bin/env bash
# Crash-safety check (not part of the test suite: it takes minutes): SIGKILLs adain-batch at
# random moments N times on one output folder, rerunning after each kill, then lets it finish;
# checks that every output is byte-identical to an uninterrupted run, that no temporary file is
# left, and that the last report parses with one row per output.
# usage: bench/kill_resume.sh [N=10] [SEED=1]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}; RANDOM=${2:-1}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
B=./target/release/adain-batch
args=(--content datasets/demo/content --style datasets/demo/style --alphas 0.3,1 --content-size 160
      --style-size 160 --threads 2 --quiet)
$B "${args[@]}" --out "$W/ref" 2>/dev/null
kills=0
for i in $(seq "$N"); do
  $B "${args[@]}" --out "$W/run" 2>/dev/null & pid=$!
  sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
done
$B "${args[@]}" --out "$W/run" 2>/dev/null
fail=0
for f in "$W"/ref/*.jpg; do
  cmp -s "$f" "$W/run/$(basename "$f")" || { echo "differs or missing: $(basename "$f")"; fail=1; }
done
left=$(find "$W/run" -name '.adain-tmp-*' | wc -l)
rows=$(.venv/bin/python -c "import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))" "$W/run/report.csv")
outs=$(ls "$W"/ref/*.jpg | wc -l)
echo "kills: $kills of $N runs; outputs: $outs; temporary files left: $left; report rows: $rows"
[ "$fail" = 0 ] && [ "$left" = 0 ] && [ "$rows" = "$outs" ] && echo "kill/resume: OK" || { echo "kill/resume: FAILED"; exit 1; }
