"""What a running stage needs from its machine: the device, clean stops, its resources, its record."""
import importlib.metadata
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from contextlib import nullcontext

import torch

from common.files import file_sha256, write_json

STARTED = time.time()  # every stage imports this module early: its start, give or take the ~1 s of `import torch`


def pick_device(device='auto'):
    """'auto' is the best there is (cuda, then mps, then cpu); a device asked for must be there."""
    mps = getattr(torch.backends, 'mps', None) and torch.backends.mps.is_available()
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f"error: device={device!r} but this machine shows no CUDA GPU; use --device=cpu or auto")
    if device.startswith('cuda:') and int(device[5:]) >= torch.cuda.device_count():
        raise SystemExit(f"error: device={device!r} but this machine has {torch.cuda.device_count()} GPUs")
    if device == 'mps' and not mps:
        raise SystemExit("error: device='mps' but this machine has no Apple GPU; use --device=cpu or auto")
    if device != 'auto':
        return device
    if torch.cuda.is_available():
        return 'cuda'
    return 'mps' if mps else 'cpu'


def native_bf16(device_type, cpuinfo='/proc/cpuinfo'):
    """Whether this machine computes in bfloat16 natively: a CUDA GPU that has it, or a CPU with AMX (Intel's matrix
    units: /proc/cpuinfo's amx_bf16 flag), where oneDNN's bf16 convolutions beat float32. Elsewhere bf16 autocast
    can be several times slower than float32 (3-30x on an AVX2 EPYC: docs/gpu.md)."""
    if device_type == 'cuda':
        return torch.cuda.is_bf16_supported()
    if device_type != 'cpu':
        return False
    try:
        with open(cpuinfo) as f:
            return any(line.startswith('flags') and 'amx_bf16' in line.split() for line in f)
    except OSError:
        return False


def train_dtype(dtype, device, what):
    """(the dtype a convolutional stage trains in, its autocast context) for dtype 'auto', 'float32' or 'bfloat16' on
    device: 'auto' is bfloat16 where the machine computes it natively (native_bf16), else float32. float16, or
    bfloat16 where there is no autocast for it, is one line naming `what` trains."""
    device_type = device.split(':')[0]
    if dtype == 'float16' or (dtype == 'bfloat16' and device_type not in ('cpu', 'cuda')):
        raise SystemExit(f"error: dtype={dtype!r} is not how {what} trains on {device}; use auto, float32 or "
                         "bfloat16 (on cpu or cuda)")
    used = dtype if dtype != 'auto' else 'bfloat16' if native_bf16(device_type) else 'float32'
    return used, nullcontext() if used == 'float32' else torch.autocast(device_type, dtype=torch.bfloat16)


class StopSignal:
    """Turns SIGINT/SIGTERM into a request to stop at the next safe point; a second signal stops at once."""

    def __init__(self):
        self.name, self.exit_code = None, 0
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.name:  # a second signal: stop now, in one line; the last saved state stands (a save it cut short
            # left only a .tmp file, which the next start removes)
            print(f"stopped at once by a second {signal.Signals(signum).name}: the last saved state stands",
                  file=sys.stderr, flush=True)
            raise SystemExit(128 + signum)
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum  # the shell's convention for "ended by a signal"

    def requested(self, ddp_device=None):
        """True once a signal arrived; under DDP (pass the process's device) true on every process alike."""
        if ddp_device is None:
            return self.name is not None
        # every process must stop at the same step, or the others would wait forever in an all-reduce;
        # the flag lives on the process's device, since NCCL reduces GPU tensors only
        flag = torch.tensor([1.0 if self.name else 0.0], device=ddp_device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item() and not self.name:
            self.name, self.exit_code = 'a signal to another process', 128 + signal.SIGTERM
        return bool(flag.item())


def resources():
    """Wall seconds since the stage started and its peak resident memory, for the benchmark."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == 'darwin' else peak / 2**10  # bytes on macOS, KiB on Linux
    return dict(wall_seconds=round(time.time() - STARTED, 1), peak_rss_mb=round(peak_mb, 1))


def run_record(path, config, data_files, results):
    """Write what a run was made from: config, git commit, package versions, data checksums, results."""
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or None
    except OSError:
        commit = None
    versions = {}
    for pkg in ('torch', 'numpy', 'matplotlib'):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    write_json(path, dict(config=config, git_commit=commit, python=platform.python_version(), packages=versions,
                          machine=f"{platform.machine()}, {os.cpu_count()} CPUs"
                                  + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ''),
                          data_sha256={f: file_sha256(f) for f in data_files if os.path.exists(f)},
                          results=results, resources=resources()))
