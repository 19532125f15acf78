"""Shared fixtures: small MNIST-shaped data made here, and one tiny trained pipeline.

The digits are drawn as seven-segment shapes at random offsets with noise: 28x28
uint8, written as real gzipped IDX files, and easy enough that a tiny model
learns them in seconds.
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from filelock import FileLock

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


@pytest.fixture(scope='session', autouse=True)
def one_thread():
    """One CPU thread for torch, here and in the commands the tests start (run() passes the environment on).

    The models here are tiny: a second thread buys nothing, and the suite's workers share the cores; on a busy
    2-core machine torch's threads wait on each other (a draw of 50 tiny pictures: 0.06 s on one thread, 2-6 s on
    two; the tiny run's report 9 s against 44 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('OMP_NUM_THREADS', '1')
        yield
    torch.set_num_threads(before)


def made_once(tmp_path_factory, name, make):
    """The folder `name`, filled by make(folder) once for the whole session: under xdist, by the first worker to
    ask while the others wait on its lock (pytest-xdist's recipe). Every worker reads it, so no test writes in it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        root = root.parent  # the session's folder, above each worker's own
    folder, done = root / name, root / f'{name}.done'
    with FileLock(str(root / f'{name}.lock')):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # the part a worker that failed left
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope='session')
def pipeline(tmp_path_factory):
    """A tiny VQ-VAE, prepared data, a tiny trained GPT and its report, made once for the whole session. The report
    is made with the rest: nothing writes in the run folder once tests read it (on other workers, some copy it)."""
    def make(base):
        env = {'MNIST_DIR': write_mnist(str(base / 'mnist'))}
        vq, data, out = str(base / 'vqvae'), str(base / 'data'), str(base / 'run')
        run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', env_extra=env)
        run('data.records.prepare', f'--vqvae_ckpt={vq}/ckpt.pt', f'--out_dir={data}', env_extra=env)
        run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={out}', env_extra=env)
        run('eval.report', f'--out_dir={out}', f"--judge_ckpt={base / 'judge' / 'j.pt'}", '--n_per_digit=10',
            env_extra=env)

    base = made_once(tmp_path_factory, 'pipeline', make)
    mnist = str(base / 'mnist')
    return dict(mnist=mnist, vqvae=str(base / 'vqvae'), data=str(base / 'data'), out=str(base / 'run'),
                env={'MNIST_DIR': mnist})


@pytest.fixture(scope='session')
def report(pipeline):
    """`eval.report` on the tiny pipeline, with a judge it trained itself (the judge file did not exist yet)."""
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
