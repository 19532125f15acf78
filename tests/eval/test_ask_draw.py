import numpy as np
import pytest
from PIL import Image

from data.mnist import load_split
from eval.ask import load_digit
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
    vlm = VLM.load(pipeline['out'])
    pred = vlm.read(vlm.encode(np.stack(digits)))
    # chance gives 4 of 40; 14 or more happens by chance with probability below 1e-4
    assert (pred == labels).sum() >= 14

    p = run('eval.ask', f"--image={tmp_path / '1.png'}", f"--out_dir={pipeline['out']}")
    assert p.stdout.split()[0] in '0123456789' and 'tokens' in p.stdout and p.stderr == ''
    p = run('eval.ask', str(tmp_path / '1.png'), f"--out_dir={pipeline['out']}", check=False)
    assert p.returncode == 1 and '--key=value' in p.stderr and 'Traceback' not in p.stderr


def test_a_stroke_on_a_transparent_background_is_ink(tmp_path):
    rgba = np.zeros((56, 56, 4), np.uint8)
    rgba[10:46, 26:30] = (255, 255, 255, 255)  # a white vertical bar, opaque; the rest transparent
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'one.png')
    digit = load_digit(str(tmp_path / 'one.png'))
    assert digit[:, 13:15].mean() > 150 and digit[:, :8].max() == 0 and digit.mean() < 60


def test_ask_rejects_bad_images_with_one_line(tmp_path):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / 'small.png')
    (tmp_path / 'text.png').write_text('not an image')
    Image.new('L', (5000, 5000)).save(tmp_path / 'huge.png')  # 25 million pixels: a few KB on disk
    for name, message in (('small.png', '20x20 pixels'), ('text.png', 'not a readable image'),
                          ('missing.png', 'not found'), ('huge.png', 'shrink it first')):
        with pytest.raises(SystemExit) as e:
            load_digit(str(tmp_path / name))
        assert message in str(e.value) and '\n' not in str(e.value)


def test_draw_writes_a_grid_of_drawn_digits(pipeline, tmp_path):
    out = tmp_path / 'sevens.png'
    p = run('eval.draw', '--digit=7', '--n=4', f'--out={out}', f"--out_dir={pipeline['out']}")
    assert 'drew 4 x 7' in p.stdout
    grid = np.asarray(Image.open(out).convert('L'))
    assert grid.shape == (2 * 2 * 30, 2 * 2 * 30) and grid.max() > 200  # digits drawn, not an empty grid
    p = run('eval.draw', '--digit=12', f'--out={out}', f"--out_dir={pipeline['out']}", check=False)
    assert p.returncode == 1 and '0-9' in p.stderr
