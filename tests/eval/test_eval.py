import json
import os

from tests.conftest import run


def test_sample(pipeline):
    env = pipeline['env']
    p = run('nanogpt.sample', f"--out_dir={pipeline['out']}", '--start=number:3, image:', '--num_samples=2',
            '--temperature=0', env_extra=env)
    first = p.stdout.splitlines()[0]
    assert first.startswith('number:3, image:') and len(first) == len('number:3, image:') + 32  # max_new_tokens
    p = run('nanogpt.sample', f"--out_dir={pipeline['out']}", '--start=image:ĀāĂ, number:~', env_extra=env, check=False)
    assert p.returncode != 0 and "'~'" in p.stderr and 'not in the vocabulary' in p.stderr


def test_generate_scores(pipeline, tmp_path):
    p = run('eval.generate', f"--out_dir={pipeline['out']}", '--score', f'--judge_ckpt={tmp_path}/judge.pt',
            '--n_per_digit=5', '--name=scored', env_extra=pipeline['env'])
    assert 'judge accuracy' in p.stdout and 'guidance 1.0' in p.stdout
    res = json.load(open(os.path.join(pipeline['out'], 'eval', 'scored.json')))
    assert res['scores']['n'] == 50 and res['config']['guidance'] == 1.0 and 0 <= res['scores']['judge_accuracy'] <= 1


def test_classify_reads_validation_or_test(pipeline):
    for split in ('val', 'test'):
        p = run('eval.classify', f"--out_dir={pipeline['out']}", f'--split={split}', env_extra=pipeline['env'])
        res = json.load(open(os.path.join(pipeline['out'], 'eval', f'classify_{split}.json')))
        assert res['n'] == {'val': 60, 'test': 120}[split] and res['accuracy'] > 0.5 and f'{split} (' in p.stdout
