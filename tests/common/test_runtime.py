"""common/runtime.py: the device asked for must be there, a signal asks for a clean stop (a second stops at
once), and a run record says what a run was made from; bf16 is native on a CPU with AMX."""
import json
import os
import signal

import pytest
import torch

from common.files import file_sha256
from common.runtime import StopSignal, native_bf16, pick_device, resources, run_record, train_dtype


def test_a_device_asked_for_must_be_there():
    assert pick_device('cpu') == 'cpu' and pick_device('auto') in ('cuda', 'mps', 'cpu')
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit) as e:
            pick_device('cuda:1')
        assert str(e.value).startswith('error:') and 'no CUDA GPU' in str(e.value) and '\n' not in str(e.value)
    else:
        with pytest.raises(SystemExit, match='GPUs'):
            pick_device(f'cuda:{torch.cuda.device_count()}')


def test_native_bf16_is_a_cpu_with_amx_and_nothing_else(tmp_path):
    amx, avx2 = tmp_path / 'amx', tmp_path / 'avx2'
    amx.write_text('processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n')
    avx2.write_text('processor\t: 0\nflags\t\t: fpu avx2 fma\n')
    assert native_bf16('cpu', str(amx)) and not native_bf16('cpu', str(avx2))
    assert not native_bf16('cpu', str(tmp_path / 'none'))  # no /proc (a Mac): float32
    assert not native_bf16('mps', str(amx))


def test_a_stage_trains_in_bf16_where_the_machine_has_it_and_refuses_float16_in_one_line():
    used, ctx = train_dtype('auto', 'cpu', 'the judge')
    assert used == ('bfloat16' if native_bf16('cpu') else 'float32')
    with train_dtype('bfloat16', 'cpu', 'the judge')[1]:
        assert torch.nn.Linear(4, 4)(torch.ones(1, 4)).dtype == torch.bfloat16
    with train_dtype('float32', 'cpu', 'the judge')[1]:
        assert torch.nn.Linear(4, 4)(torch.ones(1, 4)).dtype == torch.float32
    for dtype, device in (('float16', 'cpu'), ('bfloat16', 'mps')):
        with pytest.raises(SystemExit) as e:
            train_dtype(dtype, device, 'the judge')
        assert str(e.value).startswith(f"error: dtype={dtype!r} is not how the judge trains on {device}")
        assert '\n' not in str(e.value)
    assert train_dtype('auto', 'mps', 'the judge')[0] == 'float32'


def test_a_signal_asks_for_a_stop_and_a_second_stops_at_once(capsys):
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop = StopSignal()
        assert not stop.requested() and stop.exit_code == 0
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested() and stop.name == 'SIGTERM' and stop.exit_code == 128 + signal.SIGTERM
        with pytest.raises(SystemExit) as stopped:
            os.kill(os.getpid(), signal.SIGINT)
        assert stopped.value.code == 128 + signal.SIGINT  # the shell's code for a stop by SIGINT, in one line
        said = capsys.readouterr().err.strip().splitlines()
        assert said == ['stopped at once by a second SIGINT: the last saved state stands']
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def test_a_run_record_names_its_config_inputs_and_resources(tmp_path):
    data = tmp_path / 'train-images-idx3-ubyte'
    data.write_bytes(b'pixels')
    path = str(tmp_path / 'run.json')
    run_record(path, {'max_iters': 5}, [str(data), str(tmp_path / 'absent')], {'accuracy': 0.5})
    record = json.load(open(path))
    assert record['config'] == {'max_iters': 5} and record['results'] == {'accuracy': 0.5}
    assert record['data_sha256'] == {str(data): file_sha256(str(data))}  # an absent input is left out
    assert set(record['packages']) == {'torch', 'numpy', 'matplotlib'} and record['python']
    assert record['resources']['peak_rss_mb'] > 10 and set(resources()) == {'wall_seconds', 'peak_rss_mb'}
