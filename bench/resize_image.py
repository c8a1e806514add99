#!/usr/bin/env python3
"""Writes SRC resized to about MEGAPIXELS (aspect kept) as OUT: large inputs for bench/memory.sh.
usage: resize_image.py SRC MEGAPIXELS OUT"""
import sys
from PIL import Image

src, mp, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
im = Image.open(src).convert("RGB")
k = (mp * 1e6 / (im.width * im.height)) ** 0.5
im.resize((round(im.width * k), round(im.height * k)), Image.LANCZOS).save(out, quality=95)
