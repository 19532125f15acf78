"""data/records/prepare.py: pictures -> the text records of every task, deterministic, and never half written.
(The record format itself is tested in tests/tasks/test_vocab.py.)"""
import hashlib
import json
import os
import pickle
import shutil

import numpy as np

from data.mnist import load_split
from tasks.vocab import load_meta
from tests.conftest import run


def digest(folder):
    """Checksums of the data files; run.json records when and how fast a run went, so it differs by design."""
    return {f: hashlib.sha256(open(os.path.join(folder, f), 'rb').read()).hexdigest()
            for f in sorted(os.listdir(folder)) if f != 'run.json'}


def test_prepare_writes_both_forms_and_is_deterministic(pipeline, tmp_path, monkeypatch):
    data = pipeline['data']
    meta = load_meta(data)
    assert meta == {**json.load(open(os.path.join(data, 'meta.json'))), 'itos': meta['itos'], 'stoi': meta['stoi']}
    assert meta['tasks'] == ['read', 'draw'] and meta['vqvae']['path'] == f"{pipeline['vqvae']}/ckpt.pt"
    with open(os.path.join(data, 'meta.pkl'), 'rb') as f:
        pkl = pickle.load(f)
    assert pkl['stoi'] == meta['stoi'] and pkl['itos'] == meta['itos'] and pkl['vocab_size'] == meta['vocab_size']
    lines = open(os.path.join(data, 'train.txt'), encoding='utf-8').read().splitlines()
    assert len(lines) == 2 * 300 and all(len(l) == meta['seq_len'] for l in lines)
    assert lines[0].startswith('image:') and lines[1].startswith('number:')
    # the two forms of an image carry the same letters and label
    letters, label = lines[0][6:22], lines[0][-2]
    assert lines[1] == f'number:{label}, image:{letters}.'
    ids = np.fromfile(os.path.join(data, 'train.bin'), dtype=np.uint16)
    assert ''.join(meta['itos'][i] for i in ids[:meta['seq_len']]) == lines[0]
    test = np.load(os.path.join(data, 'test.npz'))
    assert test['codes'].shape == (120, 16) and len(test['labels']) == 120
    monkeypatch.setenv('MNIST_DIR', pipeline['mnist'])
    images, labels = load_split('test')
    assert np.array_equal(test['images'], images) and np.array_equal(test['labels'], labels)
    # each record's task and answer span, and the picture it shows (what a model that reads pixels sees)
    layout = np.load(os.path.join(data, 'train_layout.npy'))
    assert layout.shape == (600, 3) and layout.dtype == np.int16
    assert list(layout[0]) == [0, len('image:') + 16 + len(', number:'), len(lines[0]) - 1]  # read: the label
    assert list(layout[1]) == [1, len(f'number:{label}, image:'), len(lines[1]) - 1]  # draw: the letters
    pixels = np.load(os.path.join(data, 'train_images.npy'))
    assert pixels.shape == (600, 28, 28) and np.array_equal(pixels[0], pixels[1])  # both forms of one picture

    again = str(tmp_path / 'again')
    run('data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={again}',
        env_extra=pipeline['env'])
    assert digest(again) == digest(data) and 'train.bin' in digest(data)
    assert json.load(open(os.path.join(again, 'run.json')))['resources']['peak_rss_mb'] > 50

    one = str(tmp_path / 'one')
    run('data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={one}', '--both_forms=False',
        env_extra=pipeline['env'])
    single = open(os.path.join(one, 'train.txt')).read().splitlines()
    assert len(single) == 300 and {l[:6] for l in single} == {'image:', 'number'}

    for gen, n in ((False, 3 * 300), (True, 4 * 300)):
        aug = str(tmp_path / f'aug{gen}')
        run('data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={aug}',
            '--augment_copies=1', f'--augment_draw={gen}', env_extra=pipeline['env'])
        augmented = open(os.path.join(aug, 'train.txt'), encoding='utf-8').read().splitlines()
        assert len(augmented) == n and augmented[:600] == lines
        # the copies are new images (other letters), read in either form only when asked
        assert {l[:6] for l in augmented[600:]} == ({'image:', 'number'} if gen else {'image:'})
        assert len(set(augmented[600:]) - set(lines)) > 250


def test_prepare_without_a_vqvae_says_what_to_do(tmp_path, tiny_mnist):
    p = run('data.records.prepare', f'--vqvae_ckpt={tmp_path}/none.pt', f'--out_dir={tmp_path}/d', check=False)
    assert p.returncode != 0 and 'make vqvae' in p.stderr and 'Traceback' not in p.stderr
    assert not os.path.exists(tmp_path / 'd')


def test_prepare_that_fails_on_its_input_leaves_the_data_whole(pipeline, tmp_path):
    data = str(tmp_path / 'data')
    shutil.copytree(pipeline['data'], data)  # the data prepare makes with these settings: the pipeline's, copied
    before = digest(data)
    p = run('data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={data}',
            env_extra={'MNIST_DIR': str(tmp_path / 'empty')}, check=False)
    assert p.returncode != 0 and 'not found in MNIST_DIR' in p.stderr and digest(data) == before

