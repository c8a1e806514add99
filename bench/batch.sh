#!/usr/bin/env bash
# Benchmark of adain-batch (not a test): planned mode (each image encoded once, decodes batched)
# against the naive mode (content and style decoded and encoded again for every output, as the
# PyTorch port's test.py does), same outputs, same machine, same run.
# usage: bench/batch.sh [N_CONTENT N_STYLE]   (default 3 3: the design-card workload)
# Inputs are N demo/fetched images resized to exactly 512x512; alphas 0.1,0.5,0.9.
set -euo pipefail
cd "$(dirname "$0")/.."
NC=${1:-3}; NS=${2:-3}
W=outputs/bench/batch-${NC}x${NS}
rm -rf "$W"; mkdir -p "$W/content" "$W/style"
.venv/bin/python - "$W" "$NC" "$NS" <<'PY'
import glob, os, sys
from PIL import Image
w, nc, ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def pick(kind, n):
    files = sorted(glob.glob(f"datasets/demo/{kind}/*.jpg"))
    if len(files) < n:
        files += sorted(glob.glob(f"datasets/full/{kind}/val/*.jpg"))
    if len(files) < n:
        sys.exit(f"need {n} {kind} images: run datasets/fetch.sh for more than the demo set")
    for f in files[:n]:
        Image.open(f).convert("RGB").resize((512, 512), Image.BICUBIC).save(f"{w}/{kind}/{os.path.basename(f)}", quality=95)
pick("content", nc); pick("style", ns)
PY
B=./target/release/adain-batch
common=(--content "$W/content" --style "$W/style" --alphas 0.1,0.5,0.9 --content-size 512 --style-size 512 -q)
echo "== planned ($NC x $NS x 3 at 512x512, $(nproc) cores)"
$B "${common[@]}" --out "$W/planned" 2>&1 | tail -4
echo "== naive (re-encode per output)"
$B "${common[@]}" --out "$W/naive" --naive 2>&1 | tail -4
.venv/bin/python - "$W" <<'PY'
import json, sys, os, filecmp
w = sys.argv[1]
p, n = (json.load(open(f"{w}/{m}/report.summary.json")) for m in ("planned", "naive"))
outs = sorted(f for f in os.listdir(f"{w}/planned") if f.endswith(".jpg"))
same = all(filecmp.cmp(f"{w}/planned/{f}", f"{w}/naive/{f}", shallow=False) for f in outs)
print(f"planned {p['outputs_per_s']:.3f} outputs/s, naive {n['outputs_per_s']:.3f} outputs/s: "
      f"speed-up {p['outputs_per_s'] / n['outputs_per_s']:.2f}x; {len(outs)} outputs, byte-identical: {same}")
PY
