#!/usr/bin/env python3
"""Makes the fixtures in tests/data/bad/ (run once with the project venv; the outputs are committed).

Each file is an input adain-batch must survive. Expected outcome per file (tests/batch.rs):
  ok    rgba.png        RGBA with transparency (composited on white)
  ok    gray16.png      16-bit greyscale
  ok    gray.jpg        8-bit greyscale JPEG
  ok    cmyk.jpg        CMYK JPEG
  ok    exif_rot6.jpg   48x64 pixels stored, EXIF orientation 6: used as 64x48
  error not_an_image.jpg  text with an image extension
  error empty.png       zero bytes
  error truncated.jpg   a JPEG cut in half
  error tiny.png        12x12, under the 16 px minimum
  error big.png         300x300 = 90,000 px, over the --max-pixels 50000 the test sets
"""
import io, os
import numpy as np
from PIL import Image

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad")
os.makedirs(D, exist_ok=True)
rng = np.random.default_rng(0)
def rgb(w, h):
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h)], -1).astype(np.uint8)
    return Image.fromarray(a)

rgba = rgb(40, 32).convert("RGBA"); rgba.putalpha(Image.fromarray((np.arange(40 * 32).reshape(32, 40) % 256).astype(np.uint8)))
rgba.save(f"{D}/rgba.png")
Image.fromarray((np.arange(40 * 36).reshape(36, 40) * 40).astype(np.uint16)).save(f"{D}/gray16.png")
rgb(36, 40).convert("L").save(f"{D}/gray.jpg", quality=90)
rgb(40, 40).convert("CMYK").save(f"{D}/cmyk.jpg", quality=90)
exif = Image.Exif(); exif[0x0112] = 6
rgb(48, 64).save(f"{D}/exif_rot6.jpg", quality=90, exif=exif)
open(f"{D}/not_an_image.jpg", "w").write("this is text, not a JPEG\n")
open(f"{D}/empty.png", "wb").close()
buf = io.BytesIO(); rgb(64, 64).save(buf, "JPEG", quality=90); open(f"{D}/truncated.jpg", "wb").write(buf.getvalue()[: len(buf.getvalue()) // 2])
rgb(12, 12).save(f"{D}/tiny.png")
rgb(300, 300).save(f"{D}/big.png")
print("wrote", sorted(os.listdir(D)))
