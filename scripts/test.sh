#!/usr/bin/env bash
# The test command: sets up what is missing (scripts/setup.sh), then runs every test, without
# and with the "train" feature (tch + libtorch). Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-build
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== cargo test --release (batch side, no libtorch)" >&2
cargo test --release 2>&1 | tee "$log"
echo "== cargo test --release --features train (tch parity, trainer)" >&2
cargo test --release --features train 2>&1 | tee -a "$log"
echo "== cargo fmt --check, cargo clippy -D warnings" >&2
cargo fmt --all -- --check
cargo clippy --release --all-targets --features train -- -D warnings
# One closing line over both test runs.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
