"""docs/tasks.md's walkthrough works as written: its task, one file and one registry line, is written, trained
and scored on tiny data with no edit to prepare, train, eval or the report."""
import json
import os
import re

from tests.conftest import ROOT, run


def walkthrough_task():
    doc = open(os.path.join(ROOT, 'docs', 'tasks.md'), encoding='utf-8').read()
    section = doc[doc.index('## Adding a task'):]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_the_docs_task_trains_and_is_scored_beside_its_blind_answer(pipeline, tmp_path):
    plugin = tmp_path / 'plugin'
    plugin.mkdir()
    (plugin / 'even.py').write_text(walkthrough_task(), encoding='utf-8')
    # the one registry line of the walkthrough, made at start-up instead of edited into tasks/__init__.py
    (plugin / 'sitecustomize.py').write_text('import tasks\nfrom even import EVEN\ntasks.TASKS[EVEN.name] = EVEN\n')
    env = dict(pipeline['env'], PYTHONPATH=f"{plugin}{os.pathsep}{ROOT}")
    data, out, judge = tmp_path / 'data', tmp_path / 'run', tmp_path / 'judge.pt'
    run('data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={data}',
        '--tasks=read,draw,even', env_extra=env)
    lines = (data / 'train.txt').read_text(encoding='utf-8').splitlines()
    assert any(re.search(r', even\? (yes|no)\.#*$', line) for line in lines)
    # 250 of the tiny config's 400 steps: even reads at about 0.92 (0.5 blind), far past the bar below
    run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={out}', '--max_iters=250',
        '--lr_decay_iters=250', env_extra=env)
    run('eval.report', f'--out_dir={out}', f'--judge_ckpt={judge}', '--n_per_digit=5', env_extra=env)
    results = json.load(open(out / 'eval' / 'results.json'))
    even = results['even']
    assert results['tasks'] == ['read', 'draw', 'even'] and even['n'] == 120
    assert even['accuracy'] > even['blind_accuracy'] + 0.15, even  # it looked at the pictures
    assert '| even | accuracy |' in (out / 'eval' / 'report.md').read_text(encoding='utf-8')
