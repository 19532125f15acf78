"""Files every stage writes and reads: atomic writes, safe checkpoint loading, checksums."""
import hashlib
import json
import os

import torch


def atomic_write(path, write):
    """Call write(f) on a temporary file, fsync, then rename: a kill never leaves a truncated file."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_save(obj, path):
    atomic_write(path, lambda f: torch.save(obj, f))


def write_json(path, obj):
    """JSON, rendered whole before the file is touched, then written atomically."""
    text = json.dumps(obj, indent=1, ensure_ascii=False).encode('utf-8')
    atomic_write(path, lambda f: f.write(text))


def write_text(path, text):
    data = text.encode('utf-8')
    atomic_write(path, lambda f: f.write(data))


def load_checkpoint(path, what, fix, device='cpu'):
    """torch.load with weights_only=True (a checkpoint never runs code), every failure one clear line."""
    if not os.path.exists(path):
        raise SystemExit(f"error: {what} {path} not found; {fix}")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as e:
        raise SystemExit(f"error: {path} is not a readable {what} ({type(e).__name__}); {fix}")


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()
