#!/usr/bin/env python3
"""Plain PyTorch implementation of the adain-train step, for the throughput benchmark.

Same network (weights from models/vgg_normalised.safetensors, decoder as decoder.pth), same
losses (relu4_1 content MSE against the AdaIN target, relu1_1..relu4_1 mean/std style MSE,
unbiased variance + 1e-5), same Adam. Random inputs: this measures the step, not the loader.
usage: train_step.py [ITERS] [BATCH] [CROP]
"""
import sys, time
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import load_file

iters, b, crop = (int(a) for a in (sys.argv[1:] + ["4", "8", "256"][len(sys.argv) - 1:])[:3])
w = load_file("models/vgg_normalised.safetensors")
ENC = ["2", "5", "9", "12", "16", "19", "22", "25", "29"]
TAPS = {"2", "9", "16", "29"}

def taps(x):
    out = []
    x = F.conv2d(x, w["0.weight"], w["0.bias"])
    for k in ENC:
        x = F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w[k + ".weight"], w[k + ".bias"]))
        if k in TAPS:
            out.append(x)
        if k in ("5", "12", "25"):
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
    return out

class Dec(nn.Module):
    def __init__(self):
        super().__init__()
        spec = [(512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up", (128, 128), (128, 64), "up", (64, 64), (64, 3)]
        self.layers = nn.ModuleList([nn.Upsample(scale_factor=2, mode="nearest") if s == "up" else nn.Conv2d(*s, 3) for s in spec])
    def forward(self, x):
        for i, l in enumerate(self.layers):
            if isinstance(l, nn.Conv2d):
                x = l(F.pad(x, (1, 1, 1, 1), mode="reflect"))
                if i != len(self.layers) - 1:
                    x = F.relu(x)
            else:
                x = l(x)
        return x

def stats(x):
    return x.mean((2, 3), keepdim=True), (x.var((2, 3), keepdim=True, unbiased=True) + 1e-5).sqrt()

torch.manual_seed(0)
dec = Dec()
opt = torch.optim.Adam(dec.parameters(), lr=1e-4)
c, s = torch.rand(b, 3, crop, crop), torch.rand(b, 3, crop, crop)
times = []
for i in range(iters):
    t0 = time.perf_counter()
    with torch.no_grad():
        st = taps(s); fc = taps(c)[-1]
        sm, ss = stats(st[-1]); cm, cs = stats(fc)
        t = (fc - cm) / cs * ss + sm
    g = dec(t)
    gt = taps(g)
    loss_c = F.mse_loss(gt[-1], t)
    loss_s = sum(F.mse_loss(stats(a)[0], stats(bb)[0]) + F.mse_loss(stats(a)[1], stats(bb)[1]) for a, bb in zip(gt, st))
    loss = loss_c + 10 * loss_s
    opt.zero_grad(); loss.backward(); opt.step()
    times.append(time.perf_counter() - t0)
    print(f"iteration {i + 1}: {times[-1]:.2f} s, loss {loss.item():.2f}", flush=True)
steady = times[1:] or times
print(f"pytorch {torch.__version__}: {b * len(steady) / sum(steady):.3f} images/s (batch {b}, crop {crop}, {torch.get_num_threads()} threads, first iteration excluded)")
