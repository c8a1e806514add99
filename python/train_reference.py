#!/usr/bin/env python3
"""The adain-train step written independently in plain PyTorch (torch.nn / torch.optim), the
reference the tch trainer is tested against (tests/train.rs) and benchmarked against
(bench/train_step.py).

Network: VGG-19 to relu4_1 from the encoder safetensors; the decoder as nn.Conv2d layers with
decoder.pth keys. Losses: relu4_1 content MSE against the (detached) AdaIN target, relu1_1..relu4_1
mean/std MSE (unbiased variance + 1e-5), optional SANet identity terms of D(E(c)) vs c: pixel MSE
and the sum of feature MSEs at relu1_1..relu4_1, each with its own weight. The reconstruction
objective uses the identity terms alone (no style image, no AdaIN). Optimizer: torch.optim.Adam,
clip_grad_norm_ when asked.

Round-3 knobs, each written here from its definition: per-layer style weights; alpha-sampled
steps (each sample's decoder input a*AdaIN + (1-a)*E(c), content target that input, each
sample's style loss weighted by a, or with --alpha-target mix aimed at a*(style's mean, std) +
(1-a)*(content's mean, std) at each layer with weight 1, and its pixel MSE against the content
by (1-a), weighted by the identity pixel weight); an exponential moving average of the weights with decay
min(DECAY, (1+n)/(10+n)) at the n-th update. The Laplacian term (Li et al. 2017): MSE between the
3x3 4-neighbour Laplacian (no padding) of the BT.601 luma of the stylized output and of the
content, each average-pooled 4x4 first; logged always, in the loss with its weight.

usage: train_reference.py --encoder E --decoder D0 --batches DIR --out DIR
         [--objective adain|reconstruction] [--content-weight 1] [--style-weight 10]
         [--identity-pixel-weight 0] [--identity-feature-weight 0] [--clip 0]
         [--style-layer-weights W1,W2,W3,W4] [--ema DECAY] [--laplacian-weight 0]
         [--alpha-target style|mix]
  The batches folder holds content.npy and style.npy ([steps, batch, 3, H, W] in [0,1]),
  lrs.npy (the learning rate of each step) and, for alpha-sampled steps, alphas.npy ([steps,
  batch]). Writes DIR/losses.json (per step: content, style, style_layers, identity_pixel,
  identity_feature, alpha_pixel, laplacian, grad_norm), DIR/decoder.safetensors (the weights after the last
  step) and, with --ema, DIR/ema.safetensors (their average).
"""
import argparse, json, os
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import load_file, save_file

ENC = ["2", "5", "9", "12", "16", "19", "22", "25", "29"]
TAPS = {"2", "9", "16", "29"}
POOL_AFTER = {"5", "12", "25"}
# decoder.pth: (key, cin, cout), "up" = nearest x2
DEC = [("1", 512, 256), "up", ("5", 256, 256), ("8", 256, 256), ("11", 256, 256), ("14", 256, 128), "up",
       ("18", 128, 128), ("21", 128, 64), "up", ("25", 64, 64), ("28", 64, 3)]


class Encoder:
    def __init__(self, path):
        self.w = load_file(path)

    def taps(self, x):
        w, out = self.w, []
        x = F.conv2d(x, w["0.weight"], w["0.bias"])
        for k in ENC:
            x = F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w[k + ".weight"], w[k + ".bias"]))
            if k in TAPS:
                out.append(x)
            if k in POOL_AFTER:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        return out


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict({s[0]: nn.Conv2d(s[1], s[2], 3) for s in DEC if s != "up"})

    def forward(self, x):
        last = DEC[-1][0]
        for s in DEC:
            if s == "up":
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            else:
                x = self.convs[s[0]](F.pad(x, (1, 1, 1, 1), mode="reflect"))
                if s[0] != last:
                    x = F.relu(x)
        return x

    def load(self, path):
        sd = load_file(path)
        self.convs.load_state_dict({k: v for k, v in sd.items()})

    def state(self):
        return {k: v.detach().contiguous() for k, v in self.convs.state_dict().items()}


def stats(x):
    return x.mean((2, 3), keepdim=True), (x.var((2, 3), keepdim=True, unbiased=True) + 1e-5).sqrt()


LAPLACE = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]]).view(1, 1, 3, 3)


def lap(x):
    """Laplacian of the luma of x [B,3,H,W] after a 4x4 average pool."""
    y = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return F.conv2d(F.avg_pool2d(y, 4), LAPLACE)


def identity_terms(enc, dec, c, ct):
    """Pixel MSE and summed relu1_1..relu4_1 feature MSE of D(E(c)) (cropped to c) against c."""
    icc = dec(ct[-1])[:, :, : c.shape[2], : c.shape[3]]
    return F.mse_loss(icc, c), sum(F.mse_loss(a, b) for a, b in zip(enc.taps(icc), ct))


