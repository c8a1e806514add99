#!/usr/bin/env python3
"""Writes PyTorch state dicts in the pytorch-AdaIN layout for tests/import.rs (not committed:
the test runs this into a temporary folder). Deterministic random weights.

usage: make_pth.py OUT_DIR
  vgg_normalised.pth  keys 0..51 (the full relu5_4 network, as the public file has)
  decoder.pth         decoder keys 1..28
  broken_vgg.pth      vgg without key 29 (must be refused, naming the key)
  not_a_pth.pth       text
  decoder_legacy.pth  the decoder in the legacy container (_use_new_zipfile_serialization=False)
  decoder_half.pth    the decoder in float16
  reference_*.safetensors  what PyTorch itself reads from vgg_normalised.pth, decoder.pth and
                      decoder_half.pth (torch.load(weights_only=True), .float()): the bit-for-bit
                      reference for the Rust reader
  evil_system.pth, evil_eval.pth  state dicts that also carry a call of os.system / builtins.eval
                      writing a marker file (must be refused, naming the callable, and run nothing)
  truncated.pth       the first half of decoder.pth
"""
import builtins, os, sys
import torch
from safetensors.torch import save_file

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
dec = sd(dec)
torch.save(dec, os.path.join(out, "decoder.pth"))
del vgg["29.weight"]
torch.save(vgg, os.path.join(out, "broken_vgg.pth"))
open(os.path.join(out, "not_a_pth.pth"), "w").write("hello")

torch.save(dec, os.path.join(out, "decoder_legacy.pth"), _use_new_zipfile_serialization=False)
torch.save({k: v.half() for k, v in dec.items()}, os.path.join(out, "decoder_half.pth"))
for name in ["vgg_normalised", "decoder", "decoder_half"]:
    loaded = torch.load(os.path.join(out, name + ".pth"), map_location="cpu", weights_only=True)
    save_file({k: v.float().contiguous() for k, v in loaded.items()}, os.path.join(out, f"reference_{name}.safetensors"))

marker = os.path.join(out, "MARKER")
class System:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))
class Eval:
    def __reduce__(self):
        return (builtins.eval, ("open(%r, 'w').close()" % marker,))
for name, evil in [("evil_system.pth", System()), ("evil_eval.pth", Eval())]:
    torch.save({**dec, "x": evil}, os.path.join(out, name))
blob = open(os.path.join(out, "decoder.pth"), "rb").read()
open(os.path.join(out, "truncated.pth"), "wb").write(blob[: len(blob) // 2])
