import re

from sweeps.handdrawn import VARIANTS
from tests.conftest import run


def test_handdrawn_reads_each_variant_through_load_digit(pipeline):
    p = run('sweeps.handdrawn', f"--out_dir={pipeline['out']}", '--n=30', env_extra=pipeline['env'])
    rows = [line for line in p.stdout.splitlines() if line.startswith('| ')]
    assert len(rows) == 2 + len(VARIANTS) and all(name in p.stdout for name in VARIANTS)
    acc = {r.split(' | ')[0][2:]: [float(x) for x in re.findall(r'\d\.\d{4}', r)] for r in rows}
    assert acc['the test images as they are'][0] > 0.5  # 30 pictures of ten labels: chance reads about 3
    for name in VARIANTS:  # through load_digit, and only shrunk to 28x28: two accuracies of 30 pictures each
        assert len(acc[name]) == 2 and all(0 <= a <= 1 for a in acc[name])
