"""Static int8 quantisation of an exported graph with ONNX Runtime's own quantiser.

Called by `adain export --int8`, which computes the calibration inputs in Rust (images loaded by
imaging.rs, AdaIN targets from the fp32 graphs) and writes them as one safetensors file whose keys
are `<graph input>/<sample index>`. This script owns only what Rust cannot do well: choosing
ONNX Runtime's QDQ patterns (which its CPU kernels fuse into QLinearConv / VNNI code), so
they track the runtime version we ship instead of being re-derived by hand.

Weights: per output channel, symmetric, 7-bit by default (`--weight-bits 7`, ONNX Runtime's
`reduce_range`: values in [-64, 64] stored as int8). Why 7: x86 CPUs without VNNI (every
AVX2-only part, and AVX-512 without VNNI) multiply u8 x s8 with VPMADDUBSW, which adds two
products in a saturating 16-bit sum: 255 x 127 x 2 overflows it, and with 8-bit weights the
style statistics of the int8 encoder came out 19% off on an AVX2-only EPYC. 255 x 64 x 2 fits,
so 7-bit weights are exact on every x86-64 kernel; VNNI (VPDPBUSD, 32-bit sums) would take 8
bits, but one graph for every CPU costs less than two graphs and a CPU check (see docs/weights.md
for the measured cost). Activations: uint8, asymmetric (the u8 x s8 form the x86
kernels run). The decoder's ranges come from min-max averaged over the samples (CalibMovingAverage):
measured on 18 val targets at 512x512 against the fp32 decoder, plain min-max (ranges set by
the rarest outliers) gave mean |difference| 3.9/255 and SSIM 0.939 to the fp32 image, the
moving average 2.5/255 and 0.975, at the price of rare saturated values (0.03% of values off by
more than 32/255). The encoder's come from the 99.99th percentile of each tensor's histogram
over same-size crops (`--method percentile --percentile 99.99`): its relu4_1 features, redrawn
pixel by pixel once contents are int8 too, were 9.6% off with min-max and 6.5% with it
(src/quantize.rs, docs/weights.md). The graph's inputs and output stay float32.

After quantising, the reflection pads move onto the uint8 tensors (`pads_on_uint8`): ONNX
Runtime 1.31 fuses DQ -> Conv -> Q into QLinearConv and runs Resize on uint8, but leaves
DQ -> Pad -> Q in float, which was a third of the int8 decoder's time (profiled: 295 -> 240 ms
for a 512x512 output, outputs bit-identical).

usage: quantize.py --model decoder.onnx --calibration calib.safetensors --out decoder.int8.onnx
                   [--method minmax|percentile|entropy] [--note TEXT] [--recipe TEXT]
       (the encoder likewise, with samples image/<n>)
"""

import argparse
import logging
import os
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.calibrate import HistogramCalibrater
    from safetensors.numpy import load_file
except ImportError as e:  # the light set-up installs ONNX Runtime's library only
    sys.exit(f"error: the int8 graphs need ONNX Runtime's Python quantiser, and {e.name} is not installed "
             "in the project venv: run `bash scripts/setup.sh --int8`")


class Samples(CalibrationDataReader):
    """Feeds the calibration samples one at a time, in index order."""

    def __init__(self, path, inputs):
        tensors = load_file(path)
        indices = sorted({int(k.rsplit("/", 1)[1]) for k in tensors})
        missing = [f"{i}/{n}" for n in indices for i in inputs if f"{i}/{n}" not in tensors]
        if missing or not indices:
            sys.exit(f"{path}: calibration file lacks {missing[:3] or 'any sample'} "
                     f"(expected keys <input>/<n> for inputs {inputs})")
        self.samples = [{i: tensors[f"{i}/{n}"] for i in inputs} for n in indices]
        self.pos = 0

    def get_next(self):
        if self.pos == len(self.samples):
            return None
        self.pos += 1
        return self.samples[self.pos - 1]

    def rewind(self):
        self.pos = 0


class Chunk(CalibrationDataReader):
    """A fixed list of samples, read once."""

    def __init__(self, samples):
        self.samples = samples

    def get_next(self):
        return self.samples.pop(0) if self.samples else None


