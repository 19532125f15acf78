"""Interrupted training: SIGTERM saves and exits, SIGKILL loses at most one evaluation interval,
and a resumed run continues exactly as an uninterrupted one would have."""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from tests.conftest import ROOT, made_once, run

TINY = ['tests/configs/train_tiny.py', '--n_embd=32', '--max_iters=110', '--lr_decay_iters=110', '--eval_interval=20',
        '--log_interval=1', '--val_images=20']


def losses(text):
    return {int(i): l for i, l in re.findall(r'^iter (\d+): loss (\S+),', text, re.M)}


def start(pipeline, out, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED='1', **pipeline['env'])
    return subprocess.Popen([sys.executable, '-m', 'nanogpt.train', *TINY, f"--dataset={pipeline['data']}",
                             f'--out_dir={out}', *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def run_until(proc, marker, sig):
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(marker):
            proc.send_signal(sig)
            break
    rest = proc.stdout.read()
    proc.wait(timeout=60)
    return ''.join(seen) + rest


@pytest.fixture(scope='session')
def reference(pipeline, tmp_path_factory):
    def make(base):
        p = run('nanogpt.train', *TINY, f"--dataset={pipeline['data']}", f"--out_dir={base / 'run'}",
                env_extra=pipeline['env'])
        (base / 'stdout.txt').write_text(p.stdout)

    base = made_once(tmp_path_factory, 'uninterrupted', make)  # once for every worker: the tests only read it
    return losses((base / 'stdout.txt').read_text()), str(base / 'run')


def test_sigterm_saves_and_resume_matches_uninterrupted(pipeline, reference, tmp_path):
    ref, _ = reference
    out = str(tmp_path / 'run')
    proc = start(pipeline, out)
    text = run_until(proc, 'iter 30:', signal.SIGTERM)
    assert 'stopped by SIGTERM' in text and 'Traceback' not in text and proc.returncode == 128 + signal.SIGTERM
    assert os.path.exists(os.path.join(out, 'last.pt')) and not os.path.exists(os.path.join(out, 'run.json'))
    before = losses(text)
    assert before == {i: ref[i] for i in before}  # same seed, same losses: the run is reproducible
    stopped = torch.load(os.path.join(out, 'last.pt'), weights_only=True)['iter_num']
    p = run('nanogpt.train', *TINY, f"--dataset={pipeline['data']}", f'--out_dir={out}', '--init_from=auto',
            env_extra=pipeline['env'])
    after = losses(p.stdout)
    assert f'resuming {out}/last.pt at iteration {stopped}' in p.stdout
    assert min(after) == stopped and after == {i: ref[i] for i in range(stopped, 110)}
    assert len(ref) == 110  # before + after: all 110 losses, the first 100 included, as in one run
    assert os.path.exists(os.path.join(out, 'run.json'))


def test_sigkill_then_resume_from_the_last_evaluation(pipeline, reference, tmp_path):
    ref, _ = reference
    out = str(tmp_path / 'run')
    proc = start(pipeline, out)
    text = run_until(proc, "iter 85:", signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    state = torch.load(os.path.join(out, 'last.pt'), weights_only=True)  # intact, never half-written
    # the kill lands after iteration 85 was logged, and on a busy machine perhaps after (or during) the
    # evaluation at 100: last.pt holds the newest evaluation that finished saving, never a later one
    saved = state['iter_num']
    assert saved in (80, 100) and f'step {saved}:' in text
    last_eval = saved
    p = run('nanogpt.train', *TINY, f"--dataset={pipeline['data']}", f'--out_dir={out}', '--init_from=resume',
            env_extra=pipeline['env'])
    assert losses(p.stdout) == {i: ref[i] for i in range(last_eval, 110)}


def test_scratch_over_a_run_needs_force(pipeline, reference, tmp_path):
    out = str(tmp_path / 'run')
    shutil.copytree(reference[1], out)  # a copy, its files' times kept: the reference is every worker's
    before = {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)}
    for extra, what in ((['--n_embd=48'], 'a run of a different config (n_embd=32, now 48)'),
                        (['--max_iters=20'], 'a run;')):  # only how long it runs differs: still a finished run
        p = run('nanogpt.train', *TINY, *extra, f"--dataset={pipeline['data']}", f'--out_dir={out}',
                env_extra=pipeline['env'], check=False)
        assert p.returncode != 0 and what in p.stderr and '--force=True' in p.stderr and '--init_from=resume' in p.stderr
        assert {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)} == before
    # asked for the same run again (as make asks after a code change), it says so and leaves every checkpoint be
    p = run('nanogpt.train', *TINY, '--init_from=auto', f"--dataset={pipeline['data']}", f'--out_dir={out}',
            env_extra=pipeline['env'])
    assert 'finished at iteration 110: nothing to do' in p.stdout
    assert {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out) if f != 'run.json'} == \
        {f: t for f, t in before.items() if f != 'run.json'}


def test_a_forced_scratch_run_leaves_no_snapshot_of_the_old_one(pipeline, tmp_path):
    out = str(tmp_path / 'run')
    common = [*TINY, '--log_interval=100', f"--dataset={pipeline['data']}", f'--out_dir={out}']
    run('nanogpt.train', *common, '--max_iters=60', '--eval_interval=30', env_extra=pipeline['env'])
    run('nanogpt.train', *common, '--max_iters=40', '--eval_interval=20', '--force=True', env_extra=pipeline['env'])
    assert sorted(f for f in os.listdir(out) if f.startswith('ckpt_')) == ['ckpt_0.pt', 'ckpt_20.pt', 'ckpt_40.pt']
    assert torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)['iter_num'] <= 40


