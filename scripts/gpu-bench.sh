#!/usr/bin/env bash
# GPU checks, run on the GPU machine from the repo root with .gpu/ (scripts/gpu-pack.sh) carried
# and results written under $OUT (default outputs/gpu). Phases (arguments, in order given):
#   train-bench  adain-train images/s at 256 px, batch 8: fp32, then bf16 + channels-last
#                (150 iterations each; the loader's wait share is the GPU idle estimate)
#   train SECS   one training run on CUDA for SECS seconds over .gpu/data, exported (env LR, and
#                INIT_DECODER to continue from a decoder with fresh Adam state); brings back
#                decoder.safetensors, losses.csv/png, samples, config.json, eval.csv
#   ort-piece    appends .gpu/ort/pieces/* that are present to /tmp/ort (one piece per call)
#   batch        adain-batch 20 x 20 x 3 alphas at 512 px on CUDA (needs all ort pieces) and CPU
# Needs: python3 with torch 2.11 (its torch/lib is libtorch for tch), an NVIDIA GPU.
set -uo pipefail
OUT=${OUT:-outputs/gpu}
mkdir -p "$OUT"
TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"
B=.gpu/bin
DEVICE=${DEVICE:-cuda}   # DEVICE=cpu dry-runs the script on a machine without a GPU
log() { echo "== $*" | tee -a "$OUT/gpu.log"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$OUT/gpu.log"
demo_c=(datasets/demo/content/astronaut.jpg datasets/demo/content/chelsea.jpg datasets/demo/content/city.jpg)
demo_s=(datasets/demo/style/great_wave.jpg datasets/demo/style/composition_viii.jpg datasets/demo/style/starry_night.jpg datasets/demo/style/moulin_de_la_galette.jpg)

while [ $# -gt 0 ]; do
  case "$1" in
  train-bench)
    for mode in "fp32" "bf16 --channels-last"; do
      p=($mode)
      log "train-bench precision ${p[0]} ${p[1]:-}"
      rm -rf /tmp/tb
      $B/adain-train --content .gpu/data/content --style .gpu/data/style --out /tmp/tb --encoder .gpu/models/vgg_normalised.safetensors \
        --iterations "${BENCH_ITERS:-150}" --batch-size 8 --crop 256 --device "$DEVICE" --precision ${p[0]} ${p[1]:-} --log-every 50 \
        --save-every 0 --sample-every 0 --workers 12 -q --sample-content "${demo_c[0]}" --sample-style "${demo_s[0]}" 2>&1 \
        | grep -E "images/s|loader wait|error" | tee -a "$OUT/gpu.log"
      tail -n 2 /tmp/tb/losses.csv | tee -a "$OUT/gpu.log"
    done
    shift ;;
  train)
    secs=$2; shift 2
    log "train on CUDA for $secs s"
    $B/adain-train --content .gpu/data/content --style .gpu/data/style --out /tmp/run --encoder .gpu/models/vgg_normalised.safetensors \
      --iterations 1000000 --time-limit "$secs" --batch-size 8 --crop 256 --device "$DEVICE" --channels-last --log-every 100 \
      --lr "${LR:-1e-4}" ${INIT_DECODER:+--init-decoder "$INIT_DECODER"} \
      --save-every 2000 --sample-every 0 --workers 12 -q --sample-content "${demo_c[@]}" --sample-style "${demo_s[@]}" 2>&1 \
      | grep -vE '^\s+"|^configuration|^\{|^\}|^\s+\]|^\s+\[' | tee -a "$OUT/gpu.log"
    cp /tmp/run/decoder.safetensors /tmp/run/losses.csv /tmp/run/losses.png /tmp/run/samples_final.png /tmp/run/config.json "$OUT/" ;;
  ort-piece)
    mkdir -p /tmp/ort; for f in .gpu/ort/pieces/*; do [ -f "$f" ] && cp "$f" /tmp/ort/ && log "stored $(basename "$f")"; done; ls -la /tmp/ort; shift ;;
  batch)
    log "assembling onnxruntime-gpu from pieces"
    (cat /tmp/ort/ort-gpu.tar.xz.* | xz -d | tar -C /tmp/ort -xf -) || { log "pieces missing"; exit 1; }
    python3 - <<'PY' > /tmp/bench_inputs.log 2>&1
import os
from PIL import Image
import numpy as np
rng = np.random.default_rng(0)
srcs = sorted(os.listdir(".gpu/data/content"))[:20], sorted(os.listdir(".gpu/data/style"))[:20]
for kind, names in zip(("content", "style"), srcs):
    os.makedirs(f"/tmp/bench/{kind}", exist_ok=True)
    for n in names:
        Image.open(f".gpu/data/{kind}/{n}").convert("RGB").resize((512, 512)).save(f"/tmp/bench/{kind}/{n}", quality=95)
PY
    for prov in cuda cpu; do
      log "adain-batch 20x20x3 at 512 px, provider $prov"
      rm -rf /tmp/bout-$prov
      ORT_DYLIB_PATH=/tmp/ort/libonnxruntime.so.1.31.1 timeout -s INT "${BATCH_TIMEOUT:-150}" $B/adain-batch --content /tmp/bench/content --style /tmp/bench/style \
        --alphas 0.1,0.5,0.9 --models /tmp/run/onnx --out /tmp/bout-$prov --provider $prov --batch-size 12 -q 2>&1 | tee -a "$OUT/gpu.log"
      cp /tmp/bout-$prov/report.summary.json "$OUT/batch-$prov.summary.json" 2>/dev/null
      head -3 /tmp/bout-$prov/report.csv >> "$OUT/gpu.log" 2>/dev/null
      [ "$prov" = cpu ] && break
    done
    shift ;;
  *) echo "unknown phase $1" >&2; exit 2 ;;
  esac
done
