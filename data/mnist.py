"""The one reader of the image datasets every stage uses: MNIST and Fashion-MNIST.

Both are four IDX files (gzipped or raw) of 28x28 images and labels 0-9. A dataset
is read from its environment variable's folder when it is set (MNIST_DIR,
FASHION_MNIST_DIR: no network), else from data/<name>/, else from the folder a
Debian package installs (dataset-fashion-mnist), else downloaded into data/<name>/
from public mirrors. Local and downloaded files alike must have the SHA-256 the
dataset publishes (of the decompressed bytes), so that Fashion-MNIST's folder
holding MNIST's files, or an edited file, is refused; IDX files of one's own are
read with UNCHECKED_IDX=1. Any problem ends in one line naming the file and the fix.
"""
import gzip
import hashlib
import math
import os
import urllib.request
import zlib
from typing import NamedTuple

import numpy as np

from common.files import atomic_write

FILES = {
    'train_images': 'train-images-idx3-ubyte',
    'train_labels': 'train-labels-idx1-ubyte',
    'test_images': 't10k-images-idx3-ubyte',
    'test_labels': 't10k-labels-idx1-ubyte',
}
HERE = os.path.dirname(os.path.abspath(__file__))


class Source(NamedTuple):
    env: str        # the environment variable naming a local copy
    sha256: dict    # SHA-256 of each decompressed IDX file
    mirrors: list   # download locations, tried in order
    words: tuple    # the ten labels as words, in label order (the 'words' form of the tasks)
    system_dir: str = ''  # where an OS package installs the files, if any


# SHA-256 of the decompressed IDX files, as published with the dataset.
MNIST_SHA256 = {
    't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
}
FASHION_SHA256 = {
    't10k-images-idx3-ubyte': '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    't10k-labels-idx1-ubyte': '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    'train-images-idx3-ubyte': 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    'train-labels-idx1-ubyte': 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
}
DATASETS = {
    'mnist': Source('MNIST_DIR', MNIST_SHA256, [
        'https://ossci-datasets.s3.amazonaws.com/mnist/',
        'https://storage.googleapis.com/cvdf-datasets/mnist/',
        'http://yann.lecun.com/exdb/mnist/',
    ], ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine')),
    'fashion_mnist': Source('FASHION_MNIST_DIR', FASHION_SHA256, [
        'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
        'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    ], ('T-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'),
        system_dir='/usr/share/datasets/fashion-mnist'),
}
SPLITS = ('train', 'val', 'test')


def source(dataset):
    """The Source of a dataset name, refusing an unknown one in one line."""
    if dataset not in DATASETS:
        raise MNISTError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}, or import a folder of your "
                         "own pictures (make all IMAGES=path/to/folder)")
    return DATASETS[dataset]


def label_words(dataset):
    return list(source(dataset).words)


class MNISTError(SystemExit):
    """A problem with the data files; exits with one line, never a traceback."""

    def __init__(self, msg):
        super().__init__(f"error: {msg}")


def parse_idx(raw, name, want=None):
    """Parse IDX bytes into a uint8 array: (N, rows, cols) for images, (N,) for labels (want: 3 or 1, which)."""
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
    kind = {3: 'images', 1: 'labels'}
    if want is not None and ndim != want:
        raise MNISTError(f"{name} holds {kind[ndim]}, where {kind[want]} are wanted: the files are swapped; use "
                         "the original files under their own names")
    if dims[0] == 0:
        raise MNISTError(f"{name} holds no items; replace it with the original")
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
        except (OSError, EOFError, zlib.error) as e:
            raise MNISTError(f"{path} is a corrupt gzip file ({' '.join(str(e).split())[:80]}); delete it and "
                             "download again")
    return raw


def _download(name, folder, dataset):
    src, errors = source(dataset), []
    for mirror in src.mirrors:
        url = mirror + name + '.gz'
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                raw = gzip.decompress(r.read())
        except Exception as e:  # any network or gzip failure: try the next mirror
            errors.append(f"{url}: {e}")
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest != src.sha256[name]:
            errors.append(f"{url}: SHA-256 {digest[:12]}... does not match {src.sha256[name][:12]}...")
            continue
        atomic_write(os.path.join(folder, name), lambda f: f.write(raw))
        return
    raise MNISTError(f"could not download {name} of {dataset} ({'; '.join(errors)}); connect to the internet, "
                     f"or set {src.env}=/path/to/{dataset} to a local copy")


def _find(folder, name):
    for candidate in (name, name + '.gz'):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    return None


def _folders(dataset):
    """Where the files are looked for, in order: the environment's folder alone when it is set."""
    src = source(dataset)
    local = os.environ.get(src.env)
    if local:
        return [local]
    return [os.path.join(HERE, dataset)] + ([src.system_dir] if src.system_dir else [])


def load_file(key, dataset='mnist'):
    """Return the array of one of the four files (see FILES) of a dataset."""
    name, src = FILES[key], source(dataset)
    folders = _folders(dataset)
    path = next((p for p in (_find(f, name) for f in folders) if p), None)
    if path is None:
        if os.environ.get(src.env):
            raise MNISTError(f"{name}[.gz] not found in {src.env}={folders[0]}; point {src.env} at the folder "
                             f"holding the four {dataset} IDX files, or unset it to download them")
        _download(name, folders[0], dataset)
        path = _find(folders[0], name)
    raw = _read(path)
    if not os.environ.get('UNCHECKED_IDX') and hashlib.sha256(raw).hexdigest() != src.sha256[name]:
        raise MNISTError(f"{path} is not {dataset}'s {name} (its SHA-256 is not the published one: another "
                         f"dataset's file, or an edited one); point {src.env} at the original files, or set "
                         "UNCHECKED_IDX=1 to read IDX files of your own")
    return parse_idx(raw, path, 3 if key.endswith('images') else 1)


def source_files(dataset='mnist'):
    """Paths of the dataset's files in use (for run records)."""
    found = (next((p for p in (_find(f, n) for f in _folders(dataset)) if p), None) for n in FILES.values())
    return [p for p in found if p]


def load_split(split, dataset='mnist'):
    """Images (N, 28, 28) uint8 and labels (N,) uint8 of 'train', 'val' or 'test' of a dataset.

    train and val are the first five sixths and the last sixth of the training
    file (train[0:50000] and train[50000:60000]); test is held out.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    prefix = 'test' if split == 'test' else 'train'
    images, labels = load_file(prefix + '_images', dataset), load_file(prefix + '_labels', dataset)
    if len(images) != len(labels):
        raise MNISTError(f"{FILES[prefix + '_images']} has {len(images)} images but "
                         f"{FILES[prefix + '_labels']} has {len(labels)} labels; use matching files")
    if len(labels) and labels.max() > 9:
        raise MNISTError(f"{FILES[prefix + '_labels']} holds a label of {labels.max()}; {dataset}'s labels are "
                         "0-9: replace the file with the original")
    if split == 'test':
        return images, labels
    n_train = len(images) * 5 // 6
    sl = slice(0, n_train) if split == 'train' else slice(n_train, None)
    return images[sl], labels[sl]
