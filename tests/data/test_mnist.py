import gzip
import hashlib
import io
import os

import numpy as np
import pytest

from data import mnist
from tests.conftest import idx_bytes, write_mnist


def test_reads_gzipped_and_raw_files_and_splits_five_sixths(tmp_path, monkeypatch):
    for gz in (True, False):
        folder = write_mnist(str(tmp_path / f'gz{gz}'), n_train=120, n_test=30, gz=gz)
        monkeypatch.setenv('MNIST_DIR', folder)
        x, y = mnist.load_split('train')
        vx, vy = mnist.load_split('val')
        tx, ty = mnist.load_split('test')
        assert x.shape == (100, 28, 28) and vx.shape == (20, 28, 28) and tx.shape == (30, 28, 28)
        assert x.dtype == np.uint8 and y.shape == (100,) and set(ty) <= set(range(10))
        assert x.max() > 200  # the digits are really there


@pytest.mark.parametrize('damage, message', [
    (lambda b: b'\x00\x00\x09\x03' + b[4:], 'bad magic number'),
    (lambda b: b[:-100], 'truncated or corrupt'),
    (lambda b: b[:6], 'truncated'),
    (lambda b: b[:8] + (99).to_bytes(4, 'big') + b[12:], 'not 28x28'),
])
def test_damaged_files_give_one_clear_line(tmp_path, monkeypatch, capsys, damage, message):
    folder = write_mnist(str(tmp_path / 'm'), n_train=60, n_test=10, gz=False)
    path = os.path.join(folder, 'train-images-idx3-ubyte')
    with open(path, 'rb') as f:
        raw = f.read()
    with open(path, 'wb') as f:
        f.write(damage(raw))
    monkeypatch.setenv('MNIST_DIR', folder)
    with pytest.raises(SystemExit) as e:
        mnist.load_split('train')
    text = str(e.value)
    assert text.startswith('error:') and message in text and 'train-images-idx3-ubyte' in text and '\n' not in text


def test_corrupt_gzip_and_mismatched_counts(tmp_path, monkeypatch):
    folder = write_mnist(str(tmp_path / 'm'), n_train=60, n_test=10)
    with open(os.path.join(folder, 't10k-images-idx3-ubyte.gz'), 'wb') as f:
        f.write(b'\x1f\x8b' + b'garbage' * 10)
    monkeypatch.setenv('MNIST_DIR', folder)
    with pytest.raises(SystemExit, match='corrupt gzip'):
        mnist.load_split('test')
    with gzip.open(os.path.join(folder, 't10k-images-idx3-ubyte.gz'), 'wb') as f:
        f.write(idx_bytes(np.zeros((11, 28, 28), np.uint8)))
    with pytest.raises(SystemExit, match='11 images but .* 10 labels'):
        mnist.load_split('test')


