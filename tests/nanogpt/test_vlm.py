"""The one loader: a run's GPT, data and tokenizer must belong together, or one line says which do not."""
import json
import os
import shutil

import numpy as np
import pytest
import torch

from nanogpt.vlm import VLM
from tests.conftest import run


def test_load_follows_the_chain_from_the_checkpoint(pipeline):
    vlm = VLM.load(pipeline['out'])
    assert vlm.data_dir == pipeline['data'] and vlm.meta['tasks'] == ['read', 'draw']
    assert [t.name for t in vlm.tasks] == ['read', 'draw'] and vlm.vq.config.num_codes == vlm.meta['num_codes']
    codes, labels = vlm.split('test')
    assert (vlm.read(codes) == labels).mean() > 0.5
    drawn, images, ok = vlm.draw(labels[:10], temperature=1.0, seed=0)
    assert drawn.shape == (10, 16) and images.dtype == np.uint8 and images[ok].max() > 0


@pytest.fixture
def copy(pipeline, tmp_path):
    """A copy of the tiny pipeline's data and run, the run pointing at the copied data."""
    data, out = str(tmp_path / 'data'), str(tmp_path / 'run')
    shutil.copytree(pipeline['data'], data)
    os.makedirs(out)
    ckpt = torch.load(os.path.join(pipeline['out'], 'ckpt.pt'), weights_only=True)
    ckpt['config']['dataset'] = data
    torch.save(ckpt, os.path.join(out, 'ckpt.pt'))
    return data, out


def test_another_vqvae_is_refused_naming_both_files(pipeline, copy, tmp_path):
    data, out = copy
    VLM.load(out)  # the copy itself loads
    other = str(tmp_path / 'vq')
    run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={other}', '--seed=7', '--max_iters=20',
        env_extra=pipeline['env'])
    meta = json.load(open(os.path.join(data, 'meta.json'), encoding='utf-8'))
    meta['vqvae']['path'] = f'{other}/ckpt.pt'
    json.dump(meta, open(os.path.join(data, 'meta.json'), 'w', encoding='utf-8'), ensure_ascii=False)
    # the GPT was trained on the old meta.json: that link breaks first
    with pytest.raises(SystemExit, match=f'{out}/ckpt.pt was trained on other data than {data}/meta.json'):
        VLM.load(out)
    ckpt = torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)
    del ckpt['meta_sha256']
    torch.save(ckpt, os.path.join(out, 'ckpt.pt'))
    with pytest.raises(SystemExit) as e:
        VLM.load(out)
    assert f'{other}/ckpt.pt is not the VQ-VAE that wrote {data}/meta.json' in str(e.value)
    assert '\n' not in str(e.value)


def test_a_checkpoint_without_a_dataset_says_to_retrain(copy):
    _, out = copy
    ckpt = torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)
    del ckpt['config']['dataset']
    torch.save(ckpt, os.path.join(out, 'ckpt.pt'))
    with pytest.raises(SystemExit, match='names no dataset'):
        VLM.load(out)


def test_every_cli_loads_through_the_loader(pipeline, copy, tmp_path):
    data, out = copy
    os.remove(os.path.join(data, 'meta.json'))
    for module, args in (('eval.classify', []), ('eval.generate', []), ('eval.draw', [f'--out={tmp_path}/d.png']),
                         ('eval.report', [f'--judge_ckpt={tmp_path}/j.pt']), ('nanogpt.sample', []),
                         ('eval.bench', [])):
        p = run(module, f'--out_dir={out}', *args, env_extra=pipeline['env'], check=False)
        assert p.returncode == 1 and p.stderr.strip() == f"error: {data}/meta.json not found; prepare the data first " \
                                                         "with `make data`", (module, p.stderr)
