#!/usr/bin/env bash
# GPU work, run on the GPU machine from the repo root with .gpu/ (scripts/gpu-pack.sh) carried
# and results written under $OUT (default outputs/gpu). Phases (arguments, in order given):
#   throughput   adain-train images/s at 256 px (batch $BATCH, default 8): fp32 with the thread
#                loader (session 1's path), then bf16 + channels-last + the GPU-resident loader;
#                then the same step in plain PyTorch (bench/train_step.py), fp32 and bf16 autocast
#   ab SECS      identity-term A/B: two runs continuing the published decoder (onnx/) for SECS
#                seconds each, same seed, identity terms off vs $IDENTITY (default 1) x SANet's
#                weights (pixel 50, feature 1), with
#                validation every 250 iterations; prints each run's best validation scores
#   train SECS   continues the published decoder (onnx/: decoder, moments when kept, iteration,
#                schedule) for SECS seconds (bf16, channels-last, resident data, validation every
#                500 it, the best-validated checkpoint kept) and publishes the result into
#                $OUT/publish (decoder.safetensors, training/{state.json,losses.csv,losses.png};
#                no Adam moments, as onnx/ keeps none in git): copy that over onnx/ and commit it
#   ort-piece    appends .gpu/ort/pieces/* that are present to /tmp/ort (one piece per call)
#   batch        adain-batch 20 x 20 x 3 alphas at 512 px (fused graph, IO binding): CUDA fp32
#                and fp16 (needs all ort pieces), then the CPU provider of the same machine; ms per
#                output end to end (decode and JPEG writing included) and the stage split.
#                Dry run here: DEVICE=cpu ORT_LIB=<CPU libonnxruntime.so> BATCH_N=3
# Env: BATCH, LR (default 1e-4), IDENTITY (train: default 0), CLIP (default 0), SELECT (train:
# best-loss or last, adain-train --select; default best-loss), DEVICE=cpu for a
# dry run without a GPU (tiny settings: add ITERS=4).
# Needs: python3 with torch 2.11 (its torch/lib is libtorch for tch), an NVIDIA GPU.
set -uo pipefail
source "$(dirname "$0")/csv.sh"
OUT=${OUT:-outputs/gpu}
mkdir -p "$OUT"
TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"
B=${BIN:-.gpu/bin}  # BIN=target/release for a dry run here
DEVICE=${DEVICE:-cuda}   # DEVICE=cpu dry-runs the script on a machine without a GPU
BATCH=${BATCH:-8}
ITERS=${ITERS:-1000000}  # the time limits end the runs; ITERS bounds a dry run
CROP=${CROP:-256}
log() { echo "== $*" | tee -a "$OUT/gpu.log"; }
# SANet's identity weights (pixel 50, feature 1) times $1, as adain-train flags.
identity_flags() { echo "--identity-pixel-weight $(awk "BEGIN { print 50 * $1 }") --identity-feature-weight $1"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$OUT/gpu.log"
# Validation and sample pairs: the ones every round since round 2 used (.gpu/val, packed by
# gpu-pack.sh), so the published state's validation scores compare across rounds.
val_c=(.gpu/val/content/*)
val_s=(.gpu/val/style/*)
[ -f "${val_c[0]}" ] && [ -f "${val_s[0]}" ] || { echo "error: no .gpu/val images; run scripts/gpu-pack.sh" >&2; exit 1; }
quiet() { grep -vE '^\s+"|^configuration|^\{|^\}|^\s+\]|^\s+\['; }
# One adain-train over .gpu/data: train OUTDIR SECS [flags...]
train() {
  local dir=$1 secs=$2; shift 2
  rm -rf "$dir"
  $B/adain-train --content .gpu/data/content --style .gpu/data/style --out "$dir" --encoder .gpu/models/vgg_normalised.safetensors \
    --iterations "$ITERS" --time-limit "$secs" --batch-size "$BATCH" --crop "$CROP" --device "$DEVICE" --lr "${LR:-1e-4}" \
    --clip-grad-norm "${CLIP:-0}" --workers 12 -q --sample-content "${val_c[@]}" --sample-style "${val_s[@]}" "$@" 2>&1 \
    | quiet | tee -a "$OUT/gpu.log"
}

while [ $# -gt 0 ]; do
  case "$1" in
  throughput)
    for mode in "fp32 --loader threads" "bf16 --channels-last --loader resident"; do
      log "throughput: adain-train --precision $mode, batch $BATCH, ${BENCH_ITERS:-150} iterations"
      ITERS=${BENCH_ITERS:-150} train /tmp/tb 0 --precision $mode --log-every 50 --save-every 0 \
        --sample-every 0 --val-every 0 >/dev/null
      csv_cols /tmp/tb/losses.csv iteration content style images_per_s | tail -n 1 |
        sed 's/^/iteration,content,style,images_per_s: /' | tee -a "$OUT/gpu.log"
    done
    for flags in "" "--bf16 --channels-last"; do
      log "throughput: plain PyTorch step $flags"
      python3 bench/train_step.py 30 "$BATCH" "$CROP" --device "$DEVICE" --encoder .gpu/models/vgg_normalised.safetensors $flags 2>&1 | tee -a "$OUT/gpu.log"
    done
    shift ;;
  ab)
    secs=$2; shift 2
    for w in 0 "${IDENTITY:-1}"; do
      log "A/B: identity $w x (pixel 50, feature 1) for $secs s from the published decoder"
      train "/tmp/ab-$w" "$secs" --continue-from onnx $(identity_flags "$w") --precision bf16 --channels-last \
        --loader resident --log-every 100 --val-every 250 --save-every 0 --sample-every 0
      cp /tmp/ab-$w/losses.csv "$OUT/ab-identity-$w.losses.csv"; cp /tmp/ab-$w/losses.png "$OUT/ab-identity-$w.losses.png"
      grep -h '"val"' -A6 /tmp/ab-$w/checkpoints/best.json | tee -a "$OUT/gpu.log"
    done ;;
  train)
    secs=$2; shift 2
    log "train: continue the published decoder for $secs s"
    train /tmp/run "$secs" --continue-from onnx --publish "$OUT/publish" --publish-without-moments --select "${SELECT:-best-loss}" $(identity_flags "${IDENTITY:-0}") \
      --precision bf16 --channels-last --loader resident --log-every 100 --val-every 500 --save-every 2000 --sample-every 0
    cp /tmp/run/losses.csv /tmp/run/losses.png /tmp/run/samples_final.png /tmp/run/config.json "$OUT/" ;;
  ort-piece)
    mkdir -p /tmp/ort; for f in .gpu/ort/pieces/*; do [ -f "$f" ] && cp "$f" /tmp/ort/ && log "stored $(basename "$f")"; done; ls -la /tmp/ort; shift ;;
  batch)
    # The graphs (fp32 + fp16) from the committed decoder, made here: they are never carried.
    $B/adain export --encoder .gpu/models/vgg_normalised.safetensors --decoder onnx/decoder.safetensors \
      --out /tmp/models --half --if-stale 2>&1 | tail -1
    if [ -n "${ORT_LIB:-}" ]; then lib=$ORT_LIB  # a dry run with the CPU wheel's library
    else
      log "assembling onnxruntime-gpu from pieces"
      (cat /tmp/ort/ort-gpu.tar.xz.* | xz -d | tar -C /tmp/ort -xf -) || { log "pieces missing"; exit 1; }
      lib=/tmp/ort/libonnxruntime.so.1.31.1
    fi
    N=${BATCH_N:-20}
    for kind in content style; do
      $B/adain resize --to 512x512 --limit "$N" --out /tmp/bench/$kind .gpu/data/$kind 2>>/tmp/bench_inputs.log
    done
    runs="cuda:fp32 cuda:fp16 cpu:fp32"; [ "$DEVICE" = cpu ] && runs="cpu:fp32 cpu:fp16"
    for r in $runs; do
      prov=${r%:*}; prec=${r#*:}; bs=${BATCH_SIZE:-16}; [ "$prov" = cpu ] && bs=2
      log "adain-batch ${N}x${N}x3 at 512 px, provider $prov, precision $prec, batch $bs"
      rm -rf /tmp/bout
      ORT_DYLIB_PATH=$lib timeout -s INT "${BATCH_TIMEOUT:-150}" $B/adain-batch --content /tmp/bench/content \
        --style /tmp/bench/style --alphas 0.1,0.5,0.9 --models /tmp/models --out /tmp/bout --provider "$prov" \
        --precision "$prec" --batch-size "$bs" -q 2>&1 | grep -E "written|wall|stages" | tee -a "$OUT/gpu.log"
      cp /tmp/bout/report.summary.json "$OUT/batch-$prov-$prec.summary.json" 2>/dev/null
    done
    shift ;;
  *) echo "unknown phase $1" >&2; exit 2 ;;
  esac
done