def losses(enc, dec, c, s, identity, objective="adain", alpha=None, target="style"):
    """(content, style per layer, identity pixel, identity feature, alpha pixel, Laplacian); the terms a
    step skips are 0. alpha: per-sample alphas [B], or None for the paper's step at 1; target: what
    the style terms aim at below 1 ("style" or "mix")."""
    zero = torch.zeros(())
    if objective == "reconstruction":
        with torch.no_grad():
            ct = enc.taps(c)
        return (zero, [zero] * 4) + identity_terms(enc, dec, c, ct) + (zero, zero)
    with torch.no_grad():
        st = enc.taps(s)
        ct = enc.taps(c)
        sm, ss = stats(st[-1])
        cm, cs = stats(ct[-1])
        t = (ct[-1] - cm) / cs * ss + sm
        if alpha is not None:
            a4 = alpha.view(-1, 1, 1, 1)
            t = a4 * t + (1 - a4) * ct[-1]
    g = dec(t)
    gt = enc.taps(g)
    lc = F.mse_loss(gt[-1], t)
    ls = []
    for x, y, z in zip(gt, st, ct):
        (xm, xs), (ym, ys) = stats(x), stats(y)
        if alpha is None:
            ls.append(F.mse_loss(xm, ym) + F.mse_loss(xs, ys))
        elif target == "mix":
            (zm, zs), a4 = stats(z), alpha.view(-1, 1, 1, 1)
            ls.append(F.mse_loss(xm, a4 * ym + (1 - a4) * zm) + F.mse_loss(xs, a4 * ys + (1 - a4) * zs))
        else:
            per = ((xm - ym) ** 2).mean((1, 2, 3)) + ((xs - ys) ** 2).mean((1, 2, 3))
            ls.append((alpha * per).mean())
    la = zero if alpha is None else ((1 - alpha) * ((g[:, :, : c.shape[2], : c.shape[3]] - c) ** 2).mean((1, 2, 3))).mean()
    ll = F.mse_loss(lap(g[:, :, : c.shape[2], : c.shape[3]]), lap(c))
    lp, lf = identity_terms(enc, dec, c, ct) if identity else (zero, zero)
    return lc, ls, lp, lf, la, ll


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", required=True)
    ap.add_argument("--decoder", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--content-weight", type=float, default=1.0)
    ap.add_argument("--style-weight", type=float, default=10.0)
    ap.add_argument("--objective", choices=["adain", "reconstruction"], default="adain")
    ap.add_argument("--identity-pixel-weight", type=float, default=0.0)
    ap.add_argument("--identity-feature-weight", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=0.0)
    ap.add_argument("--style-layer-weights", default=None)
    ap.add_argument("--ema", type=float, default=0.0)
    ap.add_argument("--laplacian-weight", type=float, default=0.0)
    ap.add_argument("--alpha-target", choices=["style", "mix"], default="style")
    a = ap.parse_args()
    layer_w = ([float(x) for x in a.style_layer_weights.split(",")] if a.style_layer_weights
               else [a.style_weight] * 4)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    enc = Encoder(a.encoder)
    dec = Decoder()
    dec.load(a.decoder)
    b = {k: np.load(os.path.join(a.batches, k + ".npy")) for k in ("content", "style")}
    lrs = np.load(os.path.join(a.batches, "lrs.npy"))
    alphas_path = os.path.join(a.batches, "alphas.npy")
    alphas = np.load(alphas_path) if os.path.exists(alphas_path) else None
    opt = torch.optim.Adam(dec.parameters(), lr=float(lrs[0]))
    ema = {k: v.clone() for k, v in dec.state().items()}
    rows = []
    for i in range(len(lrs)):
        for grp in opt.param_groups:
            grp["lr"] = float(lrs[i])
        c, s = torch.from_numpy(b["content"][i]), torch.from_numpy(b["style"][i])
        identity = a.identity_pixel_weight > 0 or a.identity_feature_weight > 0
        alpha = None if alphas is None else torch.from_numpy(alphas[i]).float()
        lc, ls, lp, lf, la, ll = losses(enc, dec, c, s, identity, a.objective, alpha, a.alpha_target)
        total = a.identity_pixel_weight * lp + a.identity_feature_weight * lf
        if a.objective == "adain":
            total = total + a.content_weight * lc + sum(w * l for w, l in zip(layer_w, ls))
            total = total + a.identity_pixel_weight * la + a.laplacian_weight * ll
        opt.zero_grad()
        total.backward()
        norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in dec.parameters()))
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(dec.parameters(), a.clip)
        opt.step()
        if a.ema > 0:
            d = min(a.ema, (1 + i) / (10 + i))
            with torch.no_grad():
                for k, v in dec.state().items():
                    ema[k] = d * ema[k] + (1 - d) * v
        rows.append({"content": lc.item(), "style": sum(l.item() for l in ls),
                     "style_layers": [l.item() for l in ls], "identity_pixel": lp.item(),
                     "identity_feature": lf.item(), "alpha_pixel": la.item(), "laplacian": ll.item(),
                     "grad_norm": norm.item()})
    os.makedirs(a.out, exist_ok=True)
    json.dump(rows, open(os.path.join(a.out, "losses.json"), "w"))
    save_file(dec.state(), os.path.join(a.out, "decoder.safetensors"))
    if a.ema > 0:
        save_file({k: v.contiguous() for k, v in ema.items()}, os.path.join(a.out, "ema.safetensors"))
    # The initial scale of a decoder initialised by nn.Conv2d's own defaults, on the first batch:
    # what a fresh adain-train run should start near.
    torch.manual_seed(0)
    fresh = Decoder()
    with torch.no_grad():
        lc, ls, _, _, _, _ = losses(enc, fresh, torch.from_numpy(b["content"][0]), torch.from_numpy(b["style"][0]), False)
    json.dump({"content": lc.item(), "style": sum(l.item() for l in ls)}, open(os.path.join(a.out, "pytorch_init.json"), "w"))


if __name__ == "__main__":
    main()