def test_keep_last_bounds_the_snapshots(pipeline, tmp_path):
    out = str(tmp_path / 'run')
    run('nanogpt.train', *TINY, '--max_iters=40', '--eval_interval=10', '--keep_last=2', '--log_interval=100',
        f"--dataset={pipeline['data']}", f'--out_dir={out}', env_extra=pipeline['env'])
    assert sorted(f for f in os.listdir(out) if f.startswith('ckpt_')) == ['ckpt_30.pt', 'ckpt_40.pt']


def test_run_record(reference, pipeline):
    import json
    _, out = reference
    rec = json.load(open(os.path.join(out, 'run.json')))
    assert rec['config']['n_embd'] == 32 and rec['packages']['torch'] == torch.__version__
    assert set(rec['data_sha256']) == {os.path.join(pipeline['data'], f) for f in ('train.bin', 'val.bin', 'meta.json')}
    assert rec['results']['iter_num'] == 110 and 'git_commit' in rec


def test_vqvae_sigterm_and_resume_give_the_same_tokenizer(pipeline, tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED='1', **pipeline['env'])
    args = ['tests/configs/vqvae_tiny.py', '--max_iters=80', '--eval_interval=20']
    ref = str(tmp_path / 'ref')
    run('vqvae.train', *args, f'--out_dir={ref}', env_extra=pipeline['env'])
    out = str(tmp_path / 'run')
    proc = subprocess.Popen([sys.executable, '-m', 'vqvae.train', *args, f'--out_dir={out}'], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = run_until(proc, 'iter 20:', signal.SIGTERM)
    assert proc.returncode == 143 and 'stopped by SIGTERM' in text and not os.path.exists(os.path.join(out, 'ckpt.pt'))
    run('vqvae.train', *args, f'--out_dir={out}', '--init_from=auto', env_extra=pipeline['env'])
    a = torch.load(os.path.join(ref, 'ckpt.pt'), weights_only=True)['model']
    b = torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)['model']
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_fp16_loss_scale_goes_on_after_a_resume(pipeline, tmp_path):
    args = [*TINY, '--dtype=float16', '--device=cpu', '--log_interval=100', '--eval_interval=6',
            f"--dataset={pipeline['data']}"]
    whole, split = str(tmp_path / 'whole'), str(tmp_path / 'split')
    run('nanogpt.train', *args, '--max_iters=12', f'--out_dir={whole}', env_extra=pipeline['env'])
    run('nanogpt.train', *args, '--max_iters=6', f'--out_dir={split}', env_extra=pipeline['env'])
    run('nanogpt.train', *args, '--max_iters=12', f'--out_dir={split}', '--init_from=resume', env_extra=pipeline['env'])
    a, b = (torch.load(os.path.join(d, 'last.pt'), weights_only=True) for d in (whole, split))
    # the GradScaler's scale and its count of good steps go on from where they were, as in one run
    assert a['scaler'] and a['scaler'] == b['scaler'] and a['iter_num'] == b['iter_num'] == 12
    assert all(torch.equal(a['model'][k], b['model'][k]) for k in a['model'])


@pytest.mark.parametrize('where', ['at a random step', 'in the middle of saving last.pt'])
def test_sigkill_anywhere_then_resume_matches_uninterrupted(pipeline, reference, tmp_path, where):
    ref, _ = reference
    out = tmp_path / 'run'
    proc = start(pipeline, str(out))
    if where == 'at a random step':
        step = int(torch.randint(5, 105, (1,), generator=torch.Generator().manual_seed(7)))
        text = run_until(proc, f'iter {step}:', signal.SIGKILL)
    else:
        # a FIFO where the save of last.pt writes its temporary file: the save at step 20 blocks inside atomic_write,
        # with ckpt_20.pt written and last.pt not yet replaced, and is killed there
        seen = []
        reader = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)
        reader.start()
        deadline = time.time() + 120
        while not any(line.startswith('iter 15:') for line in list(seen)) and time.time() < deadline:
            time.sleep(0.005)
        os.mkfifo(out / 'last.pt.tmp')
        while not os.path.exists(out / 'ckpt_20.pt') and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(1.0)  # the process goes on to last.pt's save, and blocks opening the FIFO
        assert proc.poll() is None and os.path.exists(out / 'ckpt_20.pt'), ''.join(seen)[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        text = ''.join(seen)
        blocked = max(int(p.stem.split('_')[1]) for p in out.glob('ckpt_*.pt'))  # 20, unless the FIFO came late
        assert torch.load(out / 'last.pt', weights_only=True)['iter_num'] == blocked - 20  # that save never landed
    assert proc.returncode == -signal.SIGKILL
    for name in ('last.pt', 'ckpt.pt'):
        if os.path.exists(out / name):
            torch.load(out / name, weights_only=True)  # whole: a checkpoint is the old one or the new one
    saved = torch.load(out / 'last.pt', weights_only=True)['iter_num']
    p = run('nanogpt.train', *TINY, f"--dataset={pipeline['data']}", f'--out_dir={out}', '--init_from=auto',
            env_extra=pipeline['env'])
    assert not list(out.glob('*.tmp'))  # what the kill cut short is gone on the next start
    assert f'resuming {out}/last.pt at iteration {saved}' in p.stdout and 'Traceback' not in text
    assert losses(p.stdout) == {i: ref[i] for i in range(saved, 110)}
