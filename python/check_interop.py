#!/usr/bin/env python3
"""Interop check run by tests/interop.rs: the exported graphs in other ONNX consumers.

usage: check_interop.py GRAPH_DIR DATA_DIR
       check_interop.py --precisions GRAPH_DIR DATA_DIR
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
With --precisions, the fp16 (*.fp16.onnx) and int8 (decoder.int8.onnx, encoder.int8.onnx)
graphs instead: checker, their precision in metadata, int8 weights, QDQ nodes and no float pads
in the int8 graphs, and onnxruntime (Python) reproducing the Rust outputs rust_fp16_features,
rust_fp16_decoded, rust_int8_decoded, rust_int8_style_std from content / rust_t / style.
"""
import os, sys
import numpy as np
import onnx
import onnxruntime as ort
from onnx.reference import ReferenceEvaluator

precisions = sys.argv[1] == "--precisions"
gdir, ddir = sys.argv[1 + precisions], sys.argv[2 + precisions]
load = lambda n: np.load(os.path.join(ddir, n + ".npy"))
failures = []


def compare(name, got, want, rel_tol):
    d = float(np.abs(got - want).max())
    m = float(np.abs(want).max()) or 1.0
    status = "ok" if d / m <= rel_tol and got.shape == want.shape else "FAIL"
    print(f"{status:4s} {name}: shape {got.shape}, max diff {d:.3e}, relative {d / m:.3e} (tolerance {rel_tol:g})")
    if status != "ok":
        failures.append(name)


def check_precisions():
    sess = lambda n: ort.InferenceSession(os.path.join(gdir, n), providers=["CPUExecutionProvider"])
    for n in ["encoder.fp16", "decoder.fp16", "adain_decoder.fp16", "stylize.fp16", "decoder.int8",
              "encoder.int8"]:
        m = onnx.load(os.path.join(gdir, n + ".onnx"))
        onnx.checker.check_model(m, full_check=True)
        meta = {p.key: p.value for p in m.metadata_props}
        want = n.split(".")[1]
        assert meta.get("adain.precision", "").startswith(want), f"{n}: adain.precision {meta.get('adain.precision')!r}"
        assert "unbiased" in meta.get("adain.variance", ""), f"{n}: metadata lacks adain.variance"
        print(f"ok   {n}.onnx: onnx.checker full_check, adain.precision {want}")
    for n in ["decoder.int8.onnx", "encoder.int8.onnx"]:
        m = onnx.load(os.path.join(gdir, n))
        ops = {nd.op_type for nd in m.graph.node}
        int8_weights = [t.name for t in m.graph.initializer if t.data_type == onnx.TensorProto.INT8]
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops, f"{n}: no QDQ nodes ({ops})"
        assert len(int8_weights) >= 8, f"{n}: {len(int8_weights)} int8 initializers"
        # The pads run on uint8 (quantize.pads_on_uint8): a Pad fed by a DequantizeLinear is
        # the float detour that cost a third of the int8 decoder's time.
        producer = {o: nd.op_type for nd in m.graph.node for o in nd.output}
        float_pads = [nd.name for nd in m.graph.node
                      if nd.op_type == "Pad" and producer.get(nd.input[0]) == "DequantizeLinear"]
        assert not float_pads, f"{n}: pads in float: {float_pads}"
        print(f"ok   {n}: QDQ nodes, {len(int8_weights)} int8 weight tensors, pads on uint8")
    content, t = load("content"), load("rust_t")
    (feat,) = sess("encoder.fp16.onnx").run(["features"], {"image": content})
    compare("ort-python encoder.fp16 features", feat, load("rust_fp16_features"), 1e-5)
    (dec,) = sess("decoder.fp16.onnx").run(None, {"t": t})
    compare("ort-python decoder.fp16", dec, load("rust_fp16_decoded"), 1e-5)
    (dec,) = sess("decoder.int8.onnx").run(None, {"t": t})
    compare("ort-python decoder.int8", dec, load("rust_int8_decoded"), 1e-5)
    (std,) = sess("encoder.int8.onnx").run(["std"], {"image": load("style")})
    compare("ort-python encoder.int8 style std", std, load("rust_int8_style_std"), 1e-5)


if precisions:
    check_precisions()
    if failures:
        print(f"{len(failures)} check(s) failed: {failures}")
        sys.exit(1)
    print("all interop checks passed")
    sys.exit(0)

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
