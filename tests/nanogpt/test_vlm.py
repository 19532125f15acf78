"""The VLM and its run folder: one self-contained folder that loads from anywhere, or one line that says why not;
beside it nanoGPT's ckpt.pt, for nanoGPT's own tools."""
import hashlib
import json
import os
import pickle
import runpy
import shutil
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from eval.picture import load_digit
from common.files import atomic_save
from nanogpt.model import GPT, GPTConfig
from nanogpt.vlm import FILES, FORMAT, VLM, config_sha256, load_tokenizer, read_run_config
from tasks.vocab import decode, encode, letters, load_meta
from tests.conftest import run
from tests.nanogpt.test_model import NANOGPT_NAMES

RUN_FILES = ('config.json', *FILES)


def test_from_pretrained_holds_the_run_and_reads_and_draws(pipeline):
    vlm = VLM.from_pretrained(pipeline['out'])
    assert vlm.info['data'] == pipeline['data'] and vlm.info['out_dir'] == pipeline['out']
    assert vlm.vocab == load_meta(pipeline['data']) and vlm.vocab['tasks'] == ['read', 'draw']
    assert [t.name for t in vlm.tasks] == ['read', 'draw'] and vlm.tokenizer.config.num_codes == vlm.vocab['num_codes']
    assert vlm.image_input == 'letters' and vlm.encoder is None and not vlm.training
    test = np.load(os.path.join(pipeline['data'], 'test.npz'))
    images, labels = test['images'], test['labels']
    # the run's own tokenizer writes the letters the data was prepared with
    assert np.array_equal(vlm.encode(images), test['codes'])
    assert vlm.see(images[:3]).texts == [letters(c, vlm.vocab) for c in test['codes'][:3]]
    assert (vlm.read(images) == labels).mean() > 0.5
    drawn, pictures, ok = vlm.draw(labels[:10], temperature=1.0, seed=0)
    assert drawn.shape == (10, 16) and pictures.shape == (10, 28, 28) and pictures.dtype == np.uint8
    assert ok.any() and pictures[ok].max() > 0
    again, _, _ = vlm.draw(labels[:10], temperature=1.0, seed=0)
    assert np.array_equal(drawn, again)  # a seed draws the same pictures


def test_the_run_folder_holds_its_parts_each_checked_by_config_json(pipeline):
    out = pipeline['out']
    assert set(RUN_FILES) <= set(os.listdir(out))
    config = read_run_config(out)
    assert config['format'] == FORMAT and config['sha256'] == config_sha256(config) and 'out_dir' not in config
    for name in FILES:
        with open(os.path.join(out, name), 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest() == config['files'][name]
    # vocab.json is the data's meta.json, byte for byte; the run says what it is, how it was trained and on what
    assert config['files']['vocab.json'] == config['meta_sha256']
    assert config['gpt']['n_layer'] == 2 and config['encoder'] is None and config['image_input'] == 'letters'
    assert config['tokenizer']['num_codes'] == 40 and config['tokenizer']['dataset'] == 'mnist'
    ckpt = torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)
    assert config['iter_num'] == ckpt['iter_num'] and config['val_acc'] == ckpt['best_val_acc']
    assert config['train_config'] == ckpt['config'] and config['data'] == pipeline['data']
    # the weights in model.safetensors are ckpt.pt's
    vlm = VLM.from_pretrained(out)
    assert all(torch.equal(v, ckpt['model'][k]) for k, v in vlm.gpt.state_dict().items())


def test_save_pretrained_writes_a_folder_that_loads_the_same_model(pipeline, tmp_path):
    vlm = VLM.from_pretrained(pipeline['out'])
    vlm.save_pretrained(str(tmp_path), note='copied')
    assert sorted(os.listdir(tmp_path)) == sorted(RUN_FILES)
    other = VLM.from_pretrained(str(tmp_path))
    assert other.info['note'] == 'copied' and other.info['iter_num'] == vlm.info['iter_num']
    assert other.info['out_dir'] == str(tmp_path) and other.vocab == vlm.vocab
    theirs = other.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in vlm.state_dict().items()) and set(theirs) == set(vlm.state_dict())
    idx = torch.tensor([encode('number:7, image:', vlm.vocab['stoi'])])
    assert torch.equal(vlm(idx)[0], other(idx)[0])


