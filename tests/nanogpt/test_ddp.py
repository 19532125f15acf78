"""DDP on CPUs (gloo): two processes train exactly as one process with the same effective batch."""
import os
import re
import subprocess
import sys

import torch

from tests.conftest import ROOT, run

ARGS = ['tests/configs/train_tiny.py', '--device=cpu', '--gradient_accumulation_steps=2', '--batch_size=16',
        '--max_iters=8', '--eval_interval=4', '--log_interval=1', '--val_images=20', '--warmup_iters=2']


def test_two_processes_match_one_with_the_same_effective_batch(pipeline, tmp_path):
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    single = run('nanogpt.train', *ARGS, f"--dataset={pipeline['data']}", f'--out_dir={one}', env_extra=pipeline['env'])
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **pipeline['env'])
    p = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        '-m', 'nanogpt.train', *ARGS, f"--dataset={pipeline['data']}", f'--out_dir={two}'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert '32 records per step on 2 x cpu' in p.stdout and '32 records per step on 1 x cpu' in single.stdout
    a = torch.load(os.path.join(one, 'last.pt'), weights_only=True)
    b = torch.load(os.path.join(two, 'last.pt'), weights_only=True)
    assert a['iter_num'] == b['iter_num'] == 8
    start = torch.load(os.path.join(two, 'ckpt_0.pt'), weights_only=True)['model']
    moved = max((b['model'][k] - start[k]).abs().max().item() for k in start)
    diff = max((a['model'][k] - b['model'][k]).abs().max().item() for k in a['model'])
    assert moved > 1e-2 and diff < 1e-5  # it trained, along the single process's path (here: bit for bit)
    evals = lambda text: re.findall(r'^step (\d+): train loss ([\d.]+), val loss ([\d.]+)', text, re.M)
    assert [e[0] for e in evals(p.stdout)] == ['0', '4', '8']
    for x, y in zip(evals(single.stdout), evals(p.stdout)):
        assert x == y
