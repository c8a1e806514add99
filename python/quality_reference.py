#!/usr/bin/env python3
"""`adain quality`'s measures computed independently (PyTorch convolutions, numpy statistics and
SSIM) for one (content, style, output) triple of images that already have the same size, as the
reference tests/quality.rs compares against. Prints JSON: style_error, content_error, ssim.

usage: quality_reference.py --judge models/vgg_imagenet.safetensors --content C --style S --output O
"""
import argparse, json, os, sys
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_reference import Encoder  # noqa: E402  (the same VGG-19 code path as the trainer reference)


def load(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    return a


def taps(enc, a):
    x = torch.from_numpy(a.transpose(2, 0, 1)[None].astype(np.float32))
    with torch.no_grad():
        return [t[0].double().numpy() for t in enc.taps(x)]


def mean_std(f):
    c = f.reshape(f.shape[0], -1)
    return c.mean(1), np.sqrt(c.var(1, ddof=1) + 1e-5)


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def ssim(a, b, k=8):
    ya = a @ np.array([0.299, 0.587, 0.114])
    yb = b @ np.array([0.299, 0.587, 0.114])
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    vals = []
    for y in range(ya.shape[0] - k + 1):
        for x in range(ya.shape[1] - k + 1):
            p, q = ya[y:y + k, x:x + k], yb[y:y + k, x:x + k]
            mp, mq = p.mean(), q.mean()
            vp, vq = p.var(), q.var()
            cov = ((p - mp) * (q - mq)).mean()
            vals.append(((2 * mp * mq + c1) * (2 * cov + c2)) / ((mp * mp + mq * mq + c1) * (vp + vq + c2)))
    return float(np.mean(vals))


def main():
    ap = argparse.ArgumentParser()
    for k in ("judge", "content", "style", "output"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    enc = Encoder(a.judge)
    c, s, o = load(a.content), load(a.style), load(a.output)
    to, ts, tc = taps(enc, o), taps(enc, s), taps(enc, c)
    se = np.mean([(rel(mean_std(x)[0], mean_std(y)[0]) + rel(mean_std(x)[1], mean_std(y)[1])) / 2 for x, y in zip(to, ts)])
    print(json.dumps({"style_error": float(se), "content_error": float(rel(to[-1], tc[-1])), "ssim": ssim(o, c)}))


if __name__ == "__main__":
    main()