def histograms_in_chunks(size):
    """ONNX Runtime's histogram calibrators (percentile, entropy) keep every sample's every
    activation in memory before they histogram them: ~100 MB per 256 px crop of the encoder, so
    the ~100 calibration crops were killed for memory. Their collector merges histograms across
    calls (bins of the first call's width, extended as needed), so feeding `size` samples per
    call gives the same histograms in bounded memory."""
    whole = HistogramCalibrater.collect_data

    def collect(self, reader):
        while True:
            chunk = []
            while len(chunk) < size and (s := reader.get_next()) is not None:
                chunk.append(s)
            if not chunk:
                return
            whole(self, Chunk(chunk))

    HistogramCalibrater.collect_data = collect


def last_convs(model):
    """The convolutions that write the graph's outputs (through Identity nodes): kept in float so
    the image itself is not rounded to 256 levels of its calibrated range (a ~2/255 step), at
    about 1% of the decoder's arithmetic (64 -> 3 channels). Writing the image's own 8-bit levels
    instead (scale 1/255, so no step beyond the saved image's) was tried: 1.90/255 from fp32
    against 1.86 with float here, and no faster when timed alone (173-178 vs 173 ms at 384x512,
    two threads; 290-302 ms on one)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    found = []
    for out in model.graph.output:
        n = producer.get(out.name)
        while n is not None and n.op_type == "Identity":
            n = producer.get(n.input[0])
        if n is not None and n.op_type == "Conv":
            found.append(n.name)
    return found


def pads_on_uint8(model):
    """Rewrites every DequantizeLinear -> Pad(reflect|edge) -> QuantizeLinear chain whose two ends
    share scale and zero point into a Pad on the uint8 tensor itself. Exact: reflecting or
    repeating values commutes with an affine map, and Q(DQ(x)) = x for equal parameters. Returns
    the number of pads moved."""
    g = model.graph
    consts = {i.name: onnx.numpy_helper.to_array(i) for i in g.initializer}
    nodes = list(g.node)
    producer = {o: k for k, n in enumerate(nodes) for o in n.output}
    users = {}
    for k, n in enumerate(nodes):
        for i in n.input:
            users.setdefault(i, []).append(k)
    graph_outputs = {o.name for o in g.output}

    def same_params(dq, q):
        pairs = list(zip(dq.input[1:], q.input[1:]))
        return len(dq.input) == len(q.input) and all(
            a == b or (a in consts and b in consts and np.array_equal(consts[a], consts[b]))
            for a, b in pairs)

    dropped = set()
    for pad in nodes:
        mode = next((a.s.decode() for a in pad.attribute if a.name == "mode"), "constant")
        # A constant pad would write float 0, which is not uint8 0 unless the zero point is.
        if pad.op_type != "Pad" or mode not in ("reflect", "edge"):
            continue
        at_dq = producer.get(pad.input[0])
        after = users.get(pad.output[0], [])
        if at_dq is None or len(after) != 1:
            continue
        dq, q = nodes[at_dq], nodes[after[0]]
        if (dq.op_type != "DequantizeLinear" or q.op_type != "QuantizeLinear"
                or len(users[dq.output[0]]) != 1 or not same_params(dq, q)
                or {dq.output[0], pad.output[0]} & graph_outputs):
            continue
        pad.input[0] = dq.input[0]
        pad.output[0] = q.output[0]
        dropped |= {at_dq, after[0]}
    kept = [n for k, n in enumerate(nodes) if k not in dropped]
    del g.node[:]
    g.node.extend(kept)
    return len(dropped) // 2


def _const(g, name, array):
    g.initializer.append(onnx.numpy_helper.from_array(np.asarray(array), name))
    return name


def _phase_kernels(w):
    """The 2x2 kernels [4*Cout, Cin, 2, 2] that compute Upsample(2, nearest) -> ReflectionPad(1)
    -> Conv3x3(w) at the input's resolution, over its edge-padded copy, one channel group per
    output phase in DCR DepthToSpace order with the phases swapped (group 2a+b holds phase
    (1-a, 1-b), so every phase lands one pixel late and a one-pixel crop puts it in place). The
    same derivation as `phase_kernels` in src/onnx/graphs.rs, which the fp32 graphs use: output
    row 2i+p sees input rows i-1, i, i (p = 0) or i, i, i+1 (p = 1), the reflected border row
    being the edge row itself, so each phase sums the 3x3 kernel's rows and columns in pairs."""
    taps = [[[0], [1, 2]], [[0, 1], [2]]]
    cout = w.shape[0]
    out = np.zeros((4 * cout, w.shape[1], 2, 2))
    for a in range(2):
        for b in range(2):
            for r in range(2):
                for c in range(2):
                    rows, cols = taps[1 - a][r], taps[1 - b][c]
                    out[(2 * a + b) * cout:(2 * a + b + 1) * cout, :, r, c] = \
                        w[:, :, rows][:, :, :, cols].sum((2, 3))
    return out


