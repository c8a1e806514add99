#!/usr/bin/env bash
# Training-throughput benchmark (not a test): adain-train (tch) against the same step in plain
# PyTorch (bench/train_step.py), same machine, same run, 256 px crops, batch 8 by default.
# usage: bench/train.sh [ITERS] [BATCH] [CROP]     (CPU here: each iteration takes seconds)
# The tch run is profiled (--profile): where each step's time goes, stage by stage. PROFILE_FLAGS
# adds adain-train options to it (e.g. "--objective reconstruction" or identity weights).
set -euo pipefail
cd "$(dirname "$0")/.."
IT=${1:-4}; B=${2:-8}; C=${3:-256}
echo "== adain-train (tch), $IT iterations"
rm -rf outputs/bench/train-tch
./target/release/adain-train --content datasets/demo/content --style datasets/demo/style --out outputs/bench/train-tch \
  --iterations "$IT" --batch-size "$B" --crop "$C" --device cpu --log-every 1 --save-every 0 --sample-every 0 -q \
  --sample-content datasets/demo/content/chelsea.jpg --sample-style datasets/demo/style/great_wave.jpg \
  --profile ${PROFILE_FLAGS:-} 2>&1 | grep -E "loader wait|images/s|^profile|^  "
# Mean images/s over the logged iterations, the first (warm-up) excluded.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "images_per_s") c = i; next }
  NR > 2 { s += $c; n++ } END { printf "tch: %.3f images/s (first iteration excluded)\n", s / (n ? n : 1) }' \
  outputs/bench/train-tch/losses.csv
echo "== plain PyTorch step, $IT iterations"
.venv/bin/python bench/train_step.py "$IT" "$B" "$C"
