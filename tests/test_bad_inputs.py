"""Bad input ends in one line and a non-zero exit, and never costs a finished model or dataset."""
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

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
    g.update(num_codes=26, learning_rate=1e-3, dropout=0.0, decay=0.99, beta1=0.9, beta2=0.99, temperature=1.0, guidance=1.0,
             device='auto', dtype='auto', backend='auto', split='test', digit=7, max_shift=2.0, max_rotate=10.0,
             min_lr=1e-4, weight_decay=0.1, grad_clip=1.0, low_temperature=0.7, commitment=0.25, text_share=0.2,
             labels='digits', text='', sure=0.995)
    return g


@pytest.mark.parametrize('arg, message', [
    ('--batch_size=0', "'batch_size' must be in [1, 65536]"), ('--max_iters=-1', "'max_iters' must be in [1, 1e+07]"),
    ('--val_images=0', 'in [1, 1e+06]'), ('--eval_interval=0', 'in [1, 1e+07]'), ('--num_samples=-1', 'in [1, 10000]'),
    ('--temperature=-1', "'temperature' must be in [0, 100]"), ('--top_k=-3', 'in [0, 100000]'),
    ('--learning_rate=-1', 'in [0, 10]'), ('--gradient_accumulation_steps=0', 'in [1, 4096]'),
    ('--device=bogus', 'auto, cpu, mps, cuda or cuda:N'), ('--dtype=fp8', 'auto, float32, bfloat16 or float16'),
    ('--dropout=1.0', 'in [0, 1)'), ('--digit=12', 'a digit 0-9'), ('--sure=1', 'no drawing is read as surely as 1'),
    # past the upper limits: an allocator error, an hour of noise or a hang, each one line now
    ('--n_embd=1000000', "'n_embd' must be in [1, 4096] (wider models do not fit one machine)"),
    ('--batch_size=100000000', 'in [1, 65536] (larger batches exhaust memory)'),
    ('--num_codes=100000', 'the Unicode letters after U+0100'), ('--max_new_tokens=1000000000', 'in [1, 100000]'),
    ('--n=1000000', 'in [1, 10000]'), ('--num_samples=99999', 'in [1, 10000]'),
    # not finite: inf passes every comparison a range makes, nan fails them all silently
    ('--learning_rate=1e999', "'learning_rate' must be a finite number, got inf"),
    ('--temperature=1e999', 'finite'), ('--guidance=-1e999', 'finite'), ('--temperature=1e300', 'in [0, 100]'),
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
    for args, message in ((['--batch_size=0'], 'in [1'), (['--n_embd=100', '--n_head=3'], 'multiple of n_head'),
                          (['--device=cuda'], 'no CUDA GPU'), ([str(broken)], 'NameError')):
        p = run('nanogpt.train', 'tests/configs/train_tiny.py', *args, '--force=True', f"--dataset={pipeline['data']}",
                f'--out_dir={out}', env_extra=pipeline['env'], check=False)
        assert p.returncode == 1 and p.stderr.startswith('error:') and message in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and snapshot(out) == before
    before = snapshot(vq)
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', '--batch_size=-1', '--force=True', f'--out_dir={vq}',
            env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and 'in [1' in p.stderr and snapshot(vq) == before


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
    ('--text=poems', "'' (none) or shakespeare"), ('--augment_copies=-1', 'in [0, 16]'),
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
    assert p.returncode == 1 and p.stderr.strip() == ("error: unknown dataset 'cifar'; use one of mnist, fashion_mnist, "
                                                      "or import a folder of your own pictures (make all IMAGES=path/to/folder)")


@pytest.fixture
def used(pipeline, tmp_path):
    """Copies of the tiny pipeline's finished data folder and run, and what every file of them hashes to."""
    data, out = str(tmp_path / 'data'), str(tmp_path / 'run')
    shutil.copytree(pipeline['data'], data)
    shutil.copytree(pipeline['out'], out, ignore=shutil.ignore_patterns('eval'))
    return data, out, {**{f'data/{k}': v for k, v in snapshot(data).items()},
                       **{f'run/{k}': v for k, v in snapshot(out).items()}}


def probes(pipeline, data, out, tmp_path):
    """The probes of a finished run (docs/robustness.md): (command, its arguments, extra environment, the line)."""
    garbled = write_mnist(str(tmp_path / 'garbled'), n_train=60, n_test=10)
    raw = bytearray(open(os.path.join(garbled, 'train-images-idx3-ubyte.gz'), 'rb').read())
    raw[30:60] = b'\xff' * 30  # the gzip magic is right; what it holds is not
    open(os.path.join(garbled, 'train-images-idx3-ubyte.gz'), 'wb').write(bytes(raw))
    (tmp_path / 'a_file').write_text('not a folder')
    train = ['nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}']
    return [
        (train + ['--out_dir='], {}, '--out_dir is empty'),
        (train + [f"--out_dir={tmp_path / 'a_file'}"], {}, 'is a file, not a folder'),
        (train + [f'--out_dir={tmp_path}/lr', '--learning_rate=1e999'], {}, 'must be a finite number'),
        (train + [f'--out_dir={out}', '--init_from=resume', '--n_layer=3', '--n_embd=96', '--max_iters=800'], {},
         'is a run of n_layer=2 (asked 3), n_embd=64 (asked 96)'),
        (train + [f'--out_dir={out}', '--init_from=resume', '--val_images=20', '--max_iters=800'], {},
         "val_images=10000 (asked 20): ckpt.pt's best was read on those"),
        (['nanogpt.sample', f'--out_dir={out}', '--temperature=1e999'], {}, 'must be a finite number'),
        (['nanogpt.sample', f'--out_dir={out}', '--max_new_tokens=1000000000'], {}, 'in [1, 100000]'),
        (['eval.draw', f'--out_dir={out}', '--guidance=1e999', f'--out={tmp_path}/g.png'], {}, 'finite'),
        (['eval.draw', f'--out_dir={out}', '--n=1000000', f'--out={tmp_path}/n.png'], {}, 'in [1, 10000]'),
        (['eval.draw', f'--out_dir={out}', f'--out={tmp_path}/sevens.jpg'], {}, 'name a .png file'),
        (['eval.draw', f'--out_dir={out}', '--out=/proc/none/sevens.png'], {}, 'cannot write in --out'),
        (['vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={tmp_path}/vq'], {'MNIST_DIR': garbled},
         'is a corrupt gzip file'),
        (['vqvae.train', 'tests/configs/vqvae_tiny.py', '--dataset=fashion_mnist', f'--out_dir={tmp_path}/vq'],
         {'FASHION_MNIST_DIR': pipeline['mnist'], 'UNCHECKED_IDX': ''}, "is not fashion_mnist's"),
        (['data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={data}',
          '--augment_copies=2'], {}, 'holds data of other settings (augment_copies=0, now 2)'),
    ]


def test_the_probes_of_a_finished_run_are_one_line_and_change_nothing(pipeline, used, tmp_path):
    data, out, before = used
    for args, env, message in probes(pipeline, data, out, tmp_path):
        p = run(*args, env_extra={**pipeline['env'], **env}, check=False)
        said = p.stderr.strip().splitlines()
        assert p.returncode != 0 and len(said) == 1 and said[0].startswith('error:') and message in said[0], \
            (args, p.stderr[-2000:])
    after = {**{f'data/{k}': v for k, v in snapshot(data).items()}, **{f'run/{k}': v for k, v in snapshot(out).items()}}
    assert after == before


def test_the_same_data_again_is_no_replacement_and_force_replaces_it(pipeline, used):
    data, _, _ = used
    prepare = ['data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={data}']
    before = snapshot(data)
    run(*prepare, env_extra=pipeline['env'])  # the settings it was made with: the same files again
    assert {k: v for k, v in snapshot(data).items() if k != 'run.json'} == \
        {k: v for k, v in before.items() if k != 'run.json'}
    run(*prepare, '--augment_copies=1', '--force=True', env_extra=pipeline['env'])
    assert snapshot(data)['train.bin'] != before['train.bin']


def limited(size):
    """A child process that may write no file larger than `size` bytes: a full disk, as a file system sees it."""
    import resource
    import signal

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def test_a_write_that_fails_is_one_line_and_leaves_no_half_file(pipeline, used, tmp_path):
    data, out, before = used
    env = dict(os.environ, **pipeline['env'], PYTHONUNBUFFERED='1')
    fresh = tmp_path / 'fresh'
    p = subprocess.run([os.sys.executable, '-m', 'nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}',
                        f'--out_dir={fresh}'], cwd=ROOT, env=env, capture_output=True, text=True,
                       preexec_fn=limited(64 << 10))
    said = p.stderr.strip().splitlines()
    assert p.returncode != 0 and len(said) == 1 and said[0].startswith('error: cannot write'), p.stderr[-2000:]
    assert 'the previous file, if any, is kept' in said[0] and not list(fresh.glob('*.tmp'))
    assert not list(fresh.glob('*.pt'))  # nothing half-written: a checkpoint is whole or absent
    # a finished run asked to train on: its first save fails, and every file it had stays as it was
    p = subprocess.run([os.sys.executable, '-m', 'nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}',
                        f'--out_dir={out}', '--init_from=resume', '--max_iters=800'], cwd=ROOT, env=env,
                       capture_output=True, text=True, preexec_fn=limited(64 << 10))
    said = p.stderr.strip().splitlines()
    assert p.returncode != 0 and len(said) == 1 and said[0].startswith('error: cannot write'), p.stderr[-2000:]
    now = {f'run/{k}': v for k, v in snapshot(out).items()}
    assert {k: v for k, v in now.items() if k != 'run/run.json'} == \
        {k: v for k, v in before.items() if k.startswith('run/') and k != 'run/run.json'}
    assert not list(Path(out).glob('*.tmp'))


def test_stray_tmp_files_of_a_killed_save_are_removed_on_the_next_start(pipeline, used):
    data, out, _ = used
    for name in ('last.pt.tmp', 'ckpt_300.pt.tmp'):
        (Path(out) / name).write_bytes(b'')
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}',
            '--init_from=auto', env_extra=pipeline['env'])  # a finished run: nothing to do, but the start cleans
    assert 'nothing to do' in p.stdout
    assert not list(Path(out).glob('*.tmp'))