def _symmetric(w, bits):
    """Per-output-channel symmetric integer weights (ONNX Runtime's reduce_range levels for 7
    bits: [-64, 64]) and their scales."""
    levels = 2 ** (bits - 1)
    scale = np.abs(w).reshape(w.shape[0], -1).max(1) / levels
    scale = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.round(w / scale.reshape((-1,) + (1,) * (w.ndim - 1))), -levels, levels)
    return q.astype(np.int8), scale.astype(np.float32)


def image_tail(model, src, bits):
    """Rewrites the int8 decoder's full-resolution tail, the last Upsample -> Pad -> Conv3x3 ->
    ReLU -> Pad -> Conv3x3 (64 -> 3, the image), which took a quarter of the decoder's time
    (profiled on one thread at 384x512: the 64 -> 3 float convolution with its dequantisation
    and NCHWc reorders 71 ms, the upsampling and its convolution 64 ms, of ~300):

    - the upsampling and the convolution after it become one 2x2 QLinearConv over the uint8
      edge-padded input at half resolution (16 instead of 36 multiply-adds per pixel and channel
      pair), its phases interleaved by a Reshape/Transpose in channels-last order, which ONNX
      Runtime's layout pass then leaves without any transposes between the integer convolutions;
    - the image convolution becomes an integer matrix product (MatMulInteger, uint8 x int8 ->
      int32, the VNNI / VPMADDUBSW kernels) of each padded pixel's 64 channels with the 9 taps x
      3 channels of the kernel, whose 9 shifted slices are summed in int32 and scaled once
      (DequantizeLinear per channel) with the bias added in float. Exact integer sums: only the
      weights are rounded (per channel, `bits` like every other layer), and the image is never
      rounded to 8 bits.

    Weights come from the float source graph `src`; activation ranges are the calibrated ones
    already in `model`. Returns the number of nodes rewritten (0 when the pattern is absent)."""
    g = model.graph
    floats = {i.name: onnx.numpy_helper.to_array(i) for i in src.graph.initializer}
    nodes = list(g.node)
    producer = {o: n for n in nodes for o in n.output}
    users = {}
    for n in nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)

    def only_user(n, op):
        u = users.get(n.output[0], [])
        return u[0] if len(u) == 1 and u[0].op_type == op else None

    # From the graph output back: Identity* <- Conv(float) <- DQ <- Pad(u8) <- Q <- Conv(QDQ)
    # <- DQ <- Pad(u8) <- Q <- Resize <- DQ <- (uint8 tensor at half resolution).
    last = producer.get(g.output[0].name)
    while last is not None and last.op_type == "Identity":
        last = producer.get(last.input[0])
    chain = [last]
    for op in ["DequantizeLinear", "Pad", "QuantizeLinear", "Conv", "DequantizeLinear", "Pad",
               "QuantizeLinear", "Resize", "DequantizeLinear"]:
        n = producer.get(chain[-1].input[0]) if chain[-1] is not None else None
        chain.append(n if n is not None and n.op_type == op else None)
    if None in chain or chain[0].op_type != "Conv":
        return 0
    image_conv, image_dq, image_pad, relu_q, up_conv, up_dq, _, _, _, low_dq = chain
    if any(only_user(n, nxt.op_type) is not nxt for n, nxt in zip(chain[1:], chain[:-1])):
        return 0
    up_w = floats.get(producer[up_conv.input[1]].input[0].removesuffix("_quantized"))
    up_b = floats.get(up_conv.input[2])
    img_w, img_b = floats.get(image_conv.input[1]), floats.get(image_conv.input[2])
    if any(x is None for x in (up_w, up_b, img_w, img_b)):
        return 0
    cout, cin = up_w.shape[:2]
    co = img_w.shape[0]
    P = "image_tail"
    c = lambda name, a: _const(g, f"{P}.const.{name}", a)
    node = lambda op, ins, out, **attrs: onnx.helper.make_node(op, ins, [out], name=out, **attrs)

    wq, ws = _symmetric(_phase_kernels(up_w.astype(np.float64)), bits)
    new = [
        node("Pad", [low_dq.input[0], c("edge_pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))],
             f"{P}.edge_padded", mode="edge"),
        node("DequantizeLinear", [f"{P}.edge_padded", low_dq.input[1], low_dq.input[2]], f"{P}.low"),
        node("DequantizeLinear", [c("phase_weight", wq), c("phase_scale", ws),
                                  c("phase_zero", np.zeros(4 * cout, np.int8))], f"{P}.phase_w", axis=0),
        node("Conv", [f"{P}.low", f"{P}.phase_w", c("phase_bias", np.tile(up_b, 4).astype(np.float32))],
             f"{P}.phases", kernel_shape=[2, 2]),
        node("QuantizeLinear", [f"{P}.phases", relu_q.input[1], relu_q.input[2]], f"{P}.phases_u8"),
        # DCR DepthToSpace in channels-last order: [N, h, w, (a, b, C)] -> [N, h, a, w, b, C].
        node("Transpose", [f"{P}.phases_u8"], f"{P}.phases_nhwc", perm=[0, 2, 3, 1]),
        node("Reshape", [f"{P}.phases_nhwc", c("split", np.array([0, 0, 0, 2, 2, cout], np.int64))],
             f"{P}.split"),
        node("Transpose", [f"{P}.split"], f"{P}.interleaved", perm=[0, 1, 3, 2, 4, 5]),
        node("Shape", [f"{P}.phases_nhwc"], f"{P}.shape"),
        node("Slice", [f"{P}.shape", c("zero", np.array([0], np.int64)), c("one", np.array([1], np.int64))],
             f"{P}.n"),
        node("Slice", [f"{P}.shape", f"{P}.const.one", c("three", np.array([3], np.int64))], f"{P}.hw"),
        node("Mul", [f"{P}.hw", c("two", np.array([2], np.int64))], f"{P}.hw2"),
        node("Concat", [f"{P}.n", f"{P}.hw2", c("channels", np.array([cout], np.int64))],
             f"{P}.up_shape", axis=0),
        node("Reshape", [f"{P}.interleaved", f"{P}.up_shape"], f"{P}.up"),
        node("Slice", [f"{P}.up", c("crop_start", np.array([1, 1], np.int64)),
                       c("crop_end", np.array([-1, -1], np.int64)), c("hw_axes", np.array([1, 2], np.int64))],
             f"{P}.relu_nhwc"),
        node("Pad", [f"{P}.relu_nhwc", c("reflect_pads", np.array([0, 1, 1, 0, 0, 1, 1, 0], np.int64))],
             f"{P}.padded", mode="reflect"),
    ]
    # Column (dy, dx, o) of the matrix is tap (dy, dx) of output channel o.
    iq, iscale = _symmetric(img_w.astype(np.float64), bits)
    kh, kw = img_w.shape[2:]
    new.append(node("MatMulInteger", [f"{P}.padded", c("taps_weight", iq.transpose(1, 2, 3, 0).reshape(cin, -1)),
                                      image_dq.input[2], c("taps_zero", np.int8(0))], f"{P}.taps"))
    c("tap_axes", np.array([1, 2, 3], np.int64))
    total = None
    end = lambda d, k: d - (k - 1) if d < k - 1 else np.iinfo(np.int64).max
    for dy in range(kh):
        for dx in range(kw):
            t = dy * kw + dx
            s = node("Slice", [f"{P}.taps", c(f"tap{t}_start", np.array([dy, dx, t * co], np.int64)),
                               c(f"tap{t}_end", np.array([end(dy, kh), end(dx, kw), (t + 1) * co], np.int64)),
                               f"{P}.const.tap_axes"], f"{P}.tap{t}")
            new.append(s)
            if total is not None:
                new.append(node("Add", [total, s.output[0]], f"{P}.sum{t}"))
            total = new[-1].output[0]
    # The int32 sums are dequantised per channel in NCHW, where the bias broadcasts per plane.
    image_scale = (float(onnx.numpy_helper.to_array(
        next(i for i in g.initializer if i.name == image_dq.input[1]))) * iscale).astype(np.float32)
    new += [
        node("Transpose", [total], f"{P}.sum_nchw", perm=[0, 3, 1, 2]),
        node("DequantizeLinear", [f"{P}.sum_nchw", c("image_scale", image_scale),
                                  c("image_zero", np.zeros(co, np.int32))], f"{P}.image", axis=1),
        onnx.helper.make_node("Add", [f"{P}.image", c("image_bias", img_b.reshape(1, co, 1, 1).astype(np.float32))],
                              [g.output[0].name], name=f"{P}.biased"),
    ]
    # Identities between the image convolution and the output go too: the Add writes the output.
    drop = {id(n) for n in chain}
    n = producer.get(g.output[0].name)
    while n is not None and n.op_type == "Identity":
        drop.add(id(n))
        n = producer.get(n.input[0])
    at = nodes.index(low_dq)
    kept = [n for n in nodes[:at] if id(n) not in drop] + new + [n for n in nodes[at:] if id(n) not in drop]
    del g.node[:]
    g.node.extend(kept)
    used = {i for n in g.node for i in n.input}
    inits = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    return len(drop)


METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "percentile": CalibrationMethod.Percentile,
    "entropy": CalibrationMethod.Entropy,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--calibration", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--method", choices=sorted(METHODS), default="minmax")
    p.add_argument("--percentile", type=float, default=99.999,
                   help="with --method percentile: the percentile of absolute values kept")
    p.add_argument("--weight-bits", type=int, choices=[7, 8], default=7,
                   help="8 saturates u8 x s8 sums on x86 CPUs without VNNI (see above)")
    p.add_argument("--note", default="", help="text stored as metadata adain.precision")
    p.add_argument("--recipe", default="", help="text stored as metadata adain.int8.recipe")
    a = p.parse_args()
    histograms_in_chunks(8)

    src = onnx.load(a.model)
    inputs = [i.name for i in src.graph.input]
    reader = Samples(a.calibration, inputs)
    out_dir = os.path.dirname(os.path.abspath(a.out))
    # Written beside the target and renamed over it: a reader never sees half a graph.
    fd, tmp = tempfile.mkstemp(prefix=".quantize-", suffix=".onnx", dir=out_dir)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the graph is not
    # The quantiser's advice to pre-process (symbolic shape inference) changes nothing here:
    # measured, same nodes and the same outputs. Keep its log to errors.
    logging.getLogger().setLevel(logging.ERROR)
    try:
        quantize_static(
            a.model,
            tmp,
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            reduce_range=a.weight_bits == 7,
            calibrate_method=METHODS[a.method],
            extra_options={
                "WeightSymmetric": True,
                "ActivationSymmetric": False,
                # Min-max ranges averaged over samples (one image's outliers do not set them);
                # the percentile method builds histograms over all samples instead.
                "CalibMovingAverage": a.method == "minmax",
                "CalibPercentile": a.percentile,
            },
            calibration_providers=["CPUExecutionProvider"],
            nodes_to_exclude=last_convs(src),
            # The network's own ops only: the encoder's statistics (ReduceMean, Sqrt, Div...)
            # stay float32.
            op_types_to_quantize=["Conv", "Pad", "Resize", "MaxPool", "Relu"],
        )
        q = onnx.load(tmp)
        moved = pads_on_uint8(q)
        tail = image_tail(q, src, a.weight_bits)
        # Keep the source graph's provenance (weights sha256, exporter, conventions) and say
        # how this one was made.
        del q.metadata_props[:]
        for prop in src.metadata_props:
            if prop.key != "adain.precision":
                q.metadata_props.add(key=prop.key, value=prop.value)
        q.metadata_props.add(key="adain.precision", value=a.note or "int8")
        q.metadata_props.add(key="adain.int8.recipe", value=a.recipe)
        q.metadata_props.add(key="adain.int8.weight_bits", value=str(a.weight_bits))
        method = a.method + (f" {a.percentile}" if a.method == "percentile" else "")
        q.metadata_props.add(key="adain.int8.calibration",
                             value=f"{method}, {len(reader.samples)} samples")
        onnx.checker.check_model(q)
        onnx.save(q, tmp)
        os.replace(tmp, a.out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    n_q = sum(1 for n in q.graph.node if n.op_type == "QuantizeLinear")
    print(f"{a.out}: {n_q} QuantizeLinear nodes, {moved} pads on uint8, "
          f"{'the image tail rewritten, ' if tail else ''}calibrated on "
          f"{len(reader.samples)} samples ({a.method})", file=sys.stderr)


if __name__ == "__main__":
    main()
