#!/usr/bin/env python3
"""Interop check run by tests/interop.rs: the exported graphs in other ONNX consumers.

usage: check_interop.py GRAPH_DIR DATA_DIR
DATA_DIR holds .npy files written by the Rust test: inputs (content, style, alpha) and the Rust
ONNX Runtime outputs (rust_features, rust_mean, rust_std, rust_t, rust_decoded,
rust_adain_decoded, rust_image).
Checks, failing with exit 1 on the first miss:
  1. onnx.checker.check_model(full_check=True) on every graph (also runs ONNX shape inference);
  2. onnxruntime (Python) reproduces every Rust output of encoder, adain, decoder, adain_decoder
     and stylize;
  3. onnx.reference.ReferenceEvaluator (pure numpy, not ONNX Runtime) runs the fused graph and
     agrees with the Rust output;
  4. metadata_props name the variance convention and the weights' sha256.
"""
import os, sys
import numpy as np
import onnx
import onnxruntime as ort
from onnx.reference import ReferenceEvaluator

gdir, ddir = sys.argv[1], sys.argv[2]
load = lambda n: np.load(os.path.join(ddir, n + ".npy"))
failures = []


def compare(name, got, want, rel_tol):
    d = float(np.abs(got - want).max())
    m = float(np.abs(want).max()) or 1.0
    status = "ok" if d / m <= rel_tol and got.shape == want.shape else "FAIL"
    print(f"{status:4s} {name}: shape {got.shape}, max diff {d:.3e}, relative {d / m:.3e} (tolerance {rel_tol:g})")
    if status != "ok":
        failures.append(name)


for n in ["encoder", "adain", "decoder", "stylize", "adain_decoder"]:
    path = os.path.join(gdir, n + ".onnx")
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    meta = {p.key: p.value for p in m.metadata_props}
    assert "unbiased" in meta.get("adain.variance", ""), f"{path}: metadata lacks adain.variance"
    for role in ("encoder", "decoder"):
        if f"adain.{role}.file" in meta:
            assert len(meta.get(f"adain.{role}.sha256", "")) == 64, f"{path}: {role} sha256 missing"
    print(f"ok   {n}.onnx: onnx.checker full_check, opset {m.opset_import[0].version}, {len(meta)} metadata entries")

content, style, alpha = load("content"), load("style"), load("alpha")
sess = lambda n: ort.InferenceSession(os.path.join(gdir, n + ".onnx"), providers=["CPUExecutionProvider"])
feat, mean, std = sess("encoder").run(None, {"image": content})
compare("ort-python encoder features", feat, load("rust_features"), 1e-5)
_, smean, sstd = sess("encoder").run(None, {"image": style})
compare("ort-python encoder mean (style)", smean, load("rust_mean"), 1e-5)
compare("ort-python encoder std (style)", sstd, load("rust_std"), 1e-5)
(t,) = sess("adain").run(None, {"content_features": feat, "style_mean": smean, "style_std": sstd, "alpha": alpha})
compare("ort-python adain t", t, load("rust_t"), 1e-5)
(dec,) = sess("decoder").run(None, {"t": t})
compare("ort-python decoder", dec, load("rust_decoded"), 1e-5)
(ad,) = sess("adain_decoder").run(None, {"content_features": feat, "style_mean": smean, "style_std": sstd, "alpha": alpha})
compare("ort-python adain_decoder", ad, load("rust_adain_decoded"), 1e-5)
compare("adain_decoder vs adain then decoder", ad, dec, 1e-5)
(img,) = sess("stylize").run(None, {"content": content, "style": style, "alpha": alpha})
compare("ort-python stylize", img, load("rust_image"), 1e-5)

ref = ReferenceEvaluator(os.path.join(gdir, "stylize.onnx"))
(img_ref,) = ref.run(None, {"content": content, "style": style, "alpha": alpha})
compare("onnx.reference stylize (not ONNX Runtime)", img_ref, load("rust_image"), 1e-4)
(t_ref,) = ReferenceEvaluator(os.path.join(gdir, "adain.onnx")).run(
    None, {"content_features": feat, "style_mean": smean, "style_std": sstd, "alpha": alpha})
compare("onnx.reference adain", t_ref, load("rust_t"), 1e-4)

if failures:
    print(f"{len(failures)} check(s) failed: {failures}")
    sys.exit(1)
print("all interop checks passed")
