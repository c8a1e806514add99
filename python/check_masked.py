#!/usr/bin/env python3
"""Masked AdaIN checked three ways, run by tests/mask.rs: an independent numpy computation from
the formula in onnx/README.md, the exported adain_masked.onnx in onnxruntime (Python), and the
Rust implementation (src/mask.rs) whose output the test wrote as rust_t.npy.

usage: check_masked.py GRAPH DATA_DIR   (DATA_DIR: features, mask, style_mean, style_std, alpha,
                                          rust_t as .npy)
"""
import os, sys
import numpy as np
import onnx
import onnxruntime as ort

graph, ddir = sys.argv[1], sys.argv[2]
load = lambda n: np.load(os.path.join(ddir, n + ".npy"))
f, m, sm, ss, alpha, rust = (load(n) for n in ["features", "mask", "style_mean", "style_std", "alpha", "rust_t"])
EPS = 1e-5

# numpy, in float64: per sample n, style k, channel c, the mask-weighted mean and variance.
f64, m64 = f.astype(np.float64), m.astype(np.float64)
ref = np.zeros_like(f64)
for n in range(f.shape[0]):
    for k in range(m.shape[1]):
        w = m64[n, k]
        total = w.sum()
        if total <= 0:
            continue
        mean = (f64[n] * w).sum(axis=(1, 2)) / total
        var = (w * (f64[n] - mean[:, None, None]) ** 2).sum(axis=(1, 2)) / max(total - 1, 1)
        std = np.sqrt(var + EPS)
        styled = (f64[n] - mean[:, None, None]) / std[:, None, None] * ss[n, k][:, None, None] + sm[n, k][:, None, None]
        ref[n] += w * styled
ref = alpha[:, None, None, None] * ref + (1 - alpha[:, None, None, None]) * f64

onnx.checker.check_model(onnx.load(graph), full_check=True)
sess = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
(got,) = sess.run(None, {"content_features": f, "mask": m, "style_mean": sm, "style_std": ss, "alpha": alpha})

ok = True
scale = float(np.abs(ref).max())
for name, x in [("adain_masked.onnx (onnxruntime)", got), ("src/mask.rs", rust)]:
    d = float(np.abs(x - ref).max())
    good = x.shape == ref.shape and d / scale <= 1e-5
    ok &= good
    print(f"{'ok' if good else 'FAIL'} {name} vs numpy: max diff {d:.3e}, relative {d / scale:.3e} (tolerance 1e-5)")
if not ok:
    sys.exit(1)
print("masked AdaIN checks passed")
