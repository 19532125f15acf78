import json
import os

import numpy as np
import pytest

from data.mnist import load_split
from eval.report import Evaluation
from eval.scores import frechet_distance
from nanogpt.vlm import VLM
from tasks.draw import DRAW, SURE, TRIES
from tests.conftest import run


@pytest.fixture(scope='module')
def judge(pipeline, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('judge') / 'ckpt.pt')
    # float32 wherever the suite runs, so that its readings do not depend on the machine's bf16
    p = run('eval.judge', f'--out={path}', '--epochs=15', '--dtype=float32', env_extra=pipeline['env'])
    assert 'judge epoch 1' in p.stdout  # trained on the first call
    p = run('eval.judge', f'--out={path}', env_extra=pipeline['env'])
    assert 'judge epoch' not in p.stdout and 'judge test accuracy' in p.stdout  # cached on the second
    record = json.load(open(os.path.join(os.path.dirname(path), 'run.json')))
    assert record['results']['test_accuracy'] > 0.8 and record['resources']['wall_seconds'] > 0
    acc = float(p.stdout.split('judge test accuracy ')[1].split()[0])
    assert acc > 0.8  # the seven-segment digits are easy for a CNN
    return path


def test_a_judge_trains_under_bf16_and_refuses_float16_in_one_line(pipeline, tmp_path):
    import torch
    path = tmp_path / 'bf16' / 'ckpt.pt'
    p = run('eval.judge', f'--out={path}', '--epochs=3', '--dtype=bfloat16', env_extra=pipeline['env'])
    record = json.load(open(path.parent / 'run.json'))
    assert torch.load(path, weights_only=True)['dtype'] == record['config']['dtype'] == 'bfloat16'
    assert 'judge epoch 3' in p.stdout and record['results']['test_accuracy'] > 0.5
    p = run('eval.judge', f"--out={tmp_path / 'half' / 'ckpt.pt'}", '--dtype=float16', env_extra=pipeline['env'],
            check=False)
    said = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(said) == 1 and "dtype='float16'" in said[0]
    assert not os.path.exists(tmp_path / 'half')


def test_frechet_distance_is_zero_on_itself_and_grows_with_shift():
    f = np.random.default_rng(0).normal(size=(500, 8))
    assert abs(frechet_distance(f, f)) < 1e-6
    assert frechet_distance(f, f + 1.0) == pytest.approx(8.0, rel=1e-6)  # ||mu||^2 for a pure shift


def test_scores_judge_the_images_not_the_labels(judge, pipeline, monkeypatch):
    monkeypatch.setenv('MNIST_DIR', pipeline['mnist'])
    ev = Evaluation(VLM.from_pretrained(pipeline['out']), judge, 'test', memorisation=False)
    images, labels = load_split('test')
    assert (ev.pictures == images).all() and (ev.labels == labels).all()
    codes = np.zeros((len(labels), 16), dtype=np.int64)  # every drawing the same string of the first letter
    ev.train_strings = set()
    real = DRAW.measure(ev, images, labels, codes)
    ev.train_strings = {ev.meta['image_alphabet'][0] * 16}
    blank = DRAW.measure(ev, np.zeros_like(images), labels, codes)
    assert real['judge_accuracy'] > 0.8 and blank['judge_accuracy'] <= 0.2  # same labels, different pictures
    assert real['fid'] < 1e-3 and blank['fid'] > 1.0
    assert real['memorised'] == 0.0 and blank['memorised'] == 1.0 and blank['distinct'] == 1
    assert len(real['per_digit']) == 10 and all(d['fid'] < 1e-3 for d in real['per_digit'])


def test_report_has_every_field(report):
    ev = report
    r = json.load(open(os.path.join(ev, 'results.json')))
    for key in ('tasks', 'tokenizer_ceiling', 'real_floor_fid', 'judge', 'train_config', 'data_meta', 'machine',
                'resources', 'vqvae', 'meta_sha256'):
        assert key in r
    assert r['tasks'] == r['data_meta']['tasks'] == ['read', 'draw']  # eval ran what the run was trained on
    assert {'accuracy', 'ci95', 'confusion', 'trail', 'free_non_label_rate'} <= set(r['classification'])
    assert 0.1 <= r['classification']['majority_baseline'] < 0.2  # ten digits, about equally common
    gen = r['generation']
    for g in gen.values():
        assert {'judge_accuracy', 'fid', 'distinct', 'memorised', 'per_digit', 'well_formed'} <= set(g)
    assert set(gen) == {'t', 'low_t', 'guided_once', 'guided', 'greedy'}
    # guided: drawn again while the run is not sure it reads as asked; guided_once: its first drawings alone
    assert gen['guided']['tries'] == TRIES and gen['guided']['sure'] == SURE
    assert 1 <= gen['guided']['drawings_per_picture'] <= TRIES
    assert gen['guided']['judge_accuracy'] >= gen['guided_once']['judge_accuracy'] - 0.05
    assert [gen[k]['temperature'] for k in ('t', 'low_t', 'guided', 'greedy')] == [1.0, 0.7, 1.0, 0.0]
    assert [gen[k]['guidance'] for k in ('t', 'low_t', 'guided_once', 'guided', 'greedy')] == [0.0, 0.0, 1.0, 1.0, 0.0]
    assert gen['t']['n'] == 100
    assert set(r['tokenizer_ceiling']) == {'judge_accuracy', 'mse', 'fid'}
    for png in ('accuracy_vs_iter', 'generated_first_last', 'reconstructions', 'confusion', 'token_histograms'):
        assert os.path.getsize(os.path.join(ev, png + '.png')) > 1000
    md = open(os.path.join(ev, 'report.md')).read()
    assert 'judge accuracy' in md and 'FID' in md and f"{r['classification']['accuracy']:.4f}" in md
    alone = r['encoder_alone']  # a letters run: a linear probe of its tokenizer's codes, the part it reads through
    assert alone['part'] == 'tokenizer' and alone['accuracy'] > 0.3 and '## The tokenizer alone' in md
