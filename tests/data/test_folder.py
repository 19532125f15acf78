"""A folder of one's own pictures (data/folder.py): imported into arrays every stage reads, and every bad folder
or file named in one line before anything is written."""
import json
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from data import folder, pictures
from tests.conftest import ROOT, run


def shapes(root, n=20, test=4, labels=('circle', 'square', 'triangle'), seed=0):
    """A folder of coloured shapes of several sizes and modes, in ImageFolder's layout."""
    rng = np.random.default_rng(seed)
    for split, count in (('train', n), ('test', test)):
        for label in labels if count else ():
            os.makedirs(f'{root}/{split}/{label}', exist_ok=True)
            for i in range(count):
                w, h = int(rng.integers(30, 90)), int(rng.integers(30, 90))
                im = Image.new('RGB', (w, h), tuple(int(v) for v in rng.integers(0, 60, 3)))
                d, s = ImageDraw.Draw(im), min(w, h) // 2
                box = [w // 4, h // 4, w // 4 + s, h // 4 + s]
                ink = tuple(int(v) for v in rng.integers(150, 256, 3))
                if label == 'circle':
                    d.ellipse(box, fill=ink)
                elif label == 'triangle':
                    d.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], fill=ink)
                else:
                    d.rectangle(box, fill=ink)
                mode = ('RGB', 'L', 'RGBA', 'P')[i % 4]  # every common mode and size, converted alike
                jpeg = i % 5 == 4 and mode in ('RGB', 'L')
                im.convert(mode).save(f'{root}/{split}/{label}/{i:03d}.{"jpg" if jpeg else "png"}')
    return root


def test_a_folder_is_imported_into_arrays_with_its_labels_and_splits(tmp_path):
    src = shapes(str(tmp_path / 'My Shapes'), n=20, test=4)
    assert folder.dataset_name(src) == 'my_shapes'
    info = folder.import_folder(src, str(tmp_path / 'out'), quiet=True)
    # coloured shapes: kept in colour, 32x32 (CIFAR's side)
    assert info['labels'] == ['circle', 'square', 'triangle'] and (info['side'], info['channels']) == (32, 3)
    assert info['counts'] == dict(train=54, val=6, test=12)  # a tenth of train/ validates; test/ tests
    for split, n in info['counts'].items():
        x = np.load(tmp_path / 'out' / f'{split}_images.npy')
        y = np.load(tmp_path / 'out' / f'{split}_labels.npy')
        assert x.shape == (n, 32, 32, 3) and x.dtype == np.uint8 and sorted(set(y)) == [0, 1, 2]
        assert x.max() > 100  # the shapes are there, light on dark
        assert (x.max(-1).astype(int) - x.min(-1)).max() > 50  # and in colour
    grey = folder.import_folder(src, str(tmp_path / 'grey'), quiet=True, channels=1, side=20)
    assert (grey['side'], grey['channels']) == (20, 1) and np.load(tmp_path / 'grey' / 'test_images.npy').shape == (12, 20, 20)
    assert not list((tmp_path / 'out').glob('*.tmp'))
    # without test/, a seeded tenth of train/ is held out: the same tenth every time
    os.rename(f'{src}/test', tmp_path / 'elsewhere')
    a = folder.import_folder(src, str(tmp_path / 'a'), quiet=True)
    b = folder.import_folder(src, str(tmp_path / 'b'), quiet=True)
    assert a['counts'] == b['counts'] == dict(train=51, val=3, test=6)  # a label: 2 held out, 1 of 18 validates
    assert np.array_equal(np.load(tmp_path / 'a' / 'test_images.npy'), np.load(tmp_path / 'b' / 'test_images.npy'))


