"""The reader of a folder of one's own pictures, in ImageFolder's layout: train/<label>/*, and test/<label>/*.

    python -m data.folder --images=path/to/shapes        # or `make all IMAGES=path/to/shapes`

Imports the folder once into data/<name>/ (the folder's own name, lower case): every picture decoded
one at a time and brought to the run's picture (the whole picture scaled to fit side x side and
centred on black: common/pictures.py's fit, as `eval.ask` and the page take a picture), written
straight into uint8 arrays on disk, {train,val,test}_images.npy and {train,val,test}_labels.npy,
then pictures.json (the labels, the source, the counts) last: memory stays bounded whatever the
folder's size, and a progress line counts the pictures.

Colour is kept where the pictures have it: a folder is imported as RGB (N, side, side, 3) when a
sample of its pictures of a colour mode (RGB, RGBA, palette, ...) holds colour, else grey (N, side,
side); channels=1 or 3 says it instead. The side is 28 for grey (MNIST's) and 32 for colour
(CIFAR's), or what side= says: any multiple of 4 from 16 to 64 (the tokenizer's grids halve it).

Labels are the folder names, lower case, in sorted order. Without test/, a fixed, seeded tenth of each label of train/ is held out; validation
is a tenth of the rest. Afterwards load_split(split, name) reads the arrays as data/mnist.py reads
MNIST's (data/pictures.py says which reader a dataset has).

A captions.jsonl beside train/ (one {"image": "train/cat/001.png", "text": "a grey cat on a red sofa"}
a line) gives pictures captions, kept as {split}_captions.json in the pictures' order ('' for a
picture without one): the describe tasks' data (tasks/describe.py, tasks/describe_draw.py).

Every problem names its file or folder in one line, before anything is written: a missing or empty
folder, one label only, a label with no pictures or a name the records cannot hold, a file that is not
a picture, a truncated one or a decompression bomb (skip_bad=True skips those and counts them). The
same picture in train/ and test/ is a warning with the count. A captions.jsonl line of bad JSON, a
picture that is not in the folder or an empty text is one line giving the line's number.
"""
import json
import os
import re
import sys
import time

if __name__ == '__main__' and not __package__:
    raise SystemExit("error: run it as a module from the project root: python -m data.folder --images=...")

import numpy as np

from common.files import atomic_write, file_sha256, writable_folder, write_json
from common.pictures import fit

HERE = os.path.dirname(os.path.abspath(__file__))
EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif', '.tiff', '.ppm', '.pgm')
LABEL = re.compile(r"[a-z0-9][a-z0-9 '/-]*")  # what a record can hold of a label: ASCII words, no ',' '.' ':' '#'
CAPTION = re.compile(r"[a-z0-9 ,'/()&;!?-]+")  # what a record can hold of a caption: no '.' (it ends answers), ':', '#'
MAX_CAPTION = 120  # characters: a record holds its picture's letters and the caption; longer records cost the GPT
MAX_PIXELS = 8192 * 8192  # a picture larger than this is refused before it is decoded (a decompression bomb)
SIDES = {1: 28, 3: 32}  # the run's picture, side x side, by channels: MNIST's for grey, CIFAR's for colour
COLOUR_MODES = ('RGB', 'RGBA', 'RGBX', 'P', 'PA', 'CMYK', 'YCbCr', 'LAB', 'HSV')  # modes that can hold colour
SAMPLE = 400  # pictures of colour modes decoded to decide whether a folder is in colour
SPLITS = ('train', 'val', 'test')


class FolderError(SystemExit):
    def __init__(self, msg):
        super().__init__(f"error: {msg}")


def dataset_name(path):
    """The dataset name a folder gets: its own name, lower case, [a-z0-9_] (data/<name>/, out/<name>_...)."""
    name = re.sub(r'[^a-z0-9]+', '_', os.path.basename(os.path.normpath(path)).lower()).strip('_')
    if not name or name in ('mnist', 'fashion_mnist', 'records', 'folders'):  # names data/ holds already
        raise FolderError(f"{path}: name the folder after its pictures (not {name or 'empty'!r}): its name names the "
                          "dataset's folders")
    return name


