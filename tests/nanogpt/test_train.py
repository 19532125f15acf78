import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from nanogpt.batches import length_groups, loss_weights, make_targets, parse_mix, step_indices, weighted_loss
from nanogpt.model import GPT, GPTConfig
from tests.conftest import ROOT, run

NANOGPT_CKPT_KEYS = {'model', 'optimizer', 'model_args', 'iter_num', 'best_val_loss', 'config'}


def test_batches_are_whole_records_with_padding_masked():
    L, pad = 9, 0
    records = torch.randint(1, 30, (50, L))
    records[:, -3:] = pad  # padding at the end of every record
    records[:, 0] = torch.arange(50) + 100  # mark each record's start
    targets = make_targets(records, pad)
    ix = step_indices(len(records), 32, 1, 1, torch.Generator().manual_seed(0))[0, 0]
    x, y = records[ix, :-1], targets[ix]
    assert x.shape == y.shape == (32, L - 1)
    for xi, yi in zip(x, y):
        r = records[int(xi[0]) - 100]
        assert torch.equal(xi, r[:-1])  # the row starts at a record boundary
        assert torch.equal(yi[:-3], r[1:-3]) and (yi[-3:] == -1).all()  # padding is never a target


def test_processes_split_the_records_one_process_sees():
    # 2 processes x 1 micro-step see exactly what 1 process sees in 2 micro-steps, in the same order
    one = step_indices(1000, 8, 2, 1, torch.Generator().manual_seed(3))
    two = step_indices(1000, 8, 1, 2, torch.Generator().manual_seed(3))
    assert torch.equal(one[0, 0], two[0, 0]) and torch.equal(one[0, 1], two[1, 0])


def test_a_task_mix_draws_rows_by_its_shares_and_bad_mixes_are_one_line():
    tasks = ['read', 'draw', 'caption']
    record_tasks = torch.tensor([0] * 700 + [1] * 200 + [2] * 100)
    mix = parse_mix('read:0.2, draw:0.3,caption:0.5', tasks, record_tasks)
    ix = step_indices(len(record_tasks), 4000, 1, 1, torch.Generator().manual_seed(0), mix).flatten()
    share = torch.bincount(record_tasks[ix], minlength=3) / len(ix)
    assert torch.allclose(share, torch.tensor([0.2, 0.3, 0.5]), atol=0.03)
    assert len(set(ix[record_tasks[ix] == 2].tolist())) > 90  # every record of a task can be drawn
    again = step_indices(len(record_tasks), 4000, 1, 1, torch.Generator().manual_seed(0), mix).flatten()
    assert torch.equal(ix, again) and parse_mix('', tasks, record_tasks) is None
    for bad, says in (('read:0.5,draw:0.4', 'add up to 0.9'), ('read:0.5,speak:0.5', "names ['speak']"),
                      ('read:half', 'not task:share'), ('read:1.5,draw:-0.5', 'add up to 1')):
        with pytest.raises(SystemExit, match=re.escape(says)):
            parse_mix(bad, tasks, record_tasks)
    with pytest.raises(SystemExit, match='no training records'):
        parse_mix('read:0.5,caption:0.5', tasks, torch.tensor([0, 1]))


def test_short_and_long_records_run_apart_with_the_same_loss_and_gradients():
    torch.manual_seed(0)
    pad, L = 0, 20
    records = torch.randint(1, 30, (12, L))
    records[::2, 9:] = pad  # every other record is 9 long, the rest 20: one padded length
    x, y = records[:, :-1], make_targets(records, pad)
    w = torch.zeros_like(y, dtype=torch.bool)
    w[:, 3] = True
    groups = length_groups(y)
    assert [len(r) for r, _ in groups] == [6, 6] and [n for _, n in groups] == [8, 19]
    model = GPT(GPTConfig(block_size=L - 1, vocab_size=30, n_layer=2, n_head=2, n_embd=16))
    logits, _ = model(x, all_logits=True)
    whole = weighted_loss(logits, y, w, 10.0)
    whole.backward()
    expect = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    total, parts = loss_weights(y, w, 10.0).sum(), 0.0
    for rows, n in groups:
        logits, _ = model(x[rows, :n], all_logits=True)
        part = weighted_loss(logits, y[rows, :n], w[rows, :n], 10.0, total)
        part.backward()
        parts += part.item()
    assert abs(parts - whole.item()) < 1e-5
    assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(model.parameters(), expect))
    assert length_groups(make_targets(torch.randint(1, 30, (8, L)), pad)) is None  # one length: no split


def test_length_groups_run_the_fewest_tokens_their_number_allows():
    pad, L = 0, 31
    records = torch.randint(1, 30, (9, L))
    for i, n in enumerate([5, 5, 5, 5, 12, 12, 30, 30, 30]):
        records[i, n + 1:] = pad  # targets reach 5, 12 and 30
    y = make_targets(records, pad)
    three = length_groups(y, 3)
    assert [n for _, n in three] == [5, 12, 30] and [sorted(r.tolist()) for r, _ in three] == [[0, 1, 2, 3], [4, 5],
                                                                                              [6, 7, 8]]
    # two groups: the split that runs fewest tokens (6 x 12 + 3 x 30 = 162, not 4 x 5 + 5 x 30 = 170)
    assert [n for _, n in length_groups(y, 2)] == [12, 30]
    assert len(length_groups(y, 5)) == 3  # a group more only where it saves tokens
    assert length_groups(y, 1) is None


