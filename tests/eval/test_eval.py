import json
import os
import shutil

from tests.conftest import run


def test_sample(pipeline):
    env = pipeline['env']
    p = run('nanogpt.sample', f"--out_dir={pipeline['out']}", '--start=number:3, image:', '--num_samples=2',
            '--temperature=0', env_extra=env)
    first = p.stdout.splitlines()[0]
    assert first.startswith('number:3, image:') and len(first) == len('number:3, image:') + 32  # max_new_tokens
    p = run('nanogpt.sample', f"--out_dir={pipeline['out']}", '--start=image:ĀāĂ, number:~', env_extra=env, check=False)
    assert p.returncode != 0 and "'~'" in p.stderr and 'not in the vocabulary' in p.stderr


def test_report_reads_validation_or_test(pipeline, report, tmp_path):
    """`python -m eval.report --split=val`: the same report on the validation pictures, into eval_val/, the test
    pictures' report (eval/) left as it was."""
    out = str(tmp_path / 'run')
    shutil.copytree(pipeline['out'], out)  # a copy with its report: every worker reads the pipeline's own
    test = os.path.join(out, 'eval', 'results.json')
    before = os.path.getmtime(test)
    p = run('eval.report', f'--out_dir={out}', '--split=val', '--n_per_digit=5',
            f"--judge_ckpt={json.load(open(test))['judge']['path']}", env_extra=pipeline['env'])
    assert 'read (val): accuracy' in p.stdout and 'on 60 pictures' in p.stdout
    assert 'judge accuracy' in p.stdout and 'guidance 1.0' in p.stdout
    val_dir = os.path.join(out, 'eval_val')
    assert os.path.getmtime(test) == before and os.path.exists(os.path.join(val_dir, 'report.md'))
    for split, path in (('val', os.path.join(val_dir, 'results.json')), ('test', test)):
        res = json.load(open(path))
        r = res['classification']
        assert res['split'] == split and r['n'] == {'val': 60, 'test': 120}[split] and r['accuracy'] > 0.5
        assert r['n'] == sum(map(sum, r['confusion'])) and len(r['trail']) >= 1
    g = json.load(open(os.path.join(val_dir, 'results.json')))['generation']
    assert g['guided']['n'] == 50 and g['guided']['guidance'] == 1.0 and 0 <= g['guided']['judge_accuracy'] <= 1
    assert '## Read (all val pictures' in open(os.path.join(val_dir, 'report.md'), encoding='utf-8').read()


def test_the_first_snapshot_drawn_is_an_earlier_one_than_ckpt_pt_or_none(tmp_path):
    from types import SimpleNamespace

    from eval.report import Evaluation
    for it in (0, 1200):
        (tmp_path / f'ckpt_{it}.pt').write_bytes(b'')
    vlm = SimpleNamespace(snapshot=lambda path: (path, {}))
    ev = SimpleNamespace(out_dir=str(tmp_path), iter_num=1200, vlm=vlm, meta={}, device='cpu')
    assert Evaluation.first_snapshot(ev) is None  # evaluated once, at its end: ckpt.pt is not drawn twice
    (tmp_path / 'ckpt_400.pt').write_bytes(b'')
    it, engine = Evaluation.first_snapshot(ev)
    assert it == 400 and engine.model == str(tmp_path / 'ckpt_400.pt')


def test_each_snapshot_reads_the_pictures_through_its_own_encoder():
    """The trail reads each snapshot of a pixel run with its own encoder's vectors, not ckpt.pt's that the report's
    tasks share; a letters run's letters are its tokenizer's, the same for every snapshot."""
    from types import SimpleNamespace

    import numpy as np

    from eval.report import Evaluation
    from tests.nanogpt.test_vision import pictures, pixel_vlm
    run, snapshot = pixel_vlm('cnn', seed=0), pixel_vlm('cnn', seed=1)
    images = pictures(4).numpy()
    ev = SimpleNamespace(vlm=run, seen=run.see(images), pictures=images)
    seen = Evaluation.seen_by(ev, snapshot.engine())
    assert np.allclose(seen.images, snapshot.see(images).images) and not np.allclose(seen.images, ev.seen.images)
    letters = SimpleNamespace(vlm=SimpleNamespace(encoder=None), seen=ev.seen, pictures=images)
    assert Evaluation.seen_by(letters, snapshot.engine()) is ev.seen
