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


def weights_sha256(state_dict):
    """SHA-256 of a state dict's names and bytes: a checkpoint carries it, and loading checks it."""
    h = hashlib.sha256()
    for name, t in state_dict.items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def atomic_save(obj, path):
    """torch.save through atomic_write; a dict holding a 'model' state dict also gets its 'model_sha256'."""
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
    if not os.path.exists(path):
        raise SystemExit(f"error: {what} {path} not found; {fix}")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
        sha = ckpt.get('model_sha256') if isinstance(ckpt, dict) else None
        ok = sha is None or weights_sha256(ckpt['model']) == sha
    except Exception as e:
        raise SystemExit(f"error: {path} is not a readable {what} ({type(e).__name__}); {fix}")
    if not ok:
        raise SystemExit(f"error: {path} is corrupt: its weights do not match the checksum saved with them; {fix}")
    return ckpt


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()
