"""Bad input ends in one line and a non-zero exit, and never costs a finished model or dataset."""
import hashlib
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from common.configurator import RANGES, configure
from common.files import atomic_save, load_checkpoint
from tests.conftest import ROOT, idx_bytes, run, write_mnist


def settings_dict():
    """Every ranged key at a valid value of its type, as a script would declare it."""
    g = {k: 1 for k in RANGES}
    g.update(learning_rate=1e-3, dropout=0.0, decay=0.99, beta1=0.9, beta2=0.99, temperature=1.0, guidance=1.0,
             device='auto', dtype='auto', backend='auto', split='test', digit=7, max_shift=2.0, max_rotate=10.0,
             min_lr=1e-4, weight_decay=0.1, grad_clip=1.0, low_temperature=0.7, commitment=0.25, text_share=0.2,
             labels='digits', text='')
    return g


@pytest.mark.parametrize('arg, message', [
    ('--batch_size=0', "'batch_size' must be at least 1"), ('--max_iters=-1', "'max_iters' must be at least 1"),
    ('--val_images=0', 'at least 1'), ('--eval_interval=0', 'at least 1'), ('--num_samples=-1', 'at least 1'),
    ('--temperature=-1', "'temperature' must be at least 0"), ('--top_k=-3', 'at least 0'),
    ('--learning_rate=-1', 'at least 0'), ('--gradient_accumulation_steps=0', 'at least 1'),
    ('--device=bogus', 'auto, cpu, mps, cuda or cuda:N'), ('--dtype=fp8', 'auto, float32, bfloat16 or float16'),
    ('--dropout=1.0', 'in [0, 1)'), ('--digit=12', 'a digit 0-9'),
])
def test_out_of_range_values_are_one_line(arg, message):
    with pytest.raises(SystemExit) as e:
        configure(settings_dict(), [arg])
    assert str(e.value).startswith('error:') and message in str(e.value) and '\n' not in str(e.value)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(RANGES)), st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                                                  st.text(max_size=8)))
def test_no_value_outside_its_range_gets_through(key, value):
    g = settings_dict()
    try:
        config = configure(g, [f'--{key}={value!r}' if isinstance(value, str) else f'--{key}={value}'])
    except SystemExit as e:
        assert str(e).startswith('error:') and '\n' not in str(e)
    else:
        assert RANGES[key][0](config[key])


def snapshot(folder):
    return {f: hashlib.sha256(open(os.path.join(folder, f), 'rb').read()).hexdigest() for f in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, f))}


@pytest.fixture
def finished(pipeline, tmp_path):
    """A copy of the tiny pipeline's finished tokenizer and run."""
    vq, out = str(tmp_path / 'vq'), str(tmp_path / 'run')
    shutil.copytree(pipeline['vqvae'], vq)
    shutil.copytree(pipeline['out'], out, ignore=shutil.ignore_patterns('eval'))
    return vq, out


def test_bad_training_settings_never_touch_a_finished_run(pipeline, finished, tmp_path):
    vq, out = finished
    broken = tmp_path / 'broken.py'
    broken.write_text('n_layer = undefined\n')
    before = snapshot(out)
    for args, message in ((['--batch_size=0'], 'at least 1'), (['--n_embd=100', '--n_head=3'], 'multiple of n_head'),
                          (['--device=cuda'], 'no CUDA GPU'), ([str(broken)], 'NameError')):
        p = run('nanogpt.train', 'tests/configs/train_tiny.py', *args, '--force=True', f"--dataset={pipeline['data']}",
                f'--out_dir={out}', env_extra=pipeline['env'], check=False)
        assert p.returncode == 1 and p.stderr.startswith('error:') and message in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and snapshot(out) == before
    before = snapshot(vq)
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', '--batch_size=-1', '--force=True', f'--out_dir={vq}',
            env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and 'at least 1' in p.stderr and snapshot(vq) == before


def test_a_label_outside_0_9_is_refused_before_the_data_is_touched(pipeline, tmp_path):
    data = str(tmp_path / 'data')
    shutil.copytree(pipeline['data'], data)
    before = snapshot(data)
    mnist = write_mnist(str(tmp_path / 'mnist'), gz=False)
    labels = np.arange(360, dtype=np.uint8) % 10
    labels[5] = 12
    with open(os.path.join(mnist, 'train-labels-idx1-ubyte'), 'wb') as f:
        f.write(idx_bytes(labels))
    p = run('data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={data}',
            env_extra={'MNIST_DIR': mnist}, check=False)
    assert p.returncode == 1 and 'label of 12' in p.stderr and snapshot(data) == before


@pytest.mark.parametrize('arg, message', [
    ('--tasks=read,speak', "unknown task(s) ['speak']; known tasks: read, draw"),
    ('--labels=letters', 'digits or words'),
    ('--text=poems', "'' (none) or shakespeare"), ('--augment_copies=-1', 'at least 0'),
])
def test_bad_data_settings_are_one_line_and_write_nothing(tmp_path, arg, message):
    p = run('data.records.prepare', arg, f'--vqvae_ckpt={tmp_path}/none.pt', f'--out_dir={tmp_path}/d', check=False)
    assert p.returncode == 1 and p.stderr.startswith('error:') and message in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not os.path.exists(tmp_path / 'd')


def test_a_checkpoint_whose_weights_changed_is_reported(pipeline, tmp_path):
    path = str(tmp_path / 'ckpt.pt')
    ckpt = torch.load(os.path.join(pipeline['out'], 'ckpt.pt'), weights_only=True)
    assert ckpt['model_sha256']
    atomic_save(ckpt, path)
    load_checkpoint(path, 'GPT checkpoint', 'fix')  # whole: it loads
    ckpt['model']['lm_head.weight'][3, 5] += 1.0  # one weight changed, the checksum kept
    torch.save(ckpt, path)
    with pytest.raises(SystemExit) as e:
        load_checkpoint(path, 'GPT checkpoint', 'fix')
    assert 'is corrupt' in str(e.value) and '\n' not in str(e.value)


def test_a_truncated_last_pt_is_reported_and_force_starts_afresh(pipeline, finished):
    _, out = finished
    with open(os.path.join(out, 'last.pt'), 'r+b') as f:
        f.truncate(1000)
    common = ['tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}', '--max_iters=20',
              '--eval_interval=10']
    p = run('nanogpt.train', *common, '--init_from=resume', env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and 'not a readable checkpoint' in p.stderr and '--force=True' in p.stderr
    run('nanogpt.train', *common, '--init_from=scratch', '--force=True', env_extra=pipeline['env'])
    assert torch.load(os.path.join(out, 'last.pt'), weights_only=True)['iter_num'] == 20


def test_a_judge_of_another_dataset_is_refused(tmp_path):
    from eval.judge import Judge, load_judge
    path = str(tmp_path / 'judge.pt')
    atomic_save(dict(model=Judge().state_dict(), dataset='fashion_mnist'), path)
    with pytest.raises(SystemExit, match=r'judges fashion_mnist images, not mnist; pass the judge of mnist'):
        load_judge(path, dataset='mnist')


def test_an_unknown_dataset_is_one_line(tmp_path):
    p = subprocess.run(['make', '-n', 'all', 'DATASET=cifar'], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode != 0 and 'unknown DATASET=cifar; use mnist or fashion_mnist' in p.stderr
    p = run('vqvae.train', '--dataset=cifar', '--max_iters=1', f'--out_dir={tmp_path}', check=False)
    assert p.returncode == 1 and p.stderr.strip() == "error: unknown dataset 'cifar'; use one of mnist, fashion_mnist"
