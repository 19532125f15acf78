import json
import os

import numpy as np
from PIL import Image

from data.mnist import load_split
from eval.picture import load_digit
from nanogpt.engine import GUIDANCE
from nanogpt.vlm import VLM
from tests.conftest import run


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
    vlm = VLM.from_pretrained(pipeline['out'])
    pred = vlm.read(np.stack(digits))
    # chance gives 4 of 40; 14 or more happens by chance with probability below 1e-4
    assert (pred == labels).sum() >= 14

    p = run('eval.ask', f"--image={tmp_path / '1.png'}", f"--out_dir={pipeline['out']}")
    assert p.stdout.split()[0] in '0123456789' and 'letters' in p.stdout and p.stderr == ''
    p = run('eval.ask', str(tmp_path / '1.png'), f"--out_dir={pipeline['out']}", check=False)
    assert p.returncode == 1 and '--key=value' in p.stderr and 'Traceback' not in p.stderr


def test_ask_refuses_a_second_picture_without_a_question(pipeline, tmp_path):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / 'x.png')
    image, image2 = f"--image={tmp_path / 'x.png'}", f"--image2={tmp_path / 'x.png'}"
    out = f"--out_dir={pipeline['out']}"
    for args in ((image2,), (image, image2, out), (image, image2, out, '--question=  ')):
        p = run('eval.ask', *args, check=False)
        assert p.returncode != 0 and 'Traceback' not in p.stderr and p.stdout == ''
        assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith('error: ')
        if image in args:  # refused for what it asks, before the run is loaded
            assert '--image2' in p.stderr and '--question' in p.stderr


def test_draw_writes_a_grid_of_drawn_digits(pipeline, tmp_path):
    out = tmp_path / 'sevens.png'
    p = run('eval.draw', '--digit=7', '--n=4', f'--out={out}', f"--out_dir={pipeline['out']}")
    assert 'drew 4 x 7' in p.stdout
    grid = np.asarray(Image.open(out).convert('L'))
    assert grid.shape == (2 * 2 * 30, 2 * 2 * 30) and grid.max() > 200  # digits drawn, not an empty grid
    p = run('eval.draw', '--digit=12', f'--out={out}', f"--out_dir={pipeline['out']}", check=False)
    assert p.returncode == 1 and '0-9' in p.stderr


def test_draw_scores_drawings_in_the_report(pipeline, report, tmp_path):
    # eval.draw draws with classifier-free guidance by default, one seed drawing the same grid
    first, again = tmp_path / 'a.png', tmp_path / 'b.png'
    for out in (first, again):
        p = run('eval.draw', '--digit=3', '--n=9', '--seed=5', f'--out={out}', f"--out_dir={pipeline['out']}")
        assert 'drew 9 x 3' in p.stdout and 'well formed' in p.stdout
    grid = np.asarray(Image.open(first).convert('L'))
    assert grid.shape == (2 * 3 * 30, 2 * 3 * 30) and grid.max() > 200
    assert (grid == np.asarray(Image.open(again).convert('L'))).all()
    # the drawings `make eval` scores: the guided ones at the default weight, judged on the decoded pictures
    with open(os.path.join(report, 'results.json')) as f:
        g = json.load(f)['generation']['guided']
    assert g['n'] == 100 and g['guidance'] == GUIDANCE == 1.0 and 0 <= g['judge_accuracy'] <= 1
    assert g['fid'] >= 0 and 1 <= g['distinct'] <= 100 and len(g['per_digit']) == 10
    assert [d['n'] for d in g['per_digit']] == [10] * 10
    with np.load(os.path.join(report, 'generated.npz')) as npz:  # the guided drawings themselves
        assert npz['images'].shape == (100, 28, 28) and (npz['labels'] == np.repeat(np.arange(10), 10)).all()
