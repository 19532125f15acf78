"""Shared fixtures: small MNIST-shaped data made here, and one tiny trained pipeline.

The digits are drawn as seven-segment shapes at random offsets with noise: 28x28
uint8, written as real gzipped IDX files, and easy enough that a tiny model
learns them in seconds.
"""
import gzip
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

# the digits drawn here are IDX files of our own, not the published MNIST: data/mnist.py reads them unchecked
# (tests/data/test_mnist.py takes this away to see the check refuse them)
os.environ.setdefault('UNCHECKED_IDX', '1')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEGMENTS = {  # (row0, row1, col0, col1) in a 20x12 box
    'a': (0, 2, 0, 12), 'b': (0, 10, 10, 12), 'c': (10, 20, 10, 12), 'd': (18, 20, 0, 12),
    'e': (10, 20, 0, 2), 'f': (0, 10, 0, 2), 'g': (9, 11, 0, 12),
}
DIGIT_SEGMENTS = ['abcdef', 'bc', 'abdeg', 'abcdg', 'bcfg', 'acdfg', 'acdefg', 'abc', 'abcdefg', 'abcdfg']


def draw_digits(labels, rng):
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    for img, d in zip(images, labels):
        r, c = rng.integers(3, 6), rng.integers(7, 10)
        for s in DIGIT_SEGMENTS[d]:
            r0, r1, c0, c1 = SEGMENTS[s]
            img[r + r0:r + r1, c + c0:c + c1] = 255
        noise = rng.integers(0, 40, img.shape)
        img[:] = np.clip(img.astype(int) - noise * (img > 0) + noise * (rng.random(img.shape) < 0.02), 0, 255)
    return images


def idx_bytes(array):
    magic = bytes([0, 0, 8, array.ndim])
    dims = b''.join(int(n).to_bytes(4, 'big') for n in array.shape)
    return magic + dims + array.astype(np.uint8).tobytes()


def write_mnist(folder, n_train=360, n_test=120, seed=0, gz=True):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for prefix, n in (('train', n_train), ('t10k', n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        for kind, arr in (('images-idx3', draw_digits(labels, rng)), ('labels-idx1', labels.astype(np.uint8))):
            name = os.path.join(folder, f'{prefix}-{kind}-ubyte')
            data = idx_bytes(arr)
            if gz:
                with gzip.open(name + '.gz', 'wb') as f:
                    f.write(data)
            else:
                with open(name, 'wb') as f:
                    f.write(data)
    return folder


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    folder = write_mnist(str(tmp_path / 'mnist'))
    monkeypatch.setenv('MNIST_DIR', folder)
    return folder


def run(module, *args, env_extra=None, check=True):
    """Run `python -m module args` from the repository root; return the completed process."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', **(env_extra or {}))
    p = subprocess.run([sys.executable, '-m', module, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{module} failed:\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope='session')
def pipeline(tmp_path_factory):
    """A tiny VQ-VAE, prepared data and a tiny trained GPT, made once for the whole session."""
    base = tmp_path_factory.mktemp('pipeline')
    mnist = write_mnist(str(base / 'mnist'))
    env = {'MNIST_DIR': mnist}
    vq, data, out = str(base / 'vqvae'), str(base / 'data'), str(base / 'run')
    run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', env_extra=env)
    run('data.records.prepare', f'--vqvae_ckpt={vq}/ckpt.pt', f'--out_dir={data}', env_extra=env)
    run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={out}', env_extra=env)
    return dict(mnist=mnist, vqvae=vq, data=data, out=out, env=env)


@pytest.fixture(scope='session')
def report(pipeline, tmp_path_factory):
    """`eval.report` on the tiny pipeline, with a judge it trains itself (the judge file does not exist yet)."""
    judge = str(tmp_path_factory.mktemp('report_judge') / 'j.pt')
    run('eval.report', f"--out_dir={pipeline['out']}", f'--judge_ckpt={judge}', '--n_per_digit=10',
        env_extra=pipeline['env'])
    return os.path.join(pipeline['out'], 'eval')


@pytest.fixture(scope='session')
def served(report):
    """eval/serve.py over the tiny run and the judge of its report, on a free loopback port, in a thread."""
    from eval.serve import load_app, make_server
    judge = json.load(open(os.path.join(report, 'results.json')))['judge']['path']
    server = make_server(load_app(os.path.dirname(report), judge))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()
