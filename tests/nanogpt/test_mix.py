"""Text mixed into training: Tiny Shakespeare windows beside the records (make mix)."""
import os

import pytest

from tasks.vocab import load_meta
from tests.conftest import run

TEXT_DIR = os.environ.get('TINYSHAKESPEARE_DIR') or '/nonexistent'


def test_text_share_without_text_in_the_data_is_one_line(pipeline, tmp_path):
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={tmp_path}/r',
            '--text_share=0.5', env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and p.stderr.strip().endswith("or set text_share=0") and 'holds no text' in p.stderr


@pytest.mark.skipif(not os.path.isdir(TEXT_DIR), reason='no local Tiny Shakespeare copy')
def test_mixed_and_text_only_runs_train_and_write_shakespeare(pipeline, tmp_path):
    env, data = pipeline['env'], str(tmp_path / 'data')
    run('data.records.prepare', f"--vqvae_ckpt={pipeline['vqvae']}/ckpt.pt", f'--out_dir={data}', '--text=shakespeare',
        env_extra=env)
    meta = load_meta(data)
    assert meta['text']['train_tokens'] == 1003854 and meta['text']['val_tokens'] == 111540
    assert os.path.getsize(os.path.join(data, 'text_val.bin')) == 2 * 111540
    short = ('--max_iters=10', '--eval_interval=10', '--lr_decay_iters=10', '--warmup_iters=2', '--val_images=20')
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={tmp_path}/mix',
            '--text_share=0.25', *short, env_extra=env)
    assert '(16 of every 64 rows are text windows)' in p.stdout and 'text val loss' in p.stdout and 'val acc' in p.stdout
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f'--out_dir={tmp_path}/text',
            '--text_share=1.0', *short, env_extra=env)
    assert 'val acc' not in p.stdout and 'saved' in p.stdout  # a text-only run is picked by its held-out text loss
    p = run('nanogpt.sample', f'--out_dir={tmp_path}/mix', '--start=ROMEO:', '--max_new_tokens=60', '--num_samples=1',
            env_extra=env)
    sample = p.stdout.split('---------------')[0].rstrip('\n')
    assert sample.startswith('ROMEO:') and len(sample) == len('ROMEO:') + 60  # past the block: the context slides
