"""One CPU thread for torch in these tests, here and in the commands they run.

The models here are tiny: a second thread buys nothing, and on a busy 2-core machine torch's
threads wait on each other (a draw of 50 tiny pictures: 0.06 s on one thread, 2-6 s on two). The
training configs say threads=1 already; this covers the rest (eval.ask, sweeps.compare, the VLM
called here). Restored after the last test of tests/nanogpt.
"""
import pytest
import torch


@pytest.fixture(scope='package', autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('OMP_NUM_THREADS', '1')  # the commands tests/conftest.py's run() starts inherit it
        yield
    torch.set_num_threads(before)
