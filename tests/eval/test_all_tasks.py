"""`make all TASKS=all` in small: every task's records, one GPT trained on the mix, and a report with one
section per task, each beside its blind baseline; asking for a caption or an answer, drawing from a caption."""
import json
import os
import threading

import numpy as np
import pytest
import torch

from data.mnist import load_split
from nanogpt.batches import picture_places, pictures_shown
from tasks.attributes import measure, to_levels
from tasks.caption import CAPTION
from tasks.vocab import letters, load_meta
from tests.conftest import made_once, run

MIX = 'read:0.3,draw:0.15,caption:0.2,caption_draw:0.1,question:0.25'


@pytest.fixture(scope='session')
def all_tasks(pipeline, report, tmp_path_factory):
    def make(base):
        with open(os.path.join(report, 'results.json')) as f:
            judge = json.load(f)['judge']['path']
        data, out = str(base / 'data'), str(base / 'run')
        run('data.records.prepare', 'config/prepare_mnist_all.py', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt",
            f'--out_dir={data}', env_extra=env)
        # 40 steps: the tests here check each task's wiring, not what the model learnt
        run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={out}',
            f'--task_mix={MIX}', '--max_iters=40', '--eval_interval=40', env_extra=env)
        run('eval.report', f'--out_dir={out}', f'--judge_ckpt={judge}', '--n_per_digit=2', '--captions_per_label=3',
            env_extra=env)

    env = pipeline['env']
    base = made_once(tmp_path_factory, 'all_tasks', make)  # once for every worker: the tests only read it
    return dict(data=str(base / 'data'), out=str(base / 'run'), env=env)