def test_a_garbled_gzip_swapped_files_and_no_items_are_one_line_each(tmp_path, monkeypatch):
    folder = write_mnist(str(tmp_path / 'm'), n_train=60, n_test=10)
    monkeypatch.setenv('MNIST_DIR', folder)
    path = os.path.join(folder, 't10k-images-idx3-ubyte.gz')
    good = open(path, 'rb').read()
    garbled = bytearray(gzip.compress(idx_bytes(np.full((10, 28, 28), 7, np.uint8))))
    garbled[20:40] = b'\xff' * 20  # the gzip header is right; the deflate stream inside is not
    open(path, 'wb').write(bytes(garbled))
    with pytest.raises(SystemExit, match='is a corrupt gzip file') as e:
        mnist.load_split('test')
    assert '\n' not in str(e.value)
    open(path, 'wb').write(gzip.compress(idx_bytes(np.arange(10, dtype=np.uint8))))  # labels where images belong
    with pytest.raises(SystemExit, match='holds labels, where images are wanted: the files are swapped'):
        mnist.load_split('test')
    open(path, 'wb').write(gzip.compress(idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    with pytest.raises(SystemExit, match='holds no items'):
        mnist.load_split('test')
    open(path, 'wb').write(good)
    assert mnist.load_split('test')[0].shape == (10, 28, 28)


def test_local_files_must_be_the_published_ones_unless_they_are_your_own(tmp_path, monkeypatch):
    folder = write_mnist(str(tmp_path / 'm'), n_train=60, n_test=10)
    monkeypatch.setenv('MNIST_DIR', folder)
    monkeypatch.setenv('FASHION_MNIST_DIR', folder)
    assert mnist.load_split('test')[0].shape == (10, 28, 28)  # UNCHECKED_IDX=1 (tests/conftest.py): our own files
    monkeypatch.delenv('UNCHECKED_IDX')
    for dataset in ('mnist', 'fashion_mnist'):
        with pytest.raises(SystemExit) as e:
            mnist.load_split('test', dataset)
        said = str(e.value)
        assert said.startswith('error: ') and 't10k-images-idx3-ubyte' in said and '\n' not in said
        assert f"is not {dataset}'s" in said and 'UNCHECKED_IDX=1' in said


@pytest.mark.skipif(not os.path.isdir('../shared/data/mnist'), reason='no local MNIST copy')
def test_fashion_mnist_folder_holding_mnist_is_refused(monkeypatch):
    monkeypatch.delenv('UNCHECKED_IDX', raising=False)
    monkeypatch.setenv('FASHION_MNIST_DIR', os.path.abspath('../shared/data/mnist'))
    with pytest.raises(SystemExit, match="is not fashion_mnist's t10k-images-idx3-ubyte"):
        mnist.load_split('test', 'fashion_mnist')


def test_missing_local_copy_names_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv('MNIST_DIR', str(tmp_path))
    with pytest.raises(SystemExit, match=r'train-images-idx3-ubyte\[.gz\] not found in MNIST_DIR'):
        mnist.load_split('train')


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_download_checks_sha256_and_tries_every_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv('MNIST_DIR', raising=False)
    monkeypatch.setattr(mnist, 'HERE', str(tmp_path / 'cache'))
    good = idx_bytes(np.arange(12, dtype=np.uint8) % 10)
    monkeypatch.setitem(mnist.MNIST_SHA256, 'train-labels-idx1-ubyte', hashlib.sha256(good).hexdigest())
    tried = []

    def urlopen(url, timeout):
        tried.append(url)
        if len(tried) == 1:
            raise OSError('mirror down')
        payload = good if len(tried) == 3 else good[:-1] + b'\x07'  # the second mirror serves bad bytes
        return FakeResponse(gzip.compress(payload))

    monkeypatch.setattr(mnist.urllib.request, 'urlopen', urlopen)
    labels = mnist.load_file('train_labels')
    assert len(tried) == 3 and list(labels) == list(np.arange(12) % 10)
    assert os.path.exists(tmp_path / 'cache' / 'mnist' / 'train-labels-idx1-ubyte')

    tried.clear()
    monkeypatch.setattr(mnist, 'HERE', str(tmp_path / 'cache2'))
    monkeypatch.setattr(mnist.urllib.request, 'urlopen', lambda url, timeout: FakeResponse(gzip.compress(b'x' * 20)))
    with pytest.raises(SystemExit) as e:
        mnist.load_file('train_labels')
    assert 'does not match' in str(e.value) and 'MNIST_DIR' in str(e.value)
    assert not os.path.exists(tmp_path / 'cache2' / 'mnist' / 'train-labels-idx1-ubyte')


@pytest.mark.skipif(not os.path.isdir(os.environ.get('MNIST_DIR') or '/nonexistent'), reason='no local MNIST copy')
def test_real_mnist_when_present():
    x, y = mnist.load_split('train')
    tx, ty = mnist.load_split('test')
    assert x.shape == (50000, 28, 28) and len(mnist.load_split('val')[0]) == 10000 and tx.shape == (10000, 28, 28)
    assert list(y[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4] and list(ty[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_fashion_mnist_has_its_own_variable_and_words(tmp_path, monkeypatch):
    monkeypatch.setenv('FASHION_MNIST_DIR', str(tmp_path))
    with pytest.raises(SystemExit, match=r'not found in FASHION_MNIST_DIR'):
        mnist.load_split('test', 'fashion_mnist')
    with pytest.raises(SystemExit, match=r"unknown dataset 'cifar'; use one of mnist, fashion_mnist"):
        mnist.load_split('test', 'cifar')
    assert mnist.label_words('fashion_mnist')[9] == 'ankle boot' and mnist.label_words('mnist')[7] == 'seven'


def test_debian_folder_is_a_fallback(tmp_path, monkeypatch):
    monkeypatch.delenv('FASHION_MNIST_DIR', raising=False)
    monkeypatch.setattr(mnist, 'HERE', str(tmp_path / 'none'))
    system = tmp_path / 'usr'
    system.mkdir()
    (system / 't10k-labels-idx1-ubyte').write_bytes(idx_bytes(np.array([9, 2, 1], dtype=np.uint8)))
    monkeypatch.setitem(mnist.DATASETS, 'fashion_mnist', mnist.DATASETS['fashion_mnist']._replace(system_dir=str(system)))
    assert list(mnist.load_file('test_labels', 'fashion_mnist')) == [9, 2, 1]


@pytest.mark.skipif(not os.path.isdir(os.environ.get('FASHION_MNIST_DIR') or '/nonexistent'),
                    reason='no local Fashion-MNIST copy')
def test_real_fashion_mnist_when_present():
    tx, ty = mnist.load_split('test', 'fashion_mnist')
    assert tx.shape == (10000, 28, 28) and list(ty[:10]) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    for path in mnist.source_files('fashion_mnist')[2:]:
        raw = mnist._read(path)
        assert hashlib.sha256(raw).hexdigest() == mnist.FASHION_SHA256[os.path.basename(path).removesuffix('.gz')]


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.builds(lambda b, n: b'\x00\x00\x08\x01' + n.to_bytes(4, 'big') + b,
                                          st.binary(max_size=20), st.integers(0, 30)))
def test_any_bytes_give_data_or_one_clear_error(raw):
    try:
        arr = mnist.parse_idx(raw, 'fuzz')
    except SystemExit as e:
        assert str(e).startswith('error: fuzz') and '\n' not in str(e)
    else:
        assert arr.dtype == np.uint8 and arr.shape[0] == int.from_bytes(raw[4:8], 'big')
