import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_sweep_scores_agree_with_the_report(pipeline, report, tmp_path):
    results = json.load(open(os.path.join(report, 'results.json')))
    out = tmp_path / 'results.jsonl'
    p = subprocess.run([sys.executable, 'sweeps/score_run.py', 'tiny', pipeline['out'], pipeline['data'],
                        f"{pipeline['vqvae']}/ckpt.pt", results['judge']['path'], str(out), 'ceil'],
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, **pipeline['env']), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    r = json.loads(out.read_text().splitlines()[-1])
    # the same checkpoint, judge and tokenizer as `make eval`: the same reading and ceiling
    assert r['acc'] == results['classification']['accuracy']
    assert [t[:3] for t in results['trail']] == r['trail']
    assert r['ceiling']['judge_accuracy'] == results['tokenizer_ceiling']['judge_accuracy']
    for key in ('t1', 't07', 't1k20'):
        assert 0 <= r[key]['acc'] <= 1 and 1 <= r[key]['distinct'] <= 1000 and r[key]['fid'] >= 0
