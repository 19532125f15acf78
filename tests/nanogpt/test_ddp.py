"""DDP on CPUs (gloo): two processes train exactly as one process with the same effective batch."""
import os
import re
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT, run

ARGS = ['tests/configs/train_tiny.py', '--device=cpu', '--gradient_accumulation_steps=2', '--batch_size=16',
        '--max_iters=8', '--eval_interval=4', '--log_interval=1', '--val_images=20', '--warmup_iters=2']


@pytest.mark.parametrize('image_input', ['letters', 'cnn'])
def test_two_processes_match_one_with_the_same_effective_batch(pipeline, tmp_path, image_input):
    """A pixel run too, one vector a picture: its reading rows are short, so the long rows' length group (the last
    backward pass, which DDP reduces) shows no picture and leaves the encoder without a gradient."""
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    args = [*ARGS, f"--dataset={pipeline['data']}", f'--image_input={image_input}',
            *(['--image_vectors=1'] if image_input != 'letters' else [])]
    single = run('nanogpt.train', *args, f'--out_dir={one}', env_extra=pipeline['env'])
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **pipeline['env'])
    p = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        '-m', 'nanogpt.train', *args, f'--out_dir={two}'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r'32 records per step.* on 2 x cpu', p.stdout) and re.search(r'32 records per step.* on 1 x cpu',
                                                                               single.stdout)
    a = torch.load(os.path.join(one, 'last.pt'), weights_only=True)
    b = torch.load(os.path.join(two, 'last.pt'), weights_only=True)
    assert a['iter_num'] == b['iter_num'] == 8
    start = torch.load(os.path.join(two, 'ckpt_0.pt'), weights_only=True)['model']
    moved = max((b['model'][k] - start[k]).abs().max().item() for k in start)
    # the weights, the encoder's too; not its batch norm's running statistics, which each process gathers from its
    # own micro-batch and process 0 saves (docs/gpu.md), where one process gathers them from both
    weights = [(part, k) for part in ('model', 'encoder') for k in a.get(part) or {} if 'running_' not in k
               and not k.endswith('num_batches_tracked')]
    assert len(weights) > len(a['model']) or image_input == 'letters'
    diff = max((a[part][k] - b[part][k]).abs().max().item() for part, k in weights)
    # it trained, along the single process's path: bit for bit through letters; a pixel run's length groups are
    # cut from each process's rows, so its sums run in another order
    assert moved > 1e-2 and diff < (1e-5 if image_input == 'letters' else 1e-4)
    evals = lambda text: re.findall(r'^step (\d+): train loss ([\d.]+), val loss ([\d.]+)', text, re.M)
    assert [e[0] for e in evals(p.stdout)] == ['0', '4', '8']
    if image_input == 'letters':  # a pixel run evaluates by those running statistics
        for x, y in zip(evals(single.stdout), evals(p.stdout)):
            assert x == y
