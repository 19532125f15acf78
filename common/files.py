"""Files every stage writes and reads: atomic writes, safe checkpoint loading, checksums."""
import contextlib
import glob
import hashlib
import json
import os
import shutil
import tempfile

# torch is imported inside the three functions that save, hash or load tensors: the stages that never touch one
# (the folder import, run 13 times by its tests) start in 0.2 s instead of 1.6 s
MIN_FREE_MB = 64  # a stage starts only where its checkpoints and records fit; less is a full disk in all but name


def writable_folder(path, what='--out_dir', clean=True):
    """Refuse, in one line and before anything is written, a place a stage cannot write in: no name, a file, a
    folder it may not write, a full disk. Touches nothing but the *.tmp files a killed save left there (clean:
    the one process that writes there; under DDP the others leave them to it)."""
    if not path:
        raise SystemExit(f"error: {what} is empty; name the folder to write in")
    if os.path.exists(path) and not os.path.isdir(path):
        raise SystemExit(f"error: {what}={path} is a file, not a folder; name a folder")
    parent = os.path.abspath(path)
    while not os.path.exists(parent):  # the folder is made when the first file is saved: its nearest ancestor
        parent = os.path.dirname(parent)
    try:  # a file made and removed at once: the only sure test of a place (a root user passes every access())
        fd, probe = tempfile.mkstemp(dir=parent, prefix='.write-test-')
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise SystemExit(f"error: cannot write in {what}={path} ({parent}: {e.strerror or e}); choose a writable "
                         "folder")
    free = shutil.disk_usage(parent).free / 2 ** 20
    if free < MIN_FREE_MB:
        raise SystemExit(f"error: {what}={path} has {free:.1f} MB free, under the {MIN_FREE_MB} MB a stage needs; "
                         "free some space or choose another folder")
    for stray in glob.glob(os.path.join(path, '*.tmp')) if clean else []:  # a save a kill cut short: never read
        with contextlib.suppress(OSError):
            os.remove(stray)


def atomic_write(path, write):
    """Call write(f) on a temporary file, fsync, then rename: a kill never leaves a truncated file, and a failed
    write (a full disk, a folder gone read-only) is one line that leaves the previous file whole."""
    tmp = path + '.tmp'
    try:
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        # torch.save reports a failed write as a RuntimeError of its zip writer, the OSError in its chain
        chain = [e]
        while chain[-1].__context__ is not None and len(chain) < 8:
            chain.append(chain[-1].__context__)
        cause = next((c for c in chain if isinstance(c, OSError)), None)
        if cause is None and 'writ' not in str(e).lower():  # a bug, not a write that failed: its traceback
            raise
        reason = cause.strerror if cause is not None and cause.strerror else ' '.join(str(e).split())[:80]
        raise SystemExit(f"error: cannot write {path} ({reason}); free some space or choose a writable folder "
                         "(the previous file, if any, is kept)")


def weights_sha256(state_dict):
    """SHA-256 of a state dict's names and bytes: a checkpoint carries it, and loading checks it."""
    import torch
    h = hashlib.sha256()
    for name, t in state_dict.items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def atomic_save(obj, path):
    """torch.save through atomic_write; a dict holding a 'model' state dict also gets its 'model_sha256'."""
    import torch
    if isinstance(obj, dict) and isinstance(obj.get('model'), dict):
        obj = dict(obj, model_sha256=weights_sha256(obj['model']))
    atomic_write(path, lambda f: torch.save(obj, f))


def write_json(path, obj):
    """JSON, rendered whole before the file is touched, then written atomically."""
    text = json.dumps(obj, indent=1, ensure_ascii=False).encode('utf-8')
    atomic_write(path, lambda f: f.write(text))


def write_text(path, text):
    data = text.encode('utf-8')
    atomic_write(path, lambda f: f.write(data))


def load_checkpoint(path, what, fix, device='cpu'):
    """torch.load with weights_only=True (a checkpoint never runs code), the weights checked against the
    checksum saved with them, every failure one clear line."""
    import torch
    if not os.path.exists(path):
        raise SystemExit(f"error: {what} {path} not found; {fix}")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(ckpt, dict) or not isinstance(ckpt.get('model'), dict):
            raise ValueError('no weights')
        sha = ckpt.get('model_sha256')
        ok = sha is not None and weights_sha256(ckpt['model']) == sha
    except Exception as e:
        raise SystemExit(f"error: {path} is not a readable {what} ({type(e).__name__}); {fix}")
    if sha is None:  # every checkpoint this code writes carries one: a missing one is an edit, not an old format
        raise SystemExit(f"error: {path} carries no checksum of its weights, so they cannot be trusted; {fix}")
    if not ok:
        raise SystemExit(f"error: {path} is corrupt: its weights do not match the checksum saved with them; {fix}")
    return ckpt


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()