def test_a_judge_loader_refuses_another_kind_of_checkpoint(pipeline):
    from eval.judge import load_judge
    for path, kind in ((os.path.join(pipeline['out'], 'ckpt.pt'), "is a GPT's checkpoint, not a judge's"),
                       (os.path.join(pipeline['vqvae'], 'ckpt.pt'), "is a tokenizer (VQ-VAE)'s checkpoint")):
        with pytest.raises(SystemExit) as e:
            load_judge(path, train_if_missing=False)
        assert kind in str(e.value) and '\n' not in str(e.value)


def test_a_checkpoint_without_its_checksum_is_refused(pipeline, tmp_path):
    ckpt = torch.load(os.path.join(pipeline['out'], 'ckpt.pt'), weights_only=True)
    del ckpt['model_sha256']
    torch.save(ckpt, tmp_path / 'ckpt.pt')
    with pytest.raises(SystemExit, match='carries no checksum of its weights'):
        load_checkpoint(str(tmp_path / 'ckpt.pt'), 'checkpoint', 'retrain it')


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=24), st.builds(lambda k, v: f'--{k}={v}', st.sampled_from(
    ['batch_size', 'learning_rate', 'device', 'out_dir', 'flag', 'n_layers', '']), st.text(max_size=12))), max_size=4))
def test_any_arguments_give_a_config_or_one_line(argv):
    g = dict(settings_dict(), out_dir='out/x', flag=False)
    try:
        config = configure(g, argv)
    except SystemExit as e:
        assert str(e).startswith('error:') and '\n' not in str(e), repr(str(e))
    else:
        assert all(RANGES[k][0](v) for k, v in config.items() if k in RANGES)
