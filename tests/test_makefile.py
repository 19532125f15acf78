"""The whole pipeline through the Makefile, with tiny configs, on small generated data."""
import os
import subprocess
import sys

from tests.conftest import ROOT, write_mnist


def make(*args, env):
    return subprocess.run(['make', '--no-print-directory', *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_make_all_then_stages_skip_and_args_force(tmp_path):
    env = dict(os.environ, MNIST_DIR=write_mnist(str(tmp_path / 'mnist')))
    paths = [f'PY={sys.executable}', 'SETUP=', f'VQVAE_DIR={tmp_path}/vq', f'DATA_DIR={tmp_path}/data',
             f'RUN_DIR={tmp_path}/run', 'VQVAE_CONFIG=tests/configs/vqvae_tiny.py',
             'TRAIN_CONFIG=tests/configs/train_make.py', f'JUDGE={tmp_path}/judge/ckpt.pt']
    p = make('all', *paths, 'ARGS=--max_iters=50', env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    report = tmp_path / 'run' / 'eval' / 'report.md'
    assert report.exists() and 'test accuracy' in report.read_text() and 'judge accuracy' in report.read_text()
    # ARGS went to no stage, since none was named: the config's 100 iterations ran
    assert (tmp_path / 'run' / 'ckpt_100.pt').exists()

    p = make('all', *paths, env=env)
    assert p.returncode == 0 and 'python' not in p.stdout  # everything up to date: nothing runs again

    # a finished run is never replaced by accident: ARGS alone is refused, --force=True replaces it
    before = (tmp_path / 'run' / 'ckpt.pt').read_bytes()
    p = make('train', *paths, 'ARGS=--max_iters=20 --eval_interval=10', env=env)
    assert p.returncode != 0 and '--force=True' in p.stderr and (tmp_path / 'run' / 'ckpt.pt').read_bytes() == before
    p = make('train', *paths, 'ARGS=--max_iters=20 --eval_interval=10 --force=True', env=env)
    assert p.returncode == 0 and '-m nanogpt.train' in p.stdout and '--max_iters=20' in p.stdout
    assert '-m vqvae.train' not in p.stdout
    assert sorted(f.name for f in (tmp_path / 'run').glob('ckpt_*.pt')) == ['ckpt_0.pt', 'ckpt_10.pt', 'ckpt_20.pt']

    p = make('-n', 'seeds', *paths, 'SEEDS=7 8', env=env)  # what it would run (tests/eval/test_compare.py runs it)
    assert p.returncode == 0 and f'--out_dir={tmp_path}/run_seed7 --seed=7' in p.stdout and '--seed=8' in p.stdout
    assert f'eval.compare --runs={tmp_path}/run,{tmp_path}/run_seed7,{tmp_path}/run_seed8' in p.stdout

    p = make('train', *paths, 'ARGS=--n_layers=2', env=env)
    assert p.returncode != 0 and "unknown config key 'n_layers'" in p.stderr


def test_an_image_input_gets_its_config_and_a_run_folder_of_its_own():
    env = dict(os.environ)
    p = make('-n', '-B', 'train', 'SETUP=', 'IMAGE_INPUT=cnn', env=env)
    assert p.returncode == 0 and 'config/image_cnn.py' in p.stdout and '--out_dir=out/mnist_vlm_cnn ' in p.stdout
    assert 'config/image_cnn.py config/image_cnn_mnist.py' in p.stdout  # the dataset's own settings come after
    p = make('-n', '-B', 'train', 'SETUP=', 'IMAGE_INPUT=frozen', 'DATASET=fashion_mnist', env=env)
    assert 'config/image_frozen.py' in p.stdout and '--out_dir=out/fashion_mnist_vlm_frozen ' in p.stdout
    p = make('-n', '-B', 'train', 'SETUP=', env=env)
    assert 'config/image_' not in p.stdout and '--out_dir=out/mnist_vlm ' in p.stdout
    # Fashion-MNIST's default run reads through the conv net; its letters run is the one with a suffix
    p = make('-n', '-B', 'train', 'SETUP=', 'DATASET=fashion_mnist', env=env)
    assert 'config/image_cnn.py' in p.stdout and '--out_dir=out/fashion_mnist_vlm ' in p.stdout
    assert 'image_cnn_mnist' not in p.stdout
    p = make('-n', '-B', 'train', 'SETUP=', 'DATASET=fashion_mnist', 'IMAGE_INPUT=letters', env=env)
    assert 'config/image_' not in p.stdout and '--out_dir=out/fashion_mnist_vlm_letters ' in p.stdout
    p = make('-n', 'all', 'IMAGE_INPUT=vit', env=env)
    assert p.returncode != 0 and 'unknown IMAGE_INPUT=vit; use letters, patches, cnn or frozen' in p.stderr


def test_every_task_gets_its_data_config_and_folders_of_its_own():
    env = dict(os.environ)
    p = make('-n', '-B', 'all', 'SETUP=', 'TASKS=all', env=env)
    assert p.returncode == 0 and 'config/prepare_mnist_all_vlm.py' in p.stdout and '--out_dir=data/mnist_all_vlm' in p.stdout
    # every task reads its pictures through the conv net by default, with its own shares last
    cnn = 'config/train_mnist_vlm.py config/image_cnn.py config/image_cnn_mnist.py config/train_mnist_all_vlm.py'
    assert cnn in p.stdout
    assert '--dataset=mnist_all_vlm --out_dir=out/mnist_all_vlm ' in p.stdout and '--out_dir=out/mnist_all_vlm ' in p.stdout
    p = make('-n', '-B', 'train', 'SETUP=', 'TASKS=all', 'IMAGE_INPUT=letters', env=env)
    assert 'config/train_mnist_vlm.py config/train_mnist_all_vlm.py --dataset=mnist_all_vlm' in p.stdout
    assert 'config/image_' not in p.stdout and '--out_dir=out/mnist_all_vlm_letters ' in p.stdout
    p = make('-n', 'all', 'TASKS=some', env=env)
    assert p.returncode != 0 and 'unknown TASKS=some; use default (reading and drawing) or all' in p.stderr


def test_serve_names_the_run_the_judge_and_the_port(tmp_path):
    env = dict(os.environ)
    p = make('-n', 'serve', 'SETUP=', 'PORT=8765', env=env)
    assert p.returncode == 0
    assert '-m eval.serve --out_dir=out/mnist_vlm --judge_ckpt=out/judge/ckpt.pt --port=8765' in p.stdout
    p = make('-n', 'serve', 'SETUP=', 'DATASET=fashion_mnist', env=env)
    assert '--out_dir=out/fashion_mnist_vlm --judge_ckpt=out/judge_fashion_mnist/ckpt.pt --port=8000' in p.stdout
    # no trained run: one line naming the target that trains it, and nothing served
    p = make('serve', f'PY={sys.executable}', 'SETUP=', f'RUN_DIR={tmp_path}/none', env=env)
    assert p.returncode != 0 and f'error: {tmp_path}/none/ckpt.pt not found; train it first with `make all`' in p.stderr
    assert 'Traceback' not in p.stderr


def test_letters49_runs_every_stage_on_its_own_configs_and_folders():
    p = make('-n', '-B', 'letters49', 'SETUP=', env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    assert 'vqvae.train config/vqvae_mnist49.py --out_dir=out/vqvae_mnist49 ' in p.stdout
    data = 'prepare config/prepare_mnist49_vlm.py --vqvae_ckpt=out/vqvae_mnist49/ckpt.pt --out_dir=data/mnist49_vlm'
    assert data in p.stdout
    assert 'config/train_mnist49_vlm.py --dataset=mnist49_vlm --out_dir=out/mnist49_vlm ' in p.stdout
    assert 'eval.report --out_dir=out/mnist49_vlm --judge_ckpt=out/judge/ckpt.pt' in p.stdout


def test_letters49_seeds_trains_its_recipe_with_other_seeds_and_compares_the_three():
    p = make('-n', '-B', 'letters49-seeds', 'SETUP=', env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    for seed in (1338, 1339):
        assert (f'config/train_mnist_vlm.py config/train_mnist49_vlm.py --dataset=mnist49_vlm '
                f'--out_dir=out/mnist49_vlm_seed{seed} --seed={seed} ') in p.stdout
    runs = 'out/mnist49_vlm,out/mnist49_vlm_seed1338,out/mnist49_vlm_seed1339'
    assert f'eval.compare --runs={runs} --judge_ckpt=out/judge/ckpt.pt --out=out/mnist49_vlm/seeds.json' in p.stdout
