"""Small helpers shared by every stage: device choice and safe checkpoint files."""
import os

import torch


def pick_device(device='auto'):
    if device != 'auto':
        return device
    if torch.cuda.is_available():
        return 'cuda'
    if getattr(torch.backends, 'mps', None) and torch.backends.mps.is_available():
        return 'mps'
    return 'cpu'


def atomic_save(obj, path):
    """torch.save to a temporary file, then rename: a kill never leaves a truncated checkpoint."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path, what, fix, device='cpu'):
    """torch.load with weights_only=True, turning every failure into one clear line."""
    if not os.path.exists(path):
        raise SystemExit(f"error: {what} {path} not found; {fix}")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as e:
        raise SystemExit(f"error: {path} is not a readable {what} ({type(e).__name__}); {fix}")