def test_answer_weight_scales_only_the_marked_targets():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 6, 12, generator=g)
    targets = torch.randint(0, 12, (4, 6), generator=g)
    targets[0, :2] = -1  # masked targets count for nothing, weighted or not
    marked = torch.zeros(4, 6, dtype=torch.bool)
    marked[:, 3] = True
    plain = F.cross_entropy(logits.view(-1, 12), targets.view(-1), ignore_index=-1)
    assert torch.allclose(weighted_loss(logits, targets, marked, 1.0), plain)
    ce = F.cross_entropy(logits.view(-1, 12), targets.view(-1), ignore_index=-1, reduction='none')
    m, kept = marked.view(-1), targets.view(-1) >= 0
    want = (ce[kept & ~m].sum() + 10 * ce[m].sum()) / ((kept & ~m).sum() + 10 * m.sum())
    assert torch.allclose(weighted_loss(logits, targets, marked, 10.0), want)


def test_running_a_script_by_its_path_says_to_use_m():
    for script in ('nanogpt/train.py', 'nanogpt/sample.py', 'vqvae/train.py', 'data/records/prepare.py'):
        p = subprocess.run([sys.executable, script], cwd=ROOT, capture_output=True, text=True)
        assert p.returncode == 1 and p.stderr.startswith('error: run it as a module') and '-m ' in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1


def test_training_checkpoints_and_resume(pipeline, tmp_path):
    out = pipeline['out']
    ckpt = torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)
    assert NANOGPT_CKPT_KEYS <= set(ckpt)
    # nanoGPT's sample.py finds the vocabulary at data/<config['dataset']>/meta.pkl
    assert os.path.exists(os.path.join('data', ckpt['config']['dataset'], 'meta.pkl'))
    assert ckpt['model_args']['block_size'] == 32 and ckpt['best_val_acc'] > 0.5
    snaps = sorted(f for f in os.listdir(out) if f.startswith('ckpt_'))
    assert snaps == ['ckpt_0.pt', 'ckpt_100.pt', 'ckpt_200.pt', 'ckpt_300.pt', 'ckpt_400.pt']
    snap = torch.load(os.path.join(out, 'ckpt_400.pt'), weights_only=True)
    assert 'optimizer' not in snap and snap['iter_num'] == 400
    # ckpt.pt is the best snapshot by validation accuracy; the untrained step 0 is not read (chance, never picked)
    accs = {s: torch.load(os.path.join(out, s), weights_only=True)['val_acc'] for s in snaps}
    assert accs['ckpt_0.pt'] is None
    assert abs(max(a for a in accs.values() if a is not None) - ckpt['best_val_acc']) < 1e-9

    resumed = str(tmp_path / 'resumed')
    os.makedirs(resumed)
    for f in ('ckpt.pt',):
        with open(os.path.join(out, f), 'rb') as src, open(os.path.join(resumed, f), 'wb') as dst:
            dst.write(src.read())
    start = ckpt['iter_num']
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={resumed}',
            '--init_from=resume', f'--max_iters={start + 20}', '--eval_interval=10', '--always_save_checkpoint',
            env_extra=pipeline['env'])
    assert f'step {start}:' in p.stdout and f'step {start + 20}:' in p.stdout and 'step 0:' not in p.stdout
    again = torch.load(os.path.join(resumed, 'ckpt.pt'), weights_only=True)
    assert again['iter_num'] == start + 20


def test_resume_refuses_another_vocabulary(pipeline, tmp_path):
    data = str(tmp_path / 'data')
    os.makedirs(data)
    for f in os.listdir(pipeline['data']):
        with open(os.path.join(pipeline['data'], f), 'rb') as src, open(os.path.join(data, f), 'wb') as dst:
            dst.write(src.read())
    meta = json.load(open(os.path.join(data, 'meta.json'), encoding='utf-8'))
    n = meta['vocab_size']
    meta['vocab_size'] = n + 1
    json.dump(meta, open(os.path.join(data, 'meta.json'), 'w', encoding='utf-8'))
    out = str(tmp_path / 'run')
    shutil.copytree(pipeline['out'], out)  # a start writes a probe file in its folder: not in the one others read
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={out}',
            '--init_from=resume', env_extra=pipeline['env'], check=False)
    assert p.returncode != 0 and f'vocabulary of {n}' in p.stderr and 'Traceback' not in p.stderr
    assert torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)['model_args']['vocab_size'] == n


def test_missing_data_is_one_clear_error(tmp_path):
    p = run('nanogpt.train', f'--dataset={tmp_path}', f'--out_dir={tmp_path}/o', check=False)
    assert p.returncode != 0 and 'make data' in p.stderr and 'Traceback' not in p.stderr


def test_ckpt_is_always_a_trained_model(pipeline, tmp_path):
    # even when the untrained step-0 model happens to score higher, ckpt.pt holds a trained one
    out = str(tmp_path / 'run')
    run('nanogpt.train', 'tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}',
        '--max_iters=2', '--eval_interval=1', '--learning_rate=1e-6', env_extra=pipeline['env'])
    assert torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)['iter_num'] >= 1
