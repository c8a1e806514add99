#!/usr/bin/env bash
# The test command: sets up what is missing (scripts/setup.sh), then runs every test, without
# and with the "train" feature (tch + libtorch). Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --train --no-build
# qemu-user runs the int8 check on an emulated AVX2-only CPU without VNNI (tests/int8_cpus.rs),
# whatever CPU this machine has. Debian's package; root installs it, others are told how.
# ffmpeg (and ffprobe) make and read the clips of the video tests (tests/video.rs), which say
# "skipped: no ffmpeg" without it. Both Debian packages the same way.
apt_for() { # apt_for PROGRAM PACKAGE WHAT
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing $2 (Debian) for $3" >&2
    source scripts/retry.sh
    retry "$2 from Debian" sh -c \
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $2 >/dev/null"
  else
    echo "note: $1 not found; $3 needs it (apt-get install $2)" >&2
  fi
}
apt_for qemu-x86_64 qemu-user "the emulated-CPU int8 test"
apt_for ffmpeg ffmpeg "the video tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== cargo test --release (batch side, no libtorch)" >&2
cargo test --release 2>&1 | tee "$log"
echo "== cargo test --release --features train (tch parity, trainer)" >&2
cargo test --release --features train 2>&1 | tee -a "$log"
echo "== the Python wheel: built, installed into a fresh venv, run from an empty folder" >&2
bash scripts/wheel.sh --check
echo "== cargo fmt --check, no import cycles, cargo clippy -D warnings, cargo doc -D warnings" >&2
cargo fmt --all -- --check
python3 scripts/import-cycles.py
cargo clippy --release --all-targets --features train -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps --features train
# One closing line over both test runs.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
