"""The whole pipeline through the Makefile, with tiny configs, on small generated data; and the knobs' presets,
run folders and studies as the Makefile resolves them."""
import ast
import itertools
import os
import re
import shlex
import subprocess
import sys

import pytest

from common.configurator import configure
from tests.conftest import ROOT, write_mnist

DATASETS, TASKS, INPUTS = ('mnist', 'fashion_mnist'), ('default', 'all'), ('letters', 'patches', 'cnn', 'frozen')


def make(*args, env=None):
    return subprocess.run(['make', '--no-print-directory', *args], cwd=ROOT, env=env or dict(os.environ),
                          capture_output=True, text=True)


def run_name(dataset, tasks, image_input):
    return f"{dataset}{'_all' if tasks == 'all' else ''}_{image_input}"


def paths(*knobs):
    """`make paths` as a dict: the folders and configs the knobs resolve to."""
    p = make('-s', 'paths', *knobs)
    assert p.returncode == 0, p.stderr
    return dict(kv.split('=', 1) for kv in shlex.split(p.stdout))


def test_make_all_then_stages_skip_and_args_force(tmp_path):
    env = dict(os.environ, MNIST_DIR=write_mnist(str(tmp_path / 'mnist')))
    tiny = [f'PY={sys.executable}', 'SETUP=', f'VQVAE_DIR={tmp_path}/vq', f'DATA_DIR={tmp_path}/data',
            f'RUN_DIR={tmp_path}/run', 'VQVAE_CONFIG=tests/configs/vqvae_make.py',
            'TRAIN_CONFIG=tests/configs/train_make.py', f'JUDGE={tmp_path}/judge/ckpt.pt']
    p = make('all', *tiny, 'ARGS=--max_iters=50', env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    report = tmp_path / 'run' / 'eval' / 'report.md'
    assert report.exists() and 'test accuracy' in report.read_text() and 'judge accuracy' in report.read_text()
    # ARGS went to no stage, since none was named: the config's 100 iterations ran
    assert (tmp_path / 'run' / 'ckpt_100.pt').exists()

    p = make('all', *tiny, env=env)
    assert p.returncode == 0 and 'python' not in p.stdout  # everything up to date: nothing runs again

    # sweeps/seeds.sh on the knobs' run (here the tiny one): `make eval` (up to date: nothing), the same preset
    # trained again with each seed, then sweeps.compare over the three. The seed runs train for real; the
    # comparison (tests/sweeps/test_compare.py runs it) is only recorded, to keep this fast.
    log = tmp_path / 'py.log'
    fake = tmp_path / 'py'
    fake.write_text(f'#!/bin/bash\necho "$*" >> {log}\n[ "$2" = sweeps.compare ] && exit 0\n'
                    f'exec {sys.executable} "$@"\n')
    fake.chmod(0o755)
    p = make('study', 'NAME=seeds', *tiny, f'PY={fake}', 'SEEDS=7 8', env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    ran = log.read_text().splitlines()
    data = f'--dataset={tmp_path}/data'
    assert ran[:2] == [f'-m nanogpt.train tests/configs/train_make.py {data} --out_dir={tmp_path}/run_seed{s} '
                       f'--seed={s} --init_from=auto' for s in (7, 8)], ran
    assert ran[2:] == [f'-m sweeps.compare --runs={tmp_path}/run,{tmp_path}/run_seed7,{tmp_path}/run_seed8 '
                       f'--judge_ckpt={tmp_path}/judge/ckpt.pt --out={tmp_path}/run/seeds.json']
    for s in (7, 8):
        assert {f.name for f in (tmp_path / f'run_seed{s}').iterdir()} >= {'run.json', 'ckpt_100.pt'}

    # a finished run is never replaced by accident: ARGS alone is refused, --force=True replaces it
    before = (tmp_path / 'run' / 'ckpt.pt').read_bytes()
    p = make('train', *tiny, 'ARGS=--max_iters=20 --eval_interval=10', env=env)
    assert p.returncode != 0 and '--force=True' in p.stderr and (tmp_path / 'run' / 'ckpt.pt').read_bytes() == before
    p = make('train', *tiny, 'ARGS=--max_iters=20 --eval_interval=10 --force=True', env=env)
    assert p.returncode == 0 and '-m nanogpt.train' in p.stdout and '--max_iters=20' in p.stdout
    assert '-m vqvae.train' not in p.stdout
    assert sorted(f.name for f in (tmp_path / 'run').glob('ckpt_*.pt')) == ['ckpt_0.pt', 'ckpt_10.pt', 'ckpt_20.pt']

    p = make('train', *tiny, 'ARGS=--n_layers=2', env=env)
    assert p.returncode != 0 and "unknown config key 'n_layers'" in p.stderr


def test_an_image_input_gets_its_preset_and_a_run_folder_of_its_own():
    p = make('-n', '-B', 'train', 'SETUP=')
    assert p.returncode == 0
    assert 'config/train_mnist_letters.py --dataset=mnist_vlm --out_dir=out/mnist_letters ' in p.stdout
    p = make('-n', '-B', 'train', 'SETUP=', 'IMAGE_INPUT=cnn')
    assert p.returncode == 0 and 'config/train_mnist_cnn.py --dataset=mnist_vlm --out_dir=out/mnist_cnn ' in p.stdout
    p = make('-n', '-B', 'train', 'SETUP=', 'IMAGE_INPUT=frozen', 'DATASET=fashion_mnist')
    assert 'config/train_fashion_mnist_frozen.py --dataset=fashion_mnist_vlm --out_dir=out/fashion_mnist_frozen ' \
        in p.stdout
    # Fashion-MNIST's default run reads through the conv net; its letters run is asked for by name
    p = make('-n', '-B', 'train', 'SETUP=', 'DATASET=fashion_mnist')
    assert 'config/train_fashion_mnist_cnn.py --dataset=fashion_mnist_vlm --out_dir=out/fashion_mnist_cnn ' in p.stdout
    assert 'vqvae.train config/vqvae_fashion_mnist.py --out_dir=out/vqvae_fashion_mnist ' in p.stdout
    assert 'prepare config/prepare_fashion_mnist.py --vqvae_ckpt=out/vqvae_fashion_mnist/ckpt.pt' in p.stdout
    p = make('-n', '-B', 'train', 'SETUP=', 'DATASET=fashion_mnist', 'IMAGE_INPUT=letters')
    assert '--out_dir=out/fashion_mnist_letters ' in p.stdout and 'config/train_fashion_mnist_letters.py' in p.stdout
    p = make('-n', 'all', 'IMAGE_INPUT=vit')
    assert p.returncode != 0 and 'unknown IMAGE_INPUT=vit; use letters, patches, cnn or frozen' in p.stderr


def test_every_task_gets_its_data_preset_and_folders_of_its_own():
    p = make('-n', '-B', 'all', 'SETUP=', 'TASKS=all')
    assert p.returncode == 0 and 'config/prepare_mnist_all.py' in p.stdout
    assert '--out_dir=data/mnist_all_vlm' in p.stdout
    # every task reads its pictures through the conv net by default
    assert 'config/train_mnist_all_cnn.py --dataset=mnist_all_vlm --out_dir=out/mnist_all_cnn ' in p.stdout
    assert 'eval.report --out_dir=out/mnist_all_cnn --judge_ckpt=out/judge_mnist/ckpt.pt' in p.stdout
    p = make('-n', '-B', 'train', 'SETUP=', 'TASKS=all', 'IMAGE_INPUT=letters')
    assert 'config/train_mnist_all_letters.py --dataset=mnist_all_vlm --out_dir=out/mnist_all_letters ' in p.stdout
    p = make('-n', 'all', 'TASKS=some')
    assert p.returncode != 0 and 'unknown TASKS=some; use default (read and draw) or all' in p.stderr
    # a combination without a preset is one line naming the presets there are
    p = make('-n', 'all', 'DATASET=fashion_mnist', 'TASKS=all')
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert 'no preset for DATASET=fashion_mnist TASKS=all IMAGE_INPUT=cnn' in p.stderr and 'mnist_letters' in p.stderr


def test_make_paths_names_each_knobs_folders():
    assert paths() == dict(VQVAE_DIR='out/vqvae_mnist', DATA_DIR='data/mnist_vlm', DATA_NAME='mnist_vlm',
                           RUN_DIR='out/mnist_letters', JUDGE='out/judge_mnist/ckpt.pt',
                           VQVAE_CONFIG='config/vqvae_mnist.py', DATA_CONFIG='config/prepare_mnist.py',
                           TRAIN_CONFIG='config/train_mnist_letters.py')
    assert paths('TASKS=all')['RUN_DIR'] == 'out/mnist_all_cnn' and paths('TASKS=all')['DATA_NAME'] == 'mnist_all_vlm'
    assert paths('TASKS=all', 'IMAGE_INPUT=letters')['RUN_DIR'] == 'out/mnist_all_letters'
    fashion = paths('DATASET=fashion_mnist')
    assert fashion['RUN_DIR'] == 'out/fashion_mnist_cnn' and fashion['VQVAE_DIR'] == 'out/vqvae_fashion_mnist'
    assert fashion['JUDGE'] == 'out/judge_fashion_mnist/ckpt.pt' and fashion['DATA_DIR'] == 'data/fashion_mnist_vlm'
    assert paths('RUN_DIR=/tmp/x', 'DATA_DIR=/elsewhere/d')['DATA_NAME'] == '/elsewhere/d'  # nanoGPT's key: a path
    # clean removes the knobs' folders; bench times the run beside each image input's run of its dataset
    p = make('-n', 'clean', 'DATASET=fashion_mnist')
    assert p.stdout.split() == ['rm', '-rf', 'out/vqvae_fashion_mnist', 'out/fashion_mnist_cnn',
                                'out/fashion_mnist_cnn_seed*', 'out/judge_fashion_mnist/', 'data/fashion_mnist_vlm']
    p = make('-n', '-B', 'bench', 'SETUP=')
    runs = ','.join(f'out/mnist_{m}' for m in INPUTS)
    assert f'--input_runs={runs}' in p.stdout and '--out=out/mnist_letters/bench.json' in p.stdout


def script_defaults(path):
    """The settings a script declares (its top-level assignments of plain values up to where it reads its
    config), without running it."""
    g = {}
    for node in ast.parse(open(os.path.join(ROOT, path), encoding='utf-8').read()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ('defaults', 'config'):
                break
            try:
                g[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return g


def resolve(script, preset):
    g = script_defaults(script)
    return configure(g, [os.path.join(ROOT, preset)])


def test_every_train_preset_is_a_full_valid_config_and_make_picks_it_for_its_knobs(tmp_path):
    from nanogpt.batches import parse_mix
    from nanogpt.vision import check_image_input
    from tasks import get_tasks
    presets = {os.path.basename(f)[len('train_'):-3] for f in os.listdir(os.path.join(ROOT, 'config'))
               if f.startswith('train_') and f.endswith('.py')}
    knob_runs = {run_name(*k): k for k in itertools.product(DATASETS, TASKS, INPUTS)}
    folders = {f'images_{m}': m for m in INPUTS}  # IMAGES=folder's: one per input, named by make after the folder
    captioned = {'images_captions_cnn': 'cnn'}  # a folder with a captions.jsonl: its caption tasks too
    assert presets - set(knob_runs) == {'mnist_blog', *folders, *captioned}  # the rest, each a knob combination's
    assert {'mnist_letters', 'mnist_cnn', 'fashion_mnist_cnn', 'fashion_mnist_letters', 'mnist_all_cnn',
            'mnist_all_letters'} <= presets
    for name in sorted(presets):
        config = resolve('nanogpt/train.py', f'config/train_{name}.py')  # unknown keys, types and ranges refused
        assert config['n_embd'] % config['n_head'] == 0 and check_image_input(config['image_input']) is None
        assert config['out_dir'] == f'out/{name}', name
        assert config['warmup_iters'] < config['max_iters'] == config['lr_decay_iters'], name
        assert config['min_lr'] <= config['learning_rate'], name
        if name == 'mnist_blog':
            continue
        if name in folders:
            assert config['image_input'] == folders[name] and config['dataset'] == 'images_vlm', name
            where = paths('IMAGES=/pictures/Toy-Box', f'IMAGE_INPUT={folders[name]}')
            assert where['TRAIN_CONFIG'] == f'config/train_{name}.py' and where['DATA_NAME'] == 'toy_box_vlm'
            assert where['RUN_DIR'] == f'out/toy_box_{folders[name]}' and where['JUDGE'] == 'out/judge_toy_box/ckpt.pt'
            continue
        if name in captioned:
            assert config['dataset'] == 'images_captions_vlm' and 'describe' in config['task_mix'], name
            (tmp_path / 'Toy-Box').mkdir(exist_ok=True)
            (tmp_path / 'Toy-Box' / 'captions.jsonl').write_text('')
            where = paths(f'IMAGES={tmp_path}/Toy-Box')
            assert where['TRAIN_CONFIG'] == f'config/train_{name}.py' and where['DATA_NAME'] == 'toy_box_captions_vlm'
            assert where['DATA_CONFIG'] == 'config/prepare_images_captions.py'
            assert where['RUN_DIR'] == 'out/toy_box_captions_cnn'
            continue
        dataset, tasks, image_input = knob_runs[name]
        assert config['image_input'] == image_input, name
        knobs = [f'DATASET={dataset}', f'TASKS={tasks}', f'IMAGE_INPUT={image_input}']
        where = paths(*knobs)
        assert where['TRAIN_CONFIG'] == f'config/train_{name}.py' and where['RUN_DIR'] == config['out_dir']
        assert config['dataset'] == where['DATA_NAME'], name  # run straight from the preset, it reads make's data
        # the data the preset trains on holds every task its mix names
        data = resolve('data/records/prepare.py', where['DATA_CONFIG'])
        names = [t.name for t in get_tasks(data['tasks'])]
        parse_mix(config['task_mix'], names, __import__('torch').arange(len(names)))
        p = make('-n', '-B', 'train', 'SETUP=', *knobs)
        assert p.returncode == 0, p.stderr
        assert (f"-m nanogpt.train config/train_{name}.py --dataset={where['DATA_NAME']} --out_dir=out/{name} "
                in p.stdout), p.stdout
    for dataset, tasks, image_input in itertools.product(DATASETS, TASKS, INPUTS):
        if run_name(dataset, tasks, image_input) not in presets:  # a combination without a preset: one line
            p = make('-n', 'train', 'SETUP=', f'DATASET={dataset}', f'TASKS={tasks}', f'IMAGE_INPUT={image_input}')
            assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
            assert f'no preset for DATASET={dataset} TASKS={tasks} IMAGE_INPUT={image_input}' in p.stderr


@pytest.mark.parametrize('kind', ['vqvae', 'prepare', 'judge'])
def test_every_tokenizer_data_and_judge_preset_resolves(kind):
    found = [f for f in sorted(os.listdir(os.path.join(ROOT, 'config'))) if f.startswith(kind + '_')]
    assert found
    for f in found:
        if kind == 'judge':  # its out_dir is an imported constant: its settings as the module holds them
            import eval.judge
            config = configure(dict(vars(eval.judge)), [os.path.join(ROOT, 'config', f)])
            # a folder's judge (judge_images.py) is named and pointed at its dataset by make (IMAGES=)
            assert config['out'] == f'out/{f[:-3]}/ckpt.pt' and f in (f"judge_{config['dataset']}.py",
                                                                       'judge_images.py'), f
            continue
        config = resolve({'vqvae': 'vqvae/train.py', 'prepare': 'data/records/prepare.py'}[kind], f'config/{f}')
        if kind == 'vqvae':
            assert config['out_dir'] == f'out/{f[:-3]}', f
            assert f[len('vqvae_'):-3].startswith(config['dataset']) or f == 'vqvae_images.py', f
        else:
            assert config['tasks'] and config['labels'] in ('digits', 'words'), f


def test_make_study_runs_a_study_of_sweeps_by_name():
    studies = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'sweeps')) if f.endswith('.sh'))
    assert {'seeds', 'heads', 'mix', 'words', 'letters49', 'recipes', 'tasks'} <= set(studies)
    for name in studies:
        p = make('-n', 'study', f'NAME={name}', 'SETUP=')
        assert p.returncode == 0 and f'bash sweeps/{name}.sh' in p.stdout, p.stderr
    p = make('-n', 'study', 'NAME=seeds', 'SETUP=', 'SEEDS=1338 1339', 'DATASET=fashion_mnist')
    recipe = re.sub(r'\s*\\\n\s*', ' ', p.stdout)  # the recipe's lines joined, as the shell joins them
    assert 'SEEDS="1338 1339" DATASET=fashion_mnist TASKS=default IMAGE_INPUT=cnn bash sweeps/seeds.sh' in recipe
    p = make('-n', 'study', 'NAME=letters_probe', 'ARGS=--n=5', 'SETUP=')
    assert '-m sweeps.letters_probe --n=5' in p.stdout
    # an unknown study is one line listing the studies there are, and runs nothing
    p = make('study', 'NAME=seed', 'SETUP=')
    # make's own trailer aside ('make[1]: ***' when the suite itself runs under make)
    said = [line for line in p.stderr.splitlines() if not re.match(r'make(\[\d+\])?: \*\*\*', line)]
    assert p.returncode != 0 and len(said) == 1 and not p.stdout, p.stderr
    assert "error: no study NAME='seed'; the studies:" in p.stderr
    assert all(name in p.stderr.split() for name in studies + ['compare', 'letters_probe'])
    for gone in ('seeds', 'heads', 'mix', 'letters49', 'letters49-seeds', 'compare', 'compare-tasks', 'words'):
        p = make('-n', gone, 'SETUP=')
        assert p.returncode != 0 and 'No rule to make target' in p.stderr, gone


def test_serve_names_the_run_the_judge_and_the_port(tmp_path):
    p = make('-n', 'serve', 'SETUP=', 'PORT=8765')
    assert p.returncode == 0
    assert '-m eval.serve --out_dir=out/mnist_letters --judge_ckpt=out/judge_mnist/ckpt.pt --port=8765' in p.stdout
    p = make('-n', 'serve', 'SETUP=', 'DATASET=fashion_mnist')
    assert '--out_dir=out/fashion_mnist_cnn --judge_ckpt=out/judge_fashion_mnist/ckpt.pt --port=8000' in p.stdout
    # no trained run: one line naming the target that trains it, and nothing served
    p = make('serve', f'PY={sys.executable}', 'SETUP=', f'RUN_DIR={tmp_path}/none')
    assert p.returncode != 0 and f'error: {tmp_path}/none/config.json not found; train the run first with `make all`' \
        in p.stderr
    assert 'Traceback' not in p.stderr
