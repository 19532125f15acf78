"""Turn MNIST into text: VQ-VAE tokens and labels written as fixed-length character sequences.

    python -m data.mnist_vlm.prepare [config.py] [--key=value ...]

Each image becomes the two task forms of data/mnist_vlm/format.py, as text.
Writes {train,val,test}.txt, {train,val,test}.bin (uint16 ids, fixed-length
records), {val,test}.npz (token ids and labels of every image, for eval) and
meta.pkl / meta.json (the vocabulary and the sequence layout).
"""
import json
import os
import pickle

import numpy as np
import torch

from data.mnist import load_split
from data.mnist_vlm.format import PAD, classification_text, generation_text, make_meta
from nanogpt.configurator import configure
from vqvae.model import load_vqvae

# -----------------------------------------------------------------------------
vqvae_ckpt = 'out/vqvae/ckpt.pt'
out_dir = 'data/mnist_vlm'
both_forms = True  # every image in both task forms; False: the blog's one random form per image
seed = 1337
# -----------------------------------------------------------------------------


def encode_images(vq, images, batch=2000):
    return torch.cat([vq.encode(torch.from_numpy(images[i:i + batch].copy()))
                      for i in range(0, len(images), batch)]).numpy()


def write_atomic(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)  # readers never see a half-written file


def main():
    config = configure(globals())
    vq = load_vqvae(vqvae_ckpt)
    meta = make_meta(vq.config.num_codes, vq.config.tokens_per_image)
    alphabet, stoi, seq_len = meta['image_alphabet'], meta['stoi'], meta['seq_len']
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    for split in ('train', 'val', 'test'):
        images, labels = load_split(split)
        codes = encode_images(vq, images)
        lines = []
        for row, label in zip(codes, labels):
            letters = ''.join(alphabet[c] for c in row)
            forms = (classification_text, generation_text)
            if not both_forms:
                forms = (forms[rng.integers(2)],)
            lines += [f(letters, int(label)).ljust(seq_len, PAD) for f in forms]
        assert all(len(line) == seq_len for line in lines), "every sequence must have the same length"
        text = '\n'.join(lines) + '\n'
        ids = np.array([stoi[ch] for ch in text.replace('\n', '')], dtype=np.uint16)
        write_atomic(os.path.join(out_dir, f'{split}.txt'), text.encode('utf-8'))
        write_atomic(os.path.join(out_dir, f'{split}.bin'), ids.tobytes())
        if split != 'train':
            tmp = os.path.join(out_dir, f'{split}.tmp.npz')
            np.savez(tmp, codes=codes.astype(np.uint16), labels=labels)
            os.replace(tmp, os.path.join(out_dir, f'{split}.npz'))
        print(f"{split}: {len(images):,} images -> {len(lines):,} sequences of {seq_len} chars, "
              f"{len(ids):,} tokens")
    meta['prepare_config'] = config
    write_atomic(os.path.join(out_dir, 'meta.json'), json.dumps(meta, ensure_ascii=False, indent=1).encode('utf-8'))
    write_atomic(os.path.join(out_dir, 'meta.pkl'), pickle.dumps(meta))
    print(f"vocab_size {meta['vocab_size']}, example: {lines[0]}")


if __name__ == '__main__':
    main()
