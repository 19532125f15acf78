import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_the_probe_learns_to_read_the_letters(pipeline):
    p = subprocess.run([sys.executable, 'sweeps/letters_probe.py', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt",
                        '--copies=1', '--epochs=6', '--batch_size=32'],
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, **pipeline['env']), capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    epochs = [json.loads(line) for line in p.stdout.splitlines()]
    assert [e['epoch'] for e in epochs] == [1, 2, 3, 4, 5, 6] and epochs[0]['letters'] == 16
    # 60 validation digits of ten classes: chance reads about 6 of them; the probe reads the letters far better
    assert epochs[-1]['val_accuracy'] >= 0.5 and epochs[-1]['train_loss'] < epochs[0]['train_loss']
