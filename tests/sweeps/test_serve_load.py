import json
import os
import re

from tests.conftest import run


def test_serve_load_answers_every_request(pipeline, report):
    judge = json.load(open(os.path.join(report, 'results.json')))['judge']['path']
    p = run('sweeps.serve_load', f"--out_dir={pipeline['out']}", f'--judge_ckpt={judge}', '--clients=2',
            '--requests=4', '--n=2', env_extra=pipeline['env'])
    assert '2 clients x 4 requests (4 reads, 4 draws of 2 images)' in p.stdout and ', 0 errors;' in p.stdout
    assert float(re.search(r'([\d.]+) requests/s', p.stdout).group(1)) > 0


def test_serve_load_without_a_judge_is_one_line(pipeline, tmp_path):
    p = run('sweeps.serve_load', f"--out_dir={pipeline['out']}", f"--judge_ckpt={tmp_path / 'j.pt'}", check=False)
    assert p.returncode == 1 and 'make judge' in p.stderr and 'Traceback' not in p.stderr
