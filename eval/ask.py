"""Ask the model which digit an image shows.

    python -m eval.ask path/to/digit.png [--out_dir=out/mnist_vlm] [--data_dir=...] [--vqvae_ckpt=...]

Any grayscale or colour image of at least 28x28 pixels; larger ones are resized.
Dark digits on a light background are inverted to MNIST's white on black.
"""
import argparse
import os

import numpy as np
import torch

from data.mnist_vlm.format import load_meta
from eval.tasks import answer_logits, read_digits
from nanogpt.common import pick_device
from nanogpt.model import load_gpt
from vqvae.model import load_vqvae


def load_digit(path):
    """A 28x28 uint8 white-on-black image from any readable picture, or one clear error."""
    from PIL import Image, UnidentifiedImageError
    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise SystemExit(f"error: {path} not found; pass the path of a PNG or JPEG of a digit")
    except (UnidentifiedImageError, OSError) as e:
        raise SystemExit(f"error: {path} is not a readable image ({type(e).__name__}); pass a PNG or JPEG of a digit")
    if min(img.size) < 28:
        raise SystemExit(f"error: {path} is {img.size[0]}x{img.size[1]} pixels; the digit needs at least 28x28")
    if img.mode not in ('1', 'L', 'P', 'RGB', 'RGBA', 'LA', 'I', 'I;16', 'F', 'CMYK', 'YCbCr'):
        raise SystemExit(f"error: {path} has image mode {img.mode}, which cannot be read as grayscale; "
                         "save it as an 8-bit grayscale or RGB PNG")
    if img.mode in ('I', 'I;16', 'F'):
        a = np.asarray(img, dtype=np.float64)
        a = (a - a.min()) / max(1e-9, a.max() - a.min()) * 255
        img = Image.fromarray(a.astype(np.uint8))
    if img.mode in ('RGBA', 'LA', 'P'):
        # transparent pixels count as background
        rgba = img.convert('RGBA')
        background = Image.new('RGBA', rgba.size, (255, 255, 255, 255) if _light(rgba) else (0, 0, 0, 255))
        img = Image.alpha_composite(background, rgba)
    a = np.asarray(img.convert('L').resize((28, 28), Image.LANCZOS), dtype=np.uint8)
    if np.median(a) > 127:
        a = 255 - a  # dark ink on light paper: MNIST is light ink on black
    return a


def _light(rgba):
    a = np.asarray(rgba, dtype=np.float64)
    opaque = a[..., 3] > 0
    return not opaque.any() or a[..., :3][opaque].mean() > 127


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('image')
    ap.add_argument('--out_dir', default='out/mnist_vlm')
    ap.add_argument('--data_dir', default='data/mnist_vlm')
    ap.add_argument('--vqvae_ckpt', default='out/vqvae/ckpt.pt')
    ap.add_argument('--device', default='auto')
    args = ap.parse_args()
    dev = pick_device(args.device)
    digit = load_digit(args.image)
    meta = load_meta(args.data_dir)
    model, _ = load_gpt(os.path.join(args.out_dir, 'ckpt.pt'), dev, meta['vocab_size'])
    vq = load_vqvae(args.vqvae_ckpt, dev)
    codes = vq.encode(torch.from_numpy(digit)[None].to(dev)).cpu().numpy()
    logits = answer_logits(model, codes, meta, dev)
    probs = torch.softmax(logits[0, [meta['stoi'][d] for d in '0123456789']], 0)
    letters = ''.join(meta['image_alphabet'][c] for c in codes[0])
    print(f"{read_digits(logits, meta)[0]}  (p={probs.max():.3f}; tokens {letters})")


if __name__ == '__main__':
    main()
