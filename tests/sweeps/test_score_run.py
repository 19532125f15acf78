import json
import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT


def test_sweep_scores_agree_with_the_report(pipeline, report, tmp_path):
    results = json.load(open(os.path.join(report, 'results.json')))
    out = tmp_path / 'results.jsonl'
    p = subprocess.run([sys.executable, 'sweeps/score_run.py', '--name=tiny', f"--run_dir={pipeline['out']}",
                        f"--judge_ckpt={results['judge']['path']}", f'--out={out}', '--ceil=True'],
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, **pipeline['env']), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    r = json.loads(out.read_text().splitlines()[-1])
    # the same checkpoint, judge and tokenizer as `make eval`: the same reading and ceiling
    reading = results['classification']
    assert r['acc'] == reading['accuracy'] and [t[:3] for t in reading['trail']] == r['trail']
    # the validation numbers, what a recipe is chosen by, are recorded first, from the validation images
    val = torch.load(os.path.join(pipeline['out'], 'ckpt.pt'), weights_only=True)['best_val_acc']
    assert r['val_acc'] == pytest.approx(val) and len(r['val_trail']) == len(r['trail'])
    assert r['ceiling']['judge_accuracy'] == results['tokenizer_ceiling']['judge_accuracy']
    for key in ('t1', 't07', 't1k20'):
        assert 0 <= r[key]['acc'] <= 1 and 1 <= r[key]['distinct'] <= 1000 and r[key]['fid'] >= 0
