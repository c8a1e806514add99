#!/usr/bin/env python3
"""Throughput of the adain-train step written in plain PyTorch (the network and losses of
python/train_reference.py), for comparison with adain-train in the same run: random inputs, so
this measures the step, not the loader.

usage: train_step.py [ITERS] [BATCH] [CROP] [--device cpu|cuda] [--bf16] [--channels-last]
  --bf16 runs encoder and decoder under torch.autocast(bfloat16) with float32 master weights
  (what adain-train --precision bf16 does by hand).
"""
import argparse, os, sys, time
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from train_reference import Decoder, Encoder, losses  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("iters", nargs="?", type=int, default=4)
ap.add_argument("batch", nargs="?", type=int, default=8)
ap.add_argument("crop", nargs="?", type=int, default=256)
ap.add_argument("--device", default="cpu")
ap.add_argument("--bf16", action="store_true")
ap.add_argument("--channels-last", action="store_true")
ap.add_argument("--encoder", default="models/vgg_normalised.safetensors")
a = ap.parse_args()
dev = torch.device(a.device)
if dev.type == "cuda":
    torch.backends.cudnn.benchmark = True
fmt = torch.channels_last if a.channels_last else torch.contiguous_format
torch.manual_seed(0)
enc = Encoder(a.encoder)
enc.w = {k: v.to(dev) for k, v in enc.w.items()}
dec = Decoder().to(dev).to(memory_format=fmt)
opt = torch.optim.Adam(dec.parameters(), lr=1e-4)
c = torch.rand(a.batch, 3, a.crop, a.crop, device=dev).to(memory_format=fmt)
s = torch.rand(a.batch, 3, a.crop, a.crop, device=dev).to(memory_format=fmt)
times = []
for i in range(a.iters):
    t0 = time.perf_counter()
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
        lc, ls, _, _, _ = losses(enc, dec, c, s, False)
        loss = lc.float() + 10 * sum(l.float() for l in ls)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times.append(time.perf_counter() - t0)
steady = times[1:] or times
mode = ("bf16 autocast" if a.bf16 else "fp32") + (", channels-last" if a.channels_last else "")
print(f"pytorch {torch.__version__} ({mode}, {a.device}): {a.batch * len(steady) / sum(steady):.3f} images/s "
      f"(batch {a.batch}, crop {a.crop}, {len(steady)} iterations after the first)")
