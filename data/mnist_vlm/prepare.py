"""Turn MNIST into text: VQ-VAE tokens and labels written as fixed-length character sequences.

    python -m data.mnist_vlm.prepare [config.py] [--key=value ...]

Each image becomes the two task forms of data/mnist_vlm/format.py, as text.
Writes {train,val,test}.txt, {train,val,test}.bin (uint16 ids, fixed-length
records), {val,test}.npz (token ids and labels of every image, for eval) and
meta.pkl / meta.json (the vocabulary and the sequence layout).
"""
import json
import math
import os
import pickle

import numpy as np
import torch
import torch.nn.functional as F

from data.mnist import load_split, source_files
from data.mnist_vlm.format import PAD, classification_text, generation_text, make_meta
from nanogpt.common import atomic_write, run_record
from nanogpt.configurator import configure
from vqvae.model import load_vqvae

# -----------------------------------------------------------------------------
vqvae_ckpt = 'out/vqvae/ckpt.pt'
out_dir = 'data/mnist_vlm'
both_forms = True  # every image in both task forms; False: the blog's one random form per image
augment_copies = 0  # extra copies of every training image, randomly shifted and rotated, then tokenised
augment_generation = False  # False: the copies teach reading only, so the model learns to draw real, upright digits
max_shift = 2.0     # pixels
max_rotate = 10.0   # degrees
seed = 1337
# -----------------------------------------------------------------------------


def encode_images(vq, images, batch=2000):
    return torch.cat([vq.encode(torch.from_numpy(images[i:i + batch].copy()))
                      for i in range(0, len(images), batch)]).numpy()


def augment(images, rng):
    """Random small shifts and rotations (bilinear resampling), the same for the same rng state."""
    x = torch.from_numpy(images.copy()).float()[:, None] / 255
    n = len(x)
    angle = torch.from_numpy(rng.uniform(-max_rotate, max_rotate, n)).float() * math.pi / 180
    shift = torch.from_numpy(rng.uniform(-max_shift, max_shift, (n, 2))).float() / 14  # grid units are 14 px
    theta = torch.stack([torch.stack([angle.cos(), -angle.sin(), shift[:, 0]], 1),
                         torch.stack([angle.sin(), angle.cos(), shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, align_corners=False)
    return (out[:, 0] * 255).round().clamp(0, 255).to(torch.uint8).numpy()


def main():
    config = configure(globals())
    vq = load_vqvae(vqvae_ckpt)
    meta = make_meta(vq.config.num_codes, vq.config.tokens_per_image)
    alphabet, stoi, seq_len = meta['image_alphabet'], meta['stoi'], meta['seq_len']
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    # meta.json is written last and marks the data complete: an interrupted run leaves none behind
    for name in ('meta.json', 'meta.pkl'):
        if os.path.exists(os.path.join(out_dir, name)):
            os.remove(os.path.join(out_dir, name))
    for split in ('train', 'val', 'test'):
        images, labels = load_split(split)
        n_real = len(images)
        if split == 'train' and augment_copies:
            images = np.concatenate([images] + [augment(images, rng) for _ in range(augment_copies)])
            labels = np.tile(labels, augment_copies + 1)
        codes = encode_images(vq, images)
        lines = []
        for i, (row, label) in enumerate(zip(codes, labels)):
            letters = ''.join(alphabet[c] for c in row)
            forms = (classification_text, generation_text)
            if i >= n_real and not augment_generation:
                forms = forms[:1]
            elif not both_forms:
                forms = (forms[rng.integers(2)],)
            lines += [f(letters, int(label)).ljust(seq_len, PAD) for f in forms]
        assert all(len(line) == seq_len for line in lines), "every sequence must have the same length"
        text = '\n'.join(lines) + '\n'
        ids = np.array([stoi[ch] for ch in text.replace('\n', '')], dtype=np.uint16)
        atomic_write(os.path.join(out_dir, f'{split}.txt'), lambda f: f.write(text.encode('utf-8')))
        atomic_write(os.path.join(out_dir, f'{split}.bin'), lambda f: f.write(ids.tobytes()))
        if split != 'train':
            atomic_write(os.path.join(out_dir, f'{split}.npz'),
                         lambda f: np.savez(f, codes=codes.astype(np.uint16), labels=labels))
        print(f"{split}: {len(images):,} images -> {len(lines):,} sequences of {seq_len} chars, "
              f"{len(ids):,} tokens")
    run_record(os.path.join(out_dir, 'run.json'), config, source_files() + [vqvae_ckpt], {})
    meta['prepare_config'] = {k: v for k, v in config.items() if k != 'out_dir'}  # where it lies is no property of the data
    atomic_write(os.path.join(out_dir, 'meta.json'),
                 lambda f: f.write(json.dumps(meta, ensure_ascii=False, indent=1).encode('utf-8')))
    atomic_write(os.path.join(out_dir, 'meta.pkl'), lambda f: pickle.dump(meta, f))
    print(f"vocab_size {meta['vocab_size']}, example: {lines[0]}")


if __name__ == '__main__':
    main()
