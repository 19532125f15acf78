import os

import numpy as np
import pytest
import torch
from PIL import Image

from data.mnist import load_split
from data.mnist_vlm.format import load_meta
from eval.ask import load_digit
from eval.tasks import classify
from nanogpt.model import load_gpt
from tests.conftest import run
from vqvae.model import load_vqvae


def test_ask_reads_test_pngs_far_above_chance(pipeline, tmp_path, monkeypatch):
    monkeypatch.setenv('MNIST_DIR', pipeline['mnist'])
    images, labels = load_split('test')
    images, labels = images[:40], labels[:40]
    digits = []
    for i, img in enumerate(images):
        path = tmp_path / f'{i}.png'
        big = Image.fromarray(img).resize((56, 56)) if i % 2 else Image.fromarray(255 - img).convert('RGB')
        big.save(path)  # every other one larger, the rest dark-on-light colour: both must read as MNIST
        digits.append(load_digit(str(path)))
    meta = load_meta(pipeline['data'])
    model, _ = load_gpt(os.path.join(pipeline['out'], 'ckpt.pt'), vocab_size=meta['vocab_size'])
    vq = load_vqvae(os.path.join(pipeline['vqvae'], 'ckpt.pt'))
    pred = classify(model, vq.encode(torch.from_numpy(np.stack(digits))).numpy(), meta)
    # chance gives 4 of 40; 14 or more happens by chance with probability below 1e-4
    assert (pred == labels).sum() >= 14

    p = run('eval.ask', str(tmp_path / '1.png'), f"--out_dir={pipeline['out']}", f"--data_dir={pipeline['data']}",
            f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt")
    assert p.stdout.split()[0] in '0123456789' and 'tokens' in p.stdout


def test_ask_rejects_bad_images_with_one_line(tmp_path):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / 'small.png')
    (tmp_path / 'text.png').write_text('not an image')
    for name, message in (('small.png', '20x20 pixels'), ('text.png', 'not a readable image'),
                          ('missing.png', 'not found')):
        with pytest.raises(SystemExit) as e:
            load_digit(str(tmp_path / name))
        assert message in str(e.value) and '\n' not in str(e.value)


def test_draw_writes_a_grid(pipeline, tmp_path):
    out = tmp_path / 'sevens.png'
    p = run('eval.draw', '7', '--n', '4', '--out', str(out), f"--out_dir={pipeline['out']}",
            f"--data_dir={pipeline['data']}", f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt")
    assert 'drew 4 x 7 (100% well formed)' in p.stdout
    assert Image.open(out).size == (2 * 2 * 30, 2 * 2 * 30)