def test_colour_is_kept_only_where_the_pictures_have_it(tmp_path):
    src = shapes(str(tmp_path / 'src'), n=10, test=2)
    for path in (tmp_path / 'src').rglob('*.*'):  # every picture grey, most still saved in colour modes
        im = Image.open(path)
        im.convert('L').convert(im.mode if im.mode != 'P' else 'RGB').save(path)
    info = folder.import_folder(src, str(tmp_path / 'out'), quiet=True)
    assert (info['side'], info['channels']) == (28, 1)
    assert np.load(tmp_path / 'out' / 'train_images.npy').shape[1:] == (28, 28)
    with pytest.raises(SystemExit, match='side=30'):
        folder.import_folder(src, str(tmp_path / 'bad'), quiet=True, side=30)
    assert not (tmp_path / 'bad').exists()


def test_every_stage_reads_an_imported_folder_by_its_name(tmp_path, monkeypatch):
    monkeypatch.setattr(folder, 'HERE', str(tmp_path))
    folder.import_folder(shapes(str(tmp_path / 'src')), str(tmp_path / 'toys'), quiet=True)
    x, y = pictures.load_split('val', 'toys')
    assert x.shape == (6, 32, 32, 3) and pictures.label_words('toys') == ['circle', 'square', 'triangle']
    assert pictures.source_files('toys')[0].endswith('toys/pictures.json')
    with pytest.raises(SystemExit, match="unknown dataset 'nothing'"):
        pictures.load_split('val', 'nothing')


