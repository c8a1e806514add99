"""Flicker of a stylized video against its source (bench/video.sh; not a test).

flicker = mean |out[t] - out[t-1]| / mean |in[t] - in[t-1]| over all pixels and frame pairs, the
input scaled to the output's size: 1.0 means the output changes exactly as much as the input.
Frames come from ffmpeg as raw RGB, so this reads whatever adain-batch wrote, independently of
its code. usage: video_metrics.py SOURCE OUTPUT [SOURCE OUTPUT ...] -> one line each.
"""
import json
import subprocess
import sys

import numpy as np


def frames(path, size=None):
    probe = json.loads(subprocess.check_output(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "json", path]))["streams"][0]
    w, h = size or (probe["width"], probe["height"])
    cmd = ["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
           "-vf", f"scale={w}:{h}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    raw = subprocess.check_output(cmd)
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3).astype(np.float32) / 255.0


def mean_step(v):
    return float(np.abs(np.diff(v, axis=0)).mean())


for src, out in zip(sys.argv[1::2], sys.argv[2::2]):
    o = frames(out)
    i = frames(src, (o.shape[2], o.shape[1]))
    n = min(len(i), len(o))
    print(f"{out}: frames {len(o)} (source {len(i)}), flicker {mean_step(o[:n]) / mean_step(i[:n]):.3f}")
