import json
import os

from tests.conftest import run


def test_compare_rows_and_spread(pipeline, report, tmp_path):
    out = tmp_path / 'seeds.json'
    judge = json.load(open(os.path.join(report, 'results.json')))['judge']['path']
    for split in ('val', 'test'):
        run('sweeps.compare', f"--runs={pipeline['out']},{pipeline['out']}", f'--judge_ckpt={judge}', '--n_per_digit=5',
            f'--split={split}', f'--out={out}', env_extra=pipeline['env'])
        res = json.load(open(out))
        a, b = res['runs']
        same = lambda r: {k: v for k, v in r.items() if k != 'read_images_per_s'}  # all but the clock
        assert a['split'] == split and same(a) == same(b) and res['summary']['accuracy']['std'] == 0.0  # one run twice
        assert a['image_input'] == 'letters' and a['parameters']['encoder'] == 0 and a['read_images_per_s'] > 0
        assert res['summary']['accuracy']['mean'] == a['accuracy'] > 0.5
        assert 0 <= a['draw_t1'] <= 1 and a['fid_t1'] >= 0
    # the test digits read here are the report's
    assert a['accuracy'] == json.load(open(os.path.join(report, 'results.json')))['classification']['accuracy']
