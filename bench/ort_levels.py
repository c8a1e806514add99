# Times the int8 encoder and decoder graphs at 384x512 on one thread under each graph
# optimisation level (issue 46 item 3). Usage: .venv/bin/python bench/ort_levels.py onnx
import sys, time, numpy as np, onnxruntime as ort
d = sys.argv[1]
lv = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
      "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
      "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
img = np.random.default_rng(0).random((1, 3, 384, 512), dtype=np.float32)
for name, level in lv.items():
    so = ort.SessionOptions(); so.graph_optimization_level = level
    so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
    enc = ort.InferenceSession(f"{d}/encoder.int8.onnx", so, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(f"{d}/decoder.int8.onnx", so, providers=["CPUExecutionProvider"])
    feats = enc.run(None, {enc.get_inputs()[0].name: img})
    f = [o.name for o in enc.get_outputs()].index("features")
    t = feats[f]
    for _ in range(2):
        enc.run(None, {enc.get_inputs()[0].name: img}); dec.run(None, {"t": t})
    te, td = [], []
    for _ in range(5):
        a = time.perf_counter(); enc.run(None, {enc.get_inputs()[0].name: img}); b = time.perf_counter()
        dec.run(None, {"t": t}); c = time.perf_counter(); te.append(b - a); td.append(c - b)
    print(f"{name:9s} encoder {1e3*min(te):6.1f} ms (median {1e3*np.median(te):6.1f})  decoder {1e3*min(td):6.1f} ms (median {1e3*np.median(td):6.1f})", flush=True)
