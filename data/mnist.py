"""The one MNIST reader every stage uses.

Reads the four IDX files (gzipped or raw) from MNIST_DIR when it is set (no
network), else from data/mnist/, downloading what is missing from public
mirrors and checking the SHA-256 of the decompressed bytes. Any problem ends in
one line naming the file and the fix.
"""
import gzip
import hashlib
import math
import os
import urllib.request

import numpy as np

from common.files import atomic_write

FILES = {
    'train_images': 'train-images-idx3-ubyte',
    'train_labels': 'train-labels-idx1-ubyte',
    'test_images': 't10k-images-idx3-ubyte',
    'test_labels': 't10k-labels-idx1-ubyte',
}
# SHA-256 of the decompressed IDX files, as published with the dataset.
SHA256 = {
    't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
}
MIRRORS = [
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
    'http://yann.lecun.com/exdb/mnist/',
]
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mnist')
SPLITS = ('train', 'val', 'test')


class MNISTError(SystemExit):
    """A problem with the data files; exits with one line, never a traceback."""

    def __init__(self, msg):
        super().__init__(f"error: {msg}")


def parse_idx(raw, name):
    """Parse IDX bytes into a uint8 array: (N, rows, cols) for images, (N,) for labels."""
    if len(raw) < 8:
        raise MNISTError(f"{name} is truncated ({len(raw)} bytes); delete it and download again")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise MNISTError(f"{name} has a bad magic number {raw[:4].hex()} (want 00000801 or 00000803): "
                         "not an MNIST IDX file; replace it with the original")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MNISTError(f"{name} is truncated in its header; delete it and download again")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    if ndim == 3 and dims[1:] != [28, 28]:
        raise MNISTError(f"{name} holds {dims[1]}x{dims[2]} images, not 28x28; use the MNIST files")
    expected = header + math.prod(dims)
    if len(raw) != expected:
        raise MNISTError(f"{name} has {len(raw) - header} data bytes but its header promises "
                         f"{expected - header} ({dims[0]} items): the file is truncated or corrupt; "
                         "delete it and download again")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise MNISTError(f"{path} is a corrupt gzip file ({e}); delete it and download again")
    return raw


def _download(name, folder):
    errors = []
    for mirror in MIRRORS:
        url = mirror + name + '.gz'
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                raw = gzip.decompress(r.read())
        except Exception as e:  # any network or gzip failure: try the next mirror
            errors.append(f"{url}: {e}")
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest != SHA256[name]:
            errors.append(f"{url}: SHA-256 {digest[:12]}... does not match {SHA256[name][:12]}...")
            continue
        atomic_write(os.path.join(folder, name), lambda f: f.write(raw))
        return
    raise MNISTError(f"could not download {name} ({'; '.join(errors)}); "
                     "connect to the internet, or set MNIST_DIR=/path/to/mnist to a local copy")


def _find(folder, name):
    for candidate in (name, name + '.gz'):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    return None


def load_file(key):
    """Return the array of one of the four files (see FILES)."""
    name = FILES[key]
    local = os.environ.get('MNIST_DIR')
    folder = local or DEFAULT_DIR
    path = _find(folder, name)
    if path is None:
        if local:
            raise MNISTError(f"{name}[.gz] not found in MNIST_DIR={local}; point MNIST_DIR at the folder "
                             "holding the four MNIST IDX files, or unset it to download them")
        _download(name, folder)
        path = _find(folder, name)
    return parse_idx(_read(path), path)


def source_files():
    """Paths of the MNIST files in use (for run records)."""
    folder = os.environ.get('MNIST_DIR') or DEFAULT_DIR
    return [p for p in (_find(folder, n) for n in FILES.values()) if p]


def load_split(split):
    """Images (N, 28, 28) uint8 and labels (N,) uint8 of 'train', 'val' or 'test'.

    train and val are the first five sixths and the last sixth of the training
    file (train[0:50000] and train[50000:60000] for MNIST); test is held out.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    prefix = 'test' if split == 'test' else 'train'
    images, labels = load_file(prefix + '_images'), load_file(prefix + '_labels')
    if len(images) != len(labels):
        raise MNISTError(f"{FILES[prefix + '_images']} has {len(images)} images but "
                         f"{FILES[prefix + '_labels']} has {len(labels)} labels; use matching files")
    if len(labels) and labels.max() > 9:
        raise MNISTError(f"{FILES[prefix + '_labels']} holds a label of {labels.max()}; MNIST's labels are the "
                         "digits 0-9: replace the file with the original")
    if split == 'test':
        return images, labels
    n_train = len(images) * 5 // 6
    sl = slice(0, n_train) if split == 'train' else slice(n_train, None)
    return images[sl], labels[sl]
