import os

import numpy as np
import torch

from nanogpt.pretrain import linear_probe, predict, pretrain, pretrain_steps, Probe
from nanogpt.vision import ImageEncoder
from nanogpt.vlm import VLM
from tests.conftest import run


def squares(n, seed=0):
    """28x28 grey pictures whose label (0-3) is the quadrant a faint 6x6 square sits in, over noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    x = rng.integers(0, 120, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = 4 + 14 * (k // 2) + rng.integers(0, 4), 4 + 14 * (k % 2) + rng.integers(0, 4)
        x[i, r:r + 6, c:c + 6] = 200
    return x, labels


def encoder(seed=0):
    torch.manual_seed(seed)
    return ImageEncoder('cnn', 16, 16, width=8, vectors=1)


def test_pretraining_teaches_the_encoder_the_labels_and_is_seeded():
    x, y = squares(600)
    vx, vy = squares(200, seed=1)
    enc = encoder()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    acc, seconds = pretrain(enc, x, y, 4, iters=150, batch_size=32, learning_rate=3e-3, pixel_shift=1, seed=0,
                            val=(vx, vy), log=None)
    assert acc >= 0.95 and seconds > 0
    assert any(not torch.equal(v, enc.state_dict()[k]) for k, v in before.items())
    again = encoder()
    assert pretrain(again, x, y, 4, 150, 32, 3e-3, 1, 0, val=(vx, vy), log=None)[0] == acc
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in enc.state_dict().items())
    # what it learnt is in its vectors: a linear probe of them reads the held-out squares
    assert linear_probe(enc, (x, y), (vx, vy), 4, epochs=30, batch_size=64) >= 0.95
    # a probe on vectors that say nothing reads at chance, whatever the head fits on the training vectors
    blank = encoder()
    blank.proj[1].weight.data.zero_()
    blank.proj[1].bias.data.zero_()
    assert linear_probe(blank, (x, y), (vx, vy), 4, epochs=5, batch_size=64) < 0.4
    model = Probe(encoder(), 4)
    assert predict(model, vx[:7]).shape == (7,) and model.training  # predict leaves the mode as it found it
    # random erasing is another stream of pictures: another encoder, which still learns the squares
    erased = encoder()
    assert pretrain(erased, x, y, 4, 150, 32, 3e-3, 1, 0, val=(vx, vy), log=None, erase=4)[0] >= 0.9
    assert any(not torch.equal(v, erased.state_dict()[k]) for k, v in enc.state_dict().items())


def test_the_encoders_steps_are_capped_by_passes_over_the_pictures_only_when_asked():
    assert pretrain_steps(6000, 0, 6300, 128) == 6000  # no cap
    assert pretrain_steps(6000, 60, 54000, 128) == 6000  # a large dataset: the steps come first
    assert pretrain_steps(6000, 60, 6300, 128) == 2954  # a small folder: 60 passes, the last one partial
    assert pretrain_steps(6000, 1, 100, 128) == 1


def test_a_run_with_a_pretrained_encoder_keeps_it_frozen_and_resumes_only_as_one(pipeline, tmp_path):
    out = str(tmp_path / 'pre')
    args = ('tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}', '--max_iters=6',
            '--eval_interval=3', '--lr_decay_iters=6', '--image_input=cnn', '--image_vectors=1')
    p = run('nanogpt.train', *args, '--encoder_iters=40', '--encoder_erase=4', env_extra=pipeline['env'])
    assert 'encoder alone: 40 steps (' in p.stdout and 'validation reading' in p.stdout and 'frozen) on' in p.stdout
    snaps = [torch.load(os.path.join(out, f'ckpt_{i}.pt'), weights_only=True) for i in (0, 3, 6)]
    for k, v in snaps[0]['encoder'].items():  # the GPT's steps leave the pretrained encoder as it was: its batch
        assert torch.equal(v, snaps[2]['encoder'][k])  # norm's running statistics too, by which it reads
    assert not torch.equal(snaps[0]['model']['lm_head.weight'], snaps[2]['model']['lm_head.weight'])
    assert snaps[0]['train_seconds'] > 0  # the encoder's own steps count as training time
    assert VLM.from_pretrained(out).image_input == 'cnn'
    for extra, says in ((('--encoder_iters=0', '--init_from=resume', '--max_iters=9'), 'encoder_iters=40'),
                        (('--encoder_iters=40', '--image_input=letters', '--force=True'), 'has none'),
                        (('--encoder_iters=0', '--encoder_erase=8', '--force=True'), 'needs encoder_iters > 0'),
                        (('--encoder_iters=40', '--encoder_erase=15', '--force=True'), "'encoder_erase' must be in")):
        p = run('nanogpt.train', *args, *extra, env_extra=pipeline['env'], check=False)
        assert p.returncode == 1 and says in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_an_encoder_of_five_views_trains_reads_and_resumes_only_as_one(pipeline, tmp_path):
    out = str(tmp_path / 'views')
    args = ('tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}', '--max_iters=4',
            '--eval_interval=4', '--lr_decay_iters=4', '--image_input=cnn', '--image_vectors=1', '--encoder_iters=20')
    run('nanogpt.train', *args, '--encoder_views=5', env_extra=pipeline['env'])
    vlm = VLM.from_pretrained(out)
    assert vlm.encoder.args['views'] == 5 and not vlm.encoder.training
    images = np.load(os.path.join(pipeline['data'], 'val.npz'))['images']
    assert len(vlm.read(images[:10])) == 10
    before = open(os.path.join(out, 'last.pt'), 'rb').read()
    for extra, says in ((('--init_from=resume', '--max_iters=8'), 'encoder_views=5 (asked 1)'),
                        (('--encoder_views=3', '--force=True'), '1, 5 or 9')):
        p = run('nanogpt.train', *args, *extra, env_extra=pipeline['env'], check=False)
        assert p.returncode == 1 and says in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert open(os.path.join(out, 'last.pt'), 'rb').read() == before
