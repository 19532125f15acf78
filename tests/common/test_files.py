import os

import pytest
import torch

from common.files import atomic_save, load_checkpoint, write_json


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError('disk full')  # stands in for any failure half-way through a write


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = str(tmp_path / 'ckpt.pt')
    atomic_save({'iter_num': 1, 'model': {'w': torch.ones(3)}}, path)
    with pytest.raises(RuntimeError):  # a bug in what is saved keeps its traceback; the old file stays whole
        atomic_save({'iter_num': 2, 'model': {'w': torch.ones(3)}, 'bad': Unpicklable()}, path)
    assert not os.path.exists(path + '.tmp')
    assert load_checkpoint(path, 'checkpoint', 'fix')['iter_num'] == 1


def test_loading_never_runs_code_from_a_checkpoint(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pt')
    torch.save({'payload': Evil(marker)}, path)
    # the payload works: unpickled the unsafe way, it leaves its marker where the test looks
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(SystemExit, match='not a readable checkpoint'):
        load_checkpoint(path, 'checkpoint', 'fix')
    assert not marker.exists()


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_a_json_that_cannot_be_rendered_leaves_the_old_file_whole(tmp_path):
    path = str(tmp_path / 'results.json')
    write_json(path, {'accuracy': 0.98})
    with pytest.raises(TypeError):
        write_json(path, {'accuracy': 0.5, 'bad': object()})
    assert open(path).read() == '{\n "accuracy": 0.98\n}' and os.listdir(tmp_path) == ['results.json']