def scan(root):
    """{label: [files]} of a split's folder, sorted, checked: labels the records can hold, none empty."""
    if not os.path.isdir(root):
        raise FolderError(f"{root} not found; a folder of pictures holds train/<label>/ (and test/<label>/)")
    found = {}
    for label in sorted(os.listdir(root)):
        folder = os.path.join(root, label)
        if not os.path.isdir(folder):
            continue
        if not LABEL.fullmatch(label.lower()):
            raise FolderError(f"{folder}: the label {label!r} holds characters a record cannot (use letters, digits, "
                              "spaces, ' / and -; rename the folder)")
        files = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                       if f.lower().endswith(EXTENSIONS) and not f.startswith('.'))
        if not files:
            raise FolderError(f"{folder} holds no pictures ({', '.join(EXTENSIONS)}); add some or remove the folder")
        found[label.lower()] = files
    return found


def open_picture(path, skip_bad, decode=True):
    """The PIL picture of a file (decoded, or its header only), checked; None when it is bad and skipped."""
    from PIL import Image, UnidentifiedImageError
    try:
        img = Image.open(path)
        if img.size[0] * img.size[1] > MAX_PIXELS:
            raise ValueError(f"{img.size[0]}x{img.size[1]} pixels, over {MAX_PIXELS:,}")
        if decode:
            img.load()
        return img
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        if skip_bad:
            return None
        raise FolderError(f"{path} is not a readable picture ({type(e).__name__}: {' '.join(str(e).split())[:60]}); "
                          "remove it, or pass --skip_bad=True to skip such files and count them")


def to_picture(path, side, skip_bad, colour=False):
    """One file -> uint8 (side, side), or (side, side, 3) in colour: the whole picture scaled to fit, centred on
    black; None when skipped."""
    img = open_picture(path, skip_bad)
    return None if img is None else fit(img, side, colour)


def has_colour(img):
    """Whether a decoded picture holds colour: channels that differ by more than a JPEG's noise, in 1% of it."""
    rgb = np.asarray(img.convert('RGB'), dtype=np.int16)
    spread = rgb.max(2) - rgb.min(2)
    return float((spread > 24).mean()) > 0.01


