#!/usr/bin/env bash
# The main job on what the repo ships: sets up what is missing, then stylizes the 6 demo content
# photos x 6 demo paintings at alphas 0.1, 0.5 and 0.9 with the graphs in onnx/, writing images,
# a contact sheet and a CSV timing report under outputs/demo/. --overwrite: the demo always shows
# what the current graphs make (after a new decoder or `setup.sh --int8`, a resume into the old
# folder would be refused by its run manifest; the whole job takes about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec ./target/release/adain-batch --content datasets/demo/content --style datasets/demo/style \
  --alphas 0.1,0.5,0.9 --grid run --out outputs/demo --overwrite "$@"