def test_every_record_holds_its_answer_where_its_layout_says(all_tasks, monkeypatch):
    monkeypatch.setenv('MNIST_DIR', all_tasks['env']['MNIST_DIR'])
    meta = load_meta(all_tasks['data'])
    with open(os.path.join(all_tasks['data'], 'test.txt'), encoding='utf-8') as f:
        lines = f.read().splitlines()
    layout = np.load(os.path.join(all_tasks['data'], 'test_layout.npy'))
    assert len(lines) == len(layout) == 5 * 120 and meta['tasks'] == ['read', 'draw', 'caption', 'caption_draw',
                                                                      'question']
    images, labels = load_split('test')
    levels = to_levels(measure(images, 'mnist'), meta['attribute_cuts'])
    for i, (line, (task, start, end)) in enumerate(zip(lines, layout)):
        assert line[end] == '.' and set(line[end + 1:]) <= {'#'}
        answer = line[start:end]
        if meta['tasks'][task] == 'read':
            assert answer == str(labels[i // 5])
        if meta['tasks'][task] == 'caption':  # the caption says the measured truth of its own picture
            assert CAPTION.parse(answer, meta) == (labels[i // 5], {a: levels[a][i // 5] for a in meta['attributes']})


def test_the_report_scores_every_task_beside_its_blind_baseline(all_tasks):
    with open(os.path.join(all_tasks['out'], 'eval', 'results.json')) as f:
        r = json.load(f)
    assert r['tasks'] == ['read', 'draw', 'caption', 'caption_draw', 'question']
    assert r['caption']['n'] == 120 and 0 <= r['caption']['exact_match'] <= r['caption']['label_accuracy']
    for a in ('size', 'thickness', 'slant'):
        assert {'accuracy', 'blind_accuracy', 'ci95'} <= set(r['caption']['attributes'][a])
    for q in ('even', 'more', 'plus', 'two_image_sum', 'two_image_larger', 'two_image_same'):
        assert {'accuracy', 'blind_accuracy'} <= set(r['question'][q]) and r['question'][q]['n'] == 120
    assert 0.3 < r['question']['even']['blind_accuracy'] < 0.7  # the seven-segment test labels are balanced
    drawn = r['caption_draw']['guided']
    assert drawn['n'] == 30 and set(drawn['attributes']['slant']) == {'agreement', 'ci95', 'random_agreement'}
    # guided: drawn again while the run does not read the caption's label; guided_once: its first drawings alone
    assert set(r['caption_draw']) == {'plain', 'guided_once', 'guided'}
    assert drawn['tries'] > 1 and 1 <= drawn['drawings_per_picture'] <= drawn['tries']
    once, plain = r['caption_draw']['guided_once'], r['caption_draw']['plain']
    assert once['guidance'] == drawn['guidance'] > 0 == plain['guidance'] and plain['drawings_per_picture'] == 1
    with open(os.path.join(all_tasks['out'], 'eval', 'report.md'), encoding='utf-8') as f:
        report = f.read()
    for title in ('## Caption (', '## Draw from a caption', '## Question (', '## Read (', '## Draw (', '## Tasks'):
        assert title in report


def test_the_page_captions_and_answers_about_one_picture_or_two(all_tasks):
    from eval.serve import load_app, make_server
    from tests.eval.test_serve import drawn_seven, png, request
    with open(os.path.join(all_tasks['out'], 'eval', 'results.json')) as f:
        judge = json.load(f)['judge']['path']
    server = make_server(load_app(all_tasks['out'], judge))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url, seven = f'http://127.0.0.1:{server.server_address[1]}', png(drawn_seven())
    try:
        for body, task in ((dict(image=seven), 'caption'), (dict(image=seven, question='is it even?'), 'question'),
                           (dict(image=seven, image2=seven, question='what is their sum?'), 'question')):
            status, _, data = request(url, 'POST', '/api/ask', body)
            r = json.loads(data)
            assert status == 200 and r['task'] == task and isinstance(r['answer'], str) and r['answer']
            assert len(r['digits']) == (2 if 'image2' in body else 1) and len(r['digits'][0]) == 784
        status, _, data = request(url, 'POST', '/api/ask', dict(image=seven, question='is it §even?'))
        assert status == 400 and 'not in the vocabulary' in json.loads(data)['error']
        status, _, data = request(url, 'POST', '/api/ask', dict(image=seven, question='is it even? ' * 12))
        assert status == 400 and 'a record holds 77' in json.loads(data)['error']
    finally:
        server.shutdown()
        server.server_close()


def test_ask_captions_and_answers_and_draw_takes_a_caption(all_tasks, tmp_path):
    from PIL import Image
    from tests.conftest import draw_digits
    Image.fromarray(draw_digits([3], np.random.default_rng(0))[0]).save(tmp_path / 'three.png')
    Image.fromarray(draw_digits([4], np.random.default_rng(1))[0]).save(tmp_path / 'four.png')
    out, img = f"--out_dir={all_tasks['out']}", f"--image={tmp_path / 'three.png'}"
    p = run('eval.ask', img, out, '--task=caption')
    assert p.stdout.strip() and p.stderr == ''
    p = run('eval.ask', img, f"--image2={tmp_path / 'four.png'}", out, '--question=what is their sum?')
    assert p.stdout.strip() and p.stderr == ''
    p = run('eval.ask', img, out, '--question=is it even? ~', check=False)
    assert p.returncode == 1 and "'~' are not in the vocabulary" in p.stderr and 'Traceback' not in p.stderr
    p = run('eval.draw', out, '--caption=a small thick three, upright', '--n=4', f"--out={tmp_path / 'd.png'}")
    assert os.path.exists(tmp_path / 'd.png') and 'drew 4' in p.stdout and 'no one label' not in p.stdout
    p = run('eval.draw', out, '--caption=a small thick digit', '--n=2', f"--out={tmp_path / 'e.png'}")
    assert 'drew 2' in p.stdout and 'names no one label' in p.stdout  # nothing to read it back as: drawn once each
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f"--dataset={all_tasks['data']}",
            f"--out_dir={tmp_path / 'bad'}", '--task_mix=read:0.5,draw:0.4', check=False)
    assert p.returncode == 1 and 'add up to 0.9' in p.stderr and 'Traceback' not in p.stderr


def test_a_cnn_run_reads_the_pictures_of_captions_and_questions(all_tasks, report, tmp_path):
    from PIL import Image

    from tests.conftest import draw_digits
    meta = load_meta(all_tasks['data'])
    records = np.fromfile(os.path.join(all_tasks['data'], 'test.bin'), dtype=np.uint16).reshape(-1, meta['seq_len'])
    pictures = np.load(os.path.join(all_tasks['data'], 'test_images.npy'))
    npz = np.load(os.path.join(all_tasks['data'], 'test.npz'))
    shown = pictures_shown(torch.from_numpy(records.astype(np.int64)), meta).numpy()
    assert pictures.shape == (len(records), 2, 28, 28) and (shown == 2).any()
    assert (pictures[shown < 2, 1] == 0).all() and (pictures[shown == 2, 1].reshape(-1, 784).max(1) > 0).all()
    second = picture_places(meta, 2)[1]
    for r in np.flatnonzero(shown == 2)[:20]:  # the second picture is the one whose letters the record shows
        j = int(np.flatnonzero((npz['images'] == pictures[r, 1]).all((1, 2)))[0])
        text = ''.join(meta['itos'][t] for t in records[r])
        assert text[second:second + 16] == letters(npz['codes'][j], meta)
    out = str(tmp_path / 'cnn')
    with open(os.path.join(report, 'results.json')) as f:
        judge = json.load(f)['judge']['path']
    run('nanogpt.train', 'tests/configs/train_tiny.py', f"--dataset={all_tasks['data']}", f'--out_dir={out}',
        f'--task_mix={MIX}', '--max_iters=30', '--eval_interval=30', '--image_input=cnn', '--image_vectors=1',
        env_extra=all_tasks['env'])
    run('eval.report', f'--out_dir={out}', f'--judge_ckpt={judge}', '--n_per_digit=2', '--captions_per_label=3',
        env_extra=all_tasks['env'])
    with open(os.path.join(out, 'eval', 'results.json')) as f:
        r = json.load(f)
    assert r['caption']['n'] == 120 and r['question']['two_image_sum']['n'] == 120
    Image.fromarray(draw_digits([3], np.random.default_rng(0))[0]).save(tmp_path / 'three.png')
    Image.fromarray(draw_digits([4], np.random.default_rng(1))[0]).save(tmp_path / 'four.png')
    p = run('eval.ask', f"--image={tmp_path / 'three.png'}", f"--image2={tmp_path / 'four.png'}", f'--out_dir={out}',
            '--question=what is their sum?')
    assert p.stdout.strip() and p.stderr == ''