def test_a_snapshot_is_the_run_at_another_iteration(pipeline, tmp_path):
    vlm = VLM.from_pretrained(pipeline['out'])
    path = os.path.join(pipeline['out'], 'ckpt_100.pt')
    early, ckpt = vlm.snapshot(path)
    assert ckpt['iter_num'] == 100 and early.tokenizer is vlm.tokenizer and early.vocab is vlm.vocab
    assert all(torch.equal(v, ckpt['model'][k]) for k, v in early.gpt.state_dict().items())
    assert not torch.equal(early.gpt.lm_head.weight, vlm.gpt.lm_head.weight)  # its own GPT; the run's untouched
    gone = os.path.join(pipeline['out'], 'ckpt_999.pt')
    with pytest.raises(SystemExit, match=f'^error: checkpoint {gone} not found'):
        vlm.snapshot(gone)
    # a checkpoint of another shape, or of a run that reads pixels, is one line naming it
    plain = {k: v for k, v in ckpt.items() if k != 'model_sha256'}  # saved with a checksum of what it now holds
    smaller = dict(plain, model={k: v for k, v in ckpt['model'].items() if '.h.1.' not in k})
    for name, spoilt in (('ckpt_1.pt', smaller), ('ckpt_2.pt', dict(plain, encoder={}, encoder_args={'mode': 'cnn'}))):
        atomic_save(spoilt, str(tmp_path / name))
        with pytest.raises(SystemExit) as e:
            vlm.snapshot(str(tmp_path / name))
        assert str(e.value).startswith(f"error: {tmp_path / name} does not hold this run's model") and \
            '\n' not in str(e.value)


@pytest.fixture(scope='module')
def moved(pipeline, tmp_path_factory):
    """A run trained on copies of the pipeline's tokenizer and data, copied to another place; then the copies of
    its data folder and tokenizer folder deleted (the pipeline's own files stay): (the run, its copy)."""
    base = tmp_path_factory.mktemp('moved')
    vq, data, out = base / 'vqvae', base / 'data', base / 'run'
    shutil.copytree(pipeline['vqvae'], vq)
    shutil.copytree(pipeline['data'], data)
    with open(data / 'meta.json', encoding='utf-8') as f:
        meta = json.load(f)
    meta['vqvae']['path'] = str(vq / 'ckpt.pt')  # the copied data names the copied tokenizer
    (data / 'meta.json').write_text(json.dumps(meta, ensure_ascii=False), encoding='utf-8')
    run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={out}', '--max_iters=20',
        '--eval_interval=10', '--lr_decay_iters=20', '--warmup_iters=2', env_extra=pipeline['env'])
    copy = base / 'elsewhere' / 'mnist_letters'
    shutil.copytree(out, copy)
    shutil.rmtree(data)
    shutil.rmtree(vq)
    return str(out), str(copy)


def test_a_moved_run_works_without_its_data_and_tokenizer(pipeline, moved, tmp_path):
    out, copy = moved
    test = np.load(os.path.join(pipeline['data'], 'test.npz'))
    images = test['images'][:60]
    original, moved_vlm = VLM.from_pretrained(out), VLM.from_pretrained(copy)
    assert moved_vlm.info['out_dir'] == copy and original.info['data'] == moved_vlm.info['data']
    assert not os.path.exists(moved_vlm.info['data']) and not os.path.exists(moved_vlm.vocab['vqvae']['path'])
    assert torch.equal(moved_vlm.read_scores(images), original.read_scores(images))
    assert np.array_equal(moved_vlm.read(images), original.read(images))
    codes, _, _ = moved_vlm.draw([3, 7], temperature=1.0, seed=0)
    assert np.array_equal(codes, original.draw([3, 7], temperature=1.0, seed=0)[0])
    # the command reads a picture file with the copy alone (no MNIST_DIR, no data/, no tokenizer folder)
    png = str(tmp_path / 'digit.png')
    Image.fromarray(images[0]).save(png)
    probs = torch.softmax(original.read_scores(load_digit(png, dataset='mnist')[None])[0], 0)
    p = run('eval.ask', f'--out_dir={copy}', f'--image={png}')
    assert p.stdout.startswith(f"{original.vocab['labels'][int(probs.argmax())]}  (p={probs.max():.3f}; letters ")
    # the pipeline's own run, copied, reads as it does
    elsewhere = tmp_path / 'elsewhere'
    shutil.copytree(pipeline['out'], elsewhere)
    assert torch.equal(VLM.from_pretrained(str(elsewhere)).read_scores(images),
                       VLM.from_pretrained(pipeline['out']).read_scores(images))