def bad(root, what):
    """One folder of the kind `what` names, made in root."""
    if what == 'missing':
        return str(root / 'nowhere')
    if what == 'empty':
        (root / 'empty' / 'train').mkdir(parents=True)
        return str(root / 'empty')
    src = shapes(str(root / what), n=12, test=0)
    if what == 'one label':
        for label in ('square', 'triangle'):
            for f in os.listdir(f'{src}/train/{label}'):
                os.remove(f'{src}/train/{label}/{f}')
            os.rmdir(f'{src}/train/{label}')
    elif what == 'a label without pictures':
        os.makedirs(f'{src}/train/star')
        open(f'{src}/train/star/notes.txt', 'w').write('not a picture')
    elif what == 'a label the records cannot hold':
        os.rename(f'{src}/train/circle', f'{src}/train/circle, big.')
    elif what == 'not a picture':
        open(f'{src}/train/circle/000.png', 'w').write('not a picture at all')
    elif what == 'a truncated picture':
        data = open(f'{src}/train/circle/001.png', 'rb').read()
        open(f'{src}/train/circle/001.png', 'wb').write(data[:len(data) // 2])
    elif what == 'a decompression bomb':
        Image.new('1', (9000, 9000)).save(f'{src}/train/circle/002.png')  # 81 million pixels, a few KB on disk
    elif what.startswith('captions'):
        good = json.dumps(dict(image='train/circle/000.png', text='a big circle'))
        third = {'captions of bad JSON': '{"image": "train/circle/001.png", "text": ',
                 'captions of a missing picture': json.dumps(dict(image='train/circle/999.png', text='a circle')),
                 'captions with an empty text': json.dumps(dict(image='train/circle/001.png', text='  ')),
                 'captions a record cannot hold': json.dumps(dict(image='train/circle/001.png', text='r: 3 # x'))}[what]
        open(f'{src}/captions.jsonl', 'w').write(f'{good}\n\n{third}\n')
    return src


@pytest.mark.parametrize('what, message', [
    ('missing', 'nowhere not found; pass a folder holding train/<label>/'), ('empty', 'holds 0 label folder(s)'),
    ('one label', 'holds 1 label folder(s); reading needs two'), ('a label without pictures', 'star holds no pictures'),
    ('a label the records cannot hold', "the label 'circle, big.' holds characters a record cannot"),
    ('not a picture', '000.png is not a readable picture'), ('a truncated picture', '001.png is not a readable'),
    ('a decompression bomb', '002.png is not a readable picture (ValueError: 9000x9000 pixels'),
    ('captions of bad JSON', 'captions.jsonl, line 3 is not JSON'),
    ('captions of a missing picture', "captions.jsonl, line 3: 'train/circle/999.png' is not a picture of train/"),
    ('captions with an empty text', "captions.jsonl, line 3: the text of 'train/circle/001.png' is empty"),
    ('captions a record cannot hold', "captions.jsonl, line 3: the text 'r: 3 # x' holds characters a record cannot"),
])
def test_a_bad_folder_or_file_is_one_line_naming_it_and_writes_nothing(tmp_path, what, message):
    src = bad(tmp_path, what)
    p = run('data.folder', f'--images={src}', f"--out_dir={tmp_path / 'out'}", check=False)
    said = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(said) == 1 and said[0].startswith('error: ') and message in said[0], p.stderr
    assert not os.path.exists(tmp_path / 'out' / 'pictures.json')


def test_unreadable_pictures_can_be_skipped_and_counted_and_duplicates_are_a_warning(tmp_path):
    src = bad(tmp_path, 'not a picture')
    os.makedirs(f'{src}/test/circle')
    data = open(f'{src}/train/circle/003.png', 'rb').read()
    open(f'{src}/test/circle/x.png', 'wb').write(data)  # the same picture in train/ and test/
    for label in ('square', 'triangle'):
        os.makedirs(f'{src}/test/{label}')
        open(f'{src}/test/{label}/y.png', 'wb').write(open(f'{src}/train/{label}/005.png', 'rb').read())
    p = run('data.folder', f'--images={src}', f"--out_dir={tmp_path / 'out'}", '--skip_bad=True', check=False)
    assert p.returncode == 0 and 'warning: 3 picture(s)' in p.stderr and 'also in train/' in p.stderr
    info = json.load(open(tmp_path / 'out' / 'pictures.json'))
    assert sum(info['skipped'].values()) == 1 and info['duplicates_in_test'] == 3


def test_a_run_of_a_folder_is_one_make_command(tmp_path):
    """make all IMAGES=folder on colour pictures with captions: import, tokenizer, records of every task of a
    captioned folder, GPT, judge and report, named after the folder."""
    import subprocess
    import sys
    from data.folders.shapes import write
    name = f'toy_shapes_{os.getpid()}'  # its import lands in data/<name>/: a name no other run of the suite takes
    src = str(tmp_path / name.replace('_', '-').title())
    write(src, 16, 4, 0)
    paths = [f'PY={sys.executable}', 'SETUP=', f'IMAGES={src}', 'VQVAE_CONFIG=tests/configs/vqvae_tiny.py',
             'TRAIN_CONFIG=tests/configs/train_make.py', f'VQVAE_DIR={tmp_path}/vq', f'DATA_DIR={tmp_path}/data',
             f'RUN_DIR={tmp_path}/run', f'JUDGE={tmp_path}/judge/ckpt.pt']
    p = subprocess.run(['make', '--no-print-directory', '-n', 'all', *paths[1:]], cwd=ROOT, capture_output=True,
                       text=True)
    assert 'data.folder' in p.stdout and f'--dataset={name}' in p.stdout and 'config/judge_images.py' in p.stdout
    assert 'config/prepare_images_captions.py' in p.stdout  # a captions.jsonl: the caption tasks' records
    p = subprocess.run(['make', '--no-print-directory', 'all', *paths, 'JUDGE_CONFIG=tests/configs/judge_tiny.py'],
                       cwd=ROOT, capture_output=True, text=True)
    try:
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        r = json.load(open(tmp_path / 'run' / 'eval' / 'results.json'))
        assert r['data_meta']['dataset'] == name and len(r['data_meta']['labels']) == 10
        assert r['data_meta']['labels'][:2] == ['blue circle', 'blue cross']
        assert r['classification']['n'] == 40 and len(r['classification']['per_digit']) == 10
        assert 'judge_accuracy' in r['generation']['guided']
        d = r['describe']
        assert d['n'] == 40 and d['bits_per_char'] < d['blind_bits_per_char'], d  # the captions read the pictures
        assert r['describe_draw']['guided']['n'] > 0
        assert np.load(tmp_path / 'data' / 'val.npz')['images'].shape[1:] == (32, 32, 3)
    finally:
        import shutil
        shutil.rmtree(os.path.join(ROOT, 'data', name), ignore_errors=True)
