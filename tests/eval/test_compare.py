import json
import os

from tests.conftest import run


def test_compare_rows_and_spread(pipeline, report, tmp_path):
    out = tmp_path / 'seeds.json'
    judge = json.load(open(os.path.join(report, 'results.json')))['judge']['path']
    for split in ('val', 'test'):
        run('eval.compare', f"--runs={pipeline['out']},{pipeline['out']}", f'--judge_ckpt={judge}', '--n_per_digit=5',
            f'--split={split}', f'--out={out}', env_extra=pipeline['env'])
        res = json.load(open(out))
        a, b = res['runs']
        assert a['split'] == split and a == b and res['summary']['accuracy']['std'] == 0.0  # one run twice
        assert res['summary']['accuracy']['mean'] == a['accuracy'] > 0.5
        assert 0 <= a['draw_t1'] <= 1 and a['fid_t1'] >= 0
    # the test digits read here are the report's
    assert a['accuracy'] == json.load(open(os.path.join(report, 'results.json')))['classification']['accuracy']
