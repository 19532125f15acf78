import os

import pytest
import torch

from nanogpt.common import atomic_save, load_checkpoint


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError('disk full')  # stands in for any failure half-way through a write


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = str(tmp_path / 'ckpt.pt')
    atomic_save({'iter_num': 1, 'w': torch.ones(3)}, path)
    with pytest.raises(RuntimeError):
        atomic_save({'iter_num': 2, 'bad': Unpicklable()}, path)
    assert load_checkpoint(path, 'checkpoint', 'fix')['iter_num'] == 1


def test_loading_never_runs_code_from_a_checkpoint(tmp_path):
    path = str(tmp_path / 'evil.pt')
    torch.save({'payload': Evil()}, path)
    with pytest.raises(SystemExit, match='not a readable checkpoint'):
        load_checkpoint(path, 'checkpoint', 'fix')
    assert not os.path.exists(tmp_path / 'pwned')


class Evil:
    def __reduce__(self):
        return (os.system, (f'touch {os.getcwd()}/pwned',))
