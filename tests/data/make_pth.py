#!/usr/bin/env python3
"""Writes PyTorch state dicts in the pytorch-AdaIN layout for tests/import.rs (not committed:
the test runs this into a temporary folder). Deterministic random weights.

usage: make_pth.py OUT_DIR
  vgg_normalised.pth  keys 0..51 (the full relu5_4 network, as the public file has)
  decoder.pth         decoder keys 1..28
  broken_vgg.pth      vgg without key 29 (must be refused, naming the key)
  not_a_pth.pth       text
"""
import os, sys
import torch

out = sys.argv[1]
g = torch.Generator().manual_seed(0)
enc = [(0, 3, 3, 1), (2, 3, 64, 3), (5, 64, 64, 3), (9, 64, 128, 3), (12, 128, 128, 3), (16, 128, 256, 3),
       (19, 256, 256, 3), (22, 256, 256, 3), (25, 256, 256, 3), (29, 256, 512, 3), (32, 512, 512, 3),
       (35, 512, 512, 3), (38, 512, 512, 3), (42, 512, 512, 3), (45, 512, 512, 3), (48, 512, 512, 3), (51, 512, 512, 3)]
dec = [(1, 512, 256), (5, 256, 256), (8, 256, 256), (11, 256, 256), (14, 256, 128), (18, 128, 128), (21, 128, 64), (25, 64, 64), (28, 64, 3)]
def sd(spec, k3=True):
    d = {}
    for item in spec:
        key, cin, cout = item[:3]
        k = item[3] if len(item) > 3 else 3
        d[f"{key}.weight"] = torch.randn(cout, cin, k, k, generator=g) * 0.05
        d[f"{key}.bias"] = torch.randn(cout, generator=g) * 0.05
    return d
vgg = sd(enc)
torch.save(vgg, os.path.join(out, "vgg_normalised.pth"))
torch.save(sd(dec), os.path.join(out, "decoder.pth"))
del vgg["29.weight"]
torch.save(vgg, os.path.join(out, "broken_vgg.pth"))
open(os.path.join(out, "not_a_pth.pth"), "w").write("hello")