def edit_config(d, **change):
    with open(os.path.join(d, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    config.update(change)
    for k, v in change.items():
        if v is None:
            del config[k]
    config['sha256'] = config_sha256(config)  # a consistent config.json: only what it says is wrong
    with open(os.path.join(d, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f)


def flip_last_byte(path):
    with open(path, 'r+b') as f:
        f.seek(-1, 2)
        b = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([b[0] ^ 1]))


def damage(case, d, pipeline):
    """Spoil the run folder d as `case` says; return what the line must name."""
    path = lambda name: os.path.join(d, name)  # noqa: E731
    if case.startswith('missing '):
        os.remove(path(case.split()[1]))
        return path(case.split()[1]) if case != 'missing config.json' else d
    if case == 'edited config.json':  # one number changed by hand
        with open(path('config.json'), encoding='utf-8') as f:
            text = f.read()
        assert '"iter_num": 400' in text
        with open(path('config.json'), 'w', encoding='utf-8') as f:
            f.write(text.replace('"iter_num": 400', '"iter_num": 401'))
        return path('config.json')
    if case == 'config.json not JSON':
        with open(path('config.json'), 'w', encoding='utf-8') as f:
            f.write('{"format": ')
        return path('config.json')
    if case == 'config.json of another format':
        edit_config(d, format='mnist-vlm run 0')
        return d
    if case == 'config.json without its gpt':
        edit_config(d, gpt=None)
        return path('config.json')
    if case == 'config.json of another shape':
        edit_config(d, gpt=dict(read_run_config(d)['gpt'], n_layer=3))
        return d
    if case.startswith('edited '):
        flip_last_byte(path(case.split()[1]))
        return path(case.split()[1])
    if case == 'empty folder':
        for name in os.listdir(d):
            os.remove(path(name))
        return d
    if case == 'folder with only ckpt.pt':
        for name in os.listdir(d):
            os.remove(path(name))
        shutil.copy(os.path.join(pipeline['out'], 'ckpt.pt'), d)
        return d
    if case == 'no folder':
        shutil.rmtree(d)
        return d
    raise AssertionError(case)


CASES = ['missing config.json', 'missing model.safetensors', 'missing tokenizer.safetensors', 'missing vocab.json',
         'edited config.json', 'config.json not JSON', 'config.json of another format', 'config.json without its gpt',
         'config.json of another shape', 'edited model.safetensors', 'edited tokenizer.safetensors',
         'edited vocab.json', 'empty folder', 'folder with only ckpt.pt', 'no folder']


def run_copy(pipeline, d):
    """A copy of the pipeline's run folder: its four files only."""
    os.makedirs(d)
    for name in RUN_FILES:
        shutil.copy(os.path.join(pipeline['out'], name), d)
    return d


@pytest.mark.parametrize('case', CASES)
def test_a_spoilt_run_folder_is_one_line_naming_it(pipeline, tmp_path, case):
    d = run_copy(pipeline, str(tmp_path / 'run'))
    VLM.from_pretrained(d)  # the copy itself loads
    named = damage(case, d, pipeline)
    with pytest.raises(SystemExit) as e:
        VLM.from_pretrained(d)
    said = str(e.value)
    assert said.startswith('error: ') and '\n' not in said and f'{named} ' in said + ' ', said
    if case not in ('missing config.json', 'empty folder', 'no folder'):  # a run that cannot be used: retrain it
        assert 'retrain' in said
    if case == 'folder with only ckpt.pt':
        assert 'older version' in said


def test_a_spoilt_run_folder_stops_a_command_in_one_line(pipeline, tmp_path):
    d = run_copy(pipeline, str(tmp_path / 'run'))
    named = damage('edited model.safetensors', d, pipeline)
    p = run('nanogpt.sample', f'--out_dir={d}', check=False)
    assert p.returncode == 1 and p.stderr.startswith(f'error: {named} was changed or damaged')
    assert len(p.stderr.strip().splitlines()) == 1 and 'Traceback' not in p.stderr and not p.stdout


def test_every_cli_loads_through_the_run_folder(pipeline, tmp_path, monkeypatch):
    """Each command's main, run here as `python -m` runs it: its one line is what the process prints and exits 1 with
    (a command's SystemExit of a message; the test above checks that of one process)."""
    d = run_copy(pipeline, str(tmp_path / 'run'))
    os.remove(os.path.join(d, 'vocab.json'))
    png = str(tmp_path / 'digit.png')
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(png)
    judge = f'--judge_ckpt={tmp_path}/j.pt'
    for module, args in (('eval.ask', [f'--out_dir={d}', f'--image={png}']),
                         ('eval.draw', [f'--out_dir={d}', f'--out={tmp_path}/d.png']),
                         ('eval.report', [f'--out_dir={d}', judge]), ('nanogpt.sample', [f'--out_dir={d}']),
                         ('eval.bench', [f'--out_dir={d}']), ('eval.serve', [f'--out_dir={d}', judge, '--port=0']),
                         ('sweeps.compare', [f'--runs={d}', judge])):
        monkeypatch.setattr(sys, 'argv', [module, *args])
        with pytest.raises(SystemExit) as e:
            runpy.run_module(module, run_name='__main__')
        assert e.value.code == f"error: {d}/vocab.json is missing or unreadable (No such file or directory); copy " \
                               "the whole run folder, or retrain it", module
    assert not os.path.exists(f'{tmp_path}/j.pt') and not os.path.exists(f'{tmp_path}/d.png')


def test_ckpt_pt_is_nanogpts_and_its_meta_pkl_is_at_data_dataset(pipeline):
    ckpt = torch.load(os.path.join(pipeline['out'], 'ckpt.pt'), weights_only=True)
    args = ckpt['model_args']
    assert set(args) == {'n_layer', 'n_head', 'n_embd', 'block_size', 'bias', 'vocab_size', 'dropout'}
    names = {k.replace('h.0.', f'h.{i}.') for k in NANOGPT_NAMES for i in range(args['n_layer'])}
    assert set(ckpt['model']) == names and 'encoder' not in ckpt
    # nanoGPT's sample.py: the dataset's meta.pkl at data/<config['dataset']>/, its stoi/itos, then the GPT
    assert ckpt['config']['dataset'] == pipeline['data']
    meta_path = os.path.join('data', ckpt['config']['dataset'], 'meta.pkl')
    with open(meta_path, 'rb') as f:
        meta = pickle.load(f)
    stoi, itos = meta['stoi'], meta['itos']
    assert meta['vocab_size'] == args['vocab_size']
    assert all(itos[i] == c for c, i in stoi.items() if i < args['vocab_size'])
    model = GPT(GPTConfig(**args))
    model.load_state_dict(ckpt['model'])
    model.eval()
    torch.manual_seed(0)
    x = torch.tensor([[stoi[c] for c in 'number:7, image:']])
    y = model.generate(x, 17, temperature=0.8, top_k=200)
    text = decode(y[0].tolist(), itos)
    assert text.startswith('number:7, image:') and len(text) == len('number:7, image:') + 17


def test_a_data_folder_naming_another_tokenizer_is_refused_naming_both_files(pipeline, tmp_path):
    data, out, other = tmp_path / 'data', tmp_path / 'run', tmp_path / 'vq' / 'ckpt.pt'
    shutil.copytree(pipeline['data'], data)
    out.mkdir()
    shutil.copy(os.path.join(pipeline['out'], 'last.pt'), out)
    other.parent.mkdir()
    vq = torch.load(os.path.join(pipeline['vqvae'], 'ckpt.pt'), weights_only=True)
    vq['model'] = {k: v + 0.01 if v.is_floating_point() else v for k, v in vq['model'].items()}
    vq.pop('model_sha256', None)
    torch.save(vq, other)
    meta = json.loads((data / 'meta.json').read_text(encoding='utf-8'))
    meta['vqvae']['path'] = str(other)
    with pytest.raises(SystemExit) as e:
        load_tokenizer(meta, str(data))
    assert str(e.value).startswith(f'error: {other} is not the tokenizer that wrote {data}/meta.json')
    assert '\n' not in str(e.value)
    # the tokenizer the data names is right, but the data are not what the run was trained on: resuming it stops
    meta['vqvae']['path'] = os.path.join(pipeline['vqvae'], 'ckpt.pt')
    meta['note'] = 'edited'
    (data / 'meta.json').write_text(json.dumps(meta, ensure_ascii=False), encoding='utf-8')
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={out}',
            '--init_from=resume', env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1
    assert p.stderr.startswith(f'error: {out}/last.pt was trained on other data than {data}/meta.json')
