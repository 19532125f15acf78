"""Draw digits: python -m eval.draw 7 --n 16 --out sevens.png

Prompts 'number:7, image:', samples the image letters (constrained to the image
alphabet, with classifier-free guidance 1.0 unless --guidance=0) and decodes them
with the VQ-VAE into a grid PNG.
"""
import argparse
import os

import numpy as np

from data.mnist_vlm.format import load_meta
from eval.generate import draw, save_grid
from nanogpt.common import pick_device
from nanogpt.model import load_gpt
from vqvae.model import load_vqvae


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('digit', type=int, choices=range(10), metavar='DIGIT (0-9)')
    ap.add_argument('--n', type=int, default=16)
    ap.add_argument('--out', default='digits.png')
    ap.add_argument('--temperature', type=float, default=1.0)
    ap.add_argument('--top_k', type=int, default=0)
    ap.add_argument('--guidance', type=float, default=1.0, help='classifier-free guidance weight; 0: plain sampling')
    ap.add_argument('--seed', type=int, default=1337)
    ap.add_argument('--out_dir', default='out/mnist_vlm')
    ap.add_argument('--data_dir', default='data/mnist_vlm')
    ap.add_argument('--vqvae_ckpt', default='out/vqvae/ckpt.pt')
    ap.add_argument('--device', default='auto')
    a = ap.parse_args()
    if a.n < 1:
        raise SystemExit("error: --n must be at least 1")
    dev = pick_device(a.device)
    meta = load_meta(a.data_dir)
    model, _ = load_gpt(os.path.join(a.out_dir, 'ckpt.pt'), dev, meta['vocab_size'])
    vq = load_vqvae(a.vqvae_ckpt, dev)
    _, images, ok = draw(model, vq, meta, np.full(a.n, a.digit), dev, a.temperature, a.top_k, True, a.seed,
                         guidance=a.guidance)
    rows = max(1, int(np.sqrt(a.n)))
    save_grid(images, rows, a.out)
    print(f"drew {a.n} x {a.digit} ({ok.mean():.0%} well formed) -> {a.out}")


if __name__ == '__main__':
    main()
