#!/usr/bin/env bash
# The test command: sets up what is missing (scripts/setup.sh), then runs every test, without
# and with the "train" feature (tch + libtorch). Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-build
echo "== cargo test --release (batch side, no libtorch)" >&2
cargo test --release
echo "== cargo test --release --features train (tch parity, trainer)" >&2
cargo test --release --features train