def colour_of(files, skip_bad):
    """Every file's header read (a file that is not a picture, or a bomb, is refused before anything is written);
    True when the folder is in colour: one of a sample of its pictures of colour modes holds colour."""
    candidates = []
    for path in files:
        img = open_picture(path, skip_bad, decode=False)
        if img is not None and img.mode in COLOUR_MODES:
            candidates.append(path)
    step = max(1, len(candidates) // SAMPLE)
    for path in candidates[::step]:
        img = open_picture(path, True)
        if img is not None and has_colour(img):
            return True
    return False


def split_files(src, seed):
    """(labels, {split: [(file, label index)]}): test/ when the folder has one, else a seeded tenth of train/;
    validation a seeded tenth of the rest, drawn within each label so that every label is in every split."""
    train = scan(os.path.join(src, 'train'))
    has_test = os.path.isdir(os.path.join(src, 'test'))
    test = scan(os.path.join(src, 'test')) if has_test else {}
    labels = sorted(train)
    if len(labels) < 2:
        raise FolderError(f"{src}/train holds {len(labels)} label folder(s); reading needs two labels at least")
    unknown = sorted(set(test) - set(train))
    if unknown:
        raise FolderError(f"{src}/test holds labels train/ has not: {unknown}; add their training pictures")
    rng = np.random.default_rng(seed)
    out = {s: [] for s in SPLITS}
    for d, label in enumerate(labels):
        files = list(train[label])
        order = rng.permutation(len(files))
        n_test = 0 if has_test else max(1, len(files) // 10)
        held = [files[i] for i in order[:n_test]]
        rest = [files[i] for i in order[n_test:]]
        n_val = max(1, len(rest) // 10)
        if len(rest) - n_val < 1:
            raise FolderError(f"{src}/train/{label} holds {len(files)} picture(s): too few to train, validate and "
                              "test on; add more")
        out['val'] += [(f, d) for f in rest[:n_val]]
        out['train'] += [(f, d) for f in rest[n_val:]]
        out['test'] += [(f, d) for f in (test.get(label, []) if has_test else held)]
    return labels, out


def read_captions(src, files):
    """{picture file: caption} of the folder's captions.jsonl ({} without one), every line checked: one line that
    names the file and the line for bad JSON, a picture that is not in the folder, an empty text or characters a
    record cannot hold."""
    path = os.path.join(src, 'captions.jsonl')
    if not os.path.exists(path):
        return {}
    known = {os.path.relpath(f, src).replace(os.sep, '/'): f for items in files.values() for f, _ in items}
    out = {}
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise FolderError(f"{path} is not readable text ({type(e).__name__}); write one JSON object a line")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        try:
            item = json.loads(line)
        except ValueError as e:
            raise FolderError(f"{where} is not JSON ({e.msg}); write {{\"image\": \"train/cat/001.png\", \"text\": "
                              "\"a grey cat\"}")
        if not isinstance(item, dict) or not isinstance(item.get('image'), str) or not isinstance(item.get('text'), str):
            raise FolderError(f"{where}: write an object of two strings, {{\"image\": ..., \"text\": ...}}")
        image = item['image'].replace(os.sep, '/').removeprefix('./')
        if image not in known:
            raise FolderError(f"{where}: {item['image']!r} is not a picture of train/<label>/ or test/<label>/ "
                              f"({'no such file' if not os.path.exists(os.path.join(src, image)) else 'not a picture'})")
        text = ' '.join(item['text'].split()).lower().removesuffix('.')
        if not text:
            raise FolderError(f"{where}: the text of {item['image']!r} is empty; write its caption or leave the line out")
        if len(text) > MAX_CAPTION or not CAPTION.fullmatch(text):
            raise FolderError(f"{where}: the text {text[:40]!r} holds characters a record cannot or is over "
                              f"{MAX_CAPTION} characters; use letters, digits, spaces and , ' / - ( ) ; ! ? &")
        if known[image] in out:
            raise FolderError(f"{where}: {item['image']!r} is captioned twice; keep one line for it")
        out[known[image]] = text
    if not out:
        raise FolderError(f"{path} holds no caption; remove it or write one JSON object a line")
    return out


def import_folder(src, out_dir, side=0, seed=1337, skip_bad=False, quiet=False, channels=0):
    """Every picture of a folder into out_dir's arrays, streamed; pictures.json last. Returns its content.
    side 0: 28 grey, 32 colour; channels 0: colour where the pictures have it (1 grey, 3 colour)."""
    if channels not in (0, 1, 3):
        raise FolderError(f"channels={channels!r}: use 0 (colour where the pictures have it), 1 (grey) or 3 (colour)")
    if side and not (16 <= side <= 64 and side % 4 == 0):
        raise FolderError(f"side={side!r}: use a multiple of 4 from 16 to 64 (0: 28 for grey, 32 for colour)")
    labels, files = split_files(src, seed)
    writable_folder(out_dir, '--out_dir')
    coloured = colour_of([f for items in files.values() for f, _ in items], skip_bad)  # every header checked
    channels = channels or (3 if coloured else 1)
    side = side or SIDES[channels]
    captions = read_captions(src, files)
    os.makedirs(out_dir, exist_ok=True)
    train_hashes = {file_sha256(f) for f, _ in files['train'] + files['val']}
    duplicates = sum(file_sha256(f) in train_hashes for f, _ in files['test'])
    if duplicates:
        print(f"warning: {duplicates} picture(s) of {src}/test are also in train/ (the same bytes): the test "
              "set is not all unseen", file=sys.stderr)
    kept, t0 = {}, time.time()
    total, done = sum(len(v) for v in files.values()), 0
    streams = {split: os.path.join(out_dir, f'{split}_stream.npy.tmp') for split in files}
    try:  # every picture decoded into temporary arrays first: a bad one found late leaves the old import whole
        for split, items in files.items():
            shape = (len(items), side, side) if channels == 1 else (len(items), side, side, channels)
            array = np.lib.format.open_memmap(streams[split], mode='w+', dtype=np.uint8, shape=shape)
            kept[split] = []
            for path, d in items:
                picture = to_picture(path, side, skip_bad, colour=channels == 3)
                if picture is not None:
                    array[len(kept[split])] = picture
                    kept[split].append((path, d))
                done += 1
                if not quiet and (done % 2000 == 0 or done == total):
                    print(f"\rpictures: {done:,} of {total:,} ({time.time() - t0:.0f} s)", end='', flush=True)
            array.flush()
            del array
            if not kept[split]:
                raise FolderError(f"{src}: no readable picture left for the {split} split")
    except BaseException:
        for tmp in streams.values():
            if os.path.exists(tmp):
                os.remove(tmp)
        raise
    if not quiet:
        print()
    if os.path.exists(os.path.join(out_dir, 'pictures.json')):  # no description of half old, half new arrays
        os.remove(os.path.join(out_dir, 'pictures.json'))
    counts, skipped, captioned = {}, {}, {}
    for split, items in files.items():
        n = len(kept[split])
        trimmed = np.load(streams[split], mmap_mode='r')[:n]
        atomic_write(os.path.join(out_dir, f'{split}_images.npy'), lambda f: np.save(f, trimmed))
        os.remove(streams[split])
        atomic_write(os.path.join(out_dir, f'{split}_labels.npy'),
                     lambda f: np.save(f, np.array([d for _, d in kept[split]], np.uint8)))
        texts = [captions.get(path, '') for path, _ in kept[split]]
        write_json(os.path.join(out_dir, f'{split}_captions.json'), texts)
        counts[split], skipped[split], captioned[split] = n, len(items) - n, sum(map(bool, texts))
    info = dict(source=os.path.abspath(src), labels=labels, side=side, channels=channels, seed=seed, counts=counts,
                skipped=skipped, duplicates_in_test=duplicates, captioned=captioned if captions else None)
    atomic_write(os.path.join(out_dir, 'pictures.json'), lambda f: f.write(json.dumps(info, indent=1).encode()))
    return info


def folder_of(name):
    return os.path.join(HERE, name)


def read_info(name):
    path = os.path.join(folder_of(name), 'pictures.json')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        raise FolderError(f"{path} not found: the folder dataset {name!r} was not imported; run "
                          "`make all IMAGES=path/to/folder` (or python -m data.folder --images=...)")
    except ValueError as e:
        raise FolderError(f"{path} is corrupt ({e}); import the folder again")


def is_folder_dataset(name):
    return os.path.exists(os.path.join(folder_of(name), 'pictures.json'))


def load_captions(split, name):
    """The caption of each picture of a split ('' where it has none), or None: the folder has no captions.jsonl."""
    if not read_info(name).get('captioned'):
        return None
    path = os.path.join(folder_of(name), f'{split}_captions.json')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise FolderError(f"{path} is missing or damaged ({type(e).__name__}); import the folder again")


def load_split(split, name):
    """Pictures (N, side, side) uint8, (N, side, side, 3) in colour, and labels (N,) uint8 of an imported folder's
    'train', 'val' or 'test'."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    read_info(name)
    folder = folder_of(name)
    try:
        images = np.load(os.path.join(folder, f'{split}_images.npy'), mmap_mode='r')
        labels = np.load(os.path.join(folder, f'{split}_labels.npy'))
    except (OSError, ValueError) as e:
        raise FolderError(f"{folder}: its {split} pictures are missing or damaged ({type(e).__name__}); import the "
                          "folder again")
    if len(images) != len(labels):
        raise FolderError(f"{folder}: {len(images)} {split} pictures but {len(labels)} labels; import it again")
    return np.asarray(images), labels


# -----------------------------------------------------------------------------
images = ''  # the folder: train/<label>/* and, if there is one, test/<label>/*
out_dir = ''  # '' imports into data/<the folder's name>/
skip_bad = False  # True: skip unreadable pictures, counted in pictures.json, instead of stopping at the first
seed = 1337  # which tenth is held out (without test/) and which is validation
side = 0  # the run's pictures are side x side: 0 is 28 for grey and 32 for colour; a multiple of 4 up to 64
channels = 0  # 0: colour (3) where the pictures have colour, else grey (1); 1 or 3 say which
# -----------------------------------------------------------------------------


def main():
    from common.configurator import configure
    configure(globals())
    if not images:
        raise FolderError("pass the folder of pictures: python -m data.folder --images=path/to/folder")
    if not os.path.isdir(images):
        raise FolderError(f"{images} not found; pass a folder holding train/<label>/ (and test/<label>/)")
    target = out_dir or folder_of(dataset_name(images))
    info = import_folder(images, target, side, seed, skip_bad, channels=channels)
    print(f"{images}: {len(info['labels'])} labels, {info['counts']['train']:,} train / {info['counts']['val']:,} val "
          f"/ {info['counts']['test']:,} test pictures of {info['side']}x{info['side']} "
          f"{'RGB' if info['channels'] == 3 else 'grey'} -> {target}")


if __name__ == '__main__':
    main()
