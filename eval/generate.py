"""Draw digits: prompt 'number:d, image:' and decode the generated tokens with the VQ-VAE.

    python -m eval.generate [--out_dir=out/mnist_vlm] [--temperature=1.0] [--top_k=0] [--n_per_digit=10]
    python -m eval.generate --score --n_per_digit=100   # and judge them (see eval/scores.py)
    python -m eval.generate --guidance=1.0               # classifier-free guidance (eval/tasks.py)

Decoding is batched and constrained to image letters after 'image:', so every
sequence is well formed. Writes a grid PNG (a row per digit) and the images as
.npz (uint8 images, prompted labels, token ids).
"""
import json
import os

import numpy as np
import torch

from data.mnist_vlm.format import load_meta
from eval.pictures import tile
from eval.tasks import generate_codes
from nanogpt.common import pick_device
from nanogpt.configurator import configure
from nanogpt.model import load_gpt
from vqvae.model import load_vqvae

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_vlm'
data_dir = 'data/mnist_vlm'
vqvae_ckpt = 'out/vqvae/ckpt.pt'
ckpt = 'ckpt.pt'  # file name inside out_dir
n_per_digit = 10
temperature = 1.0
top_k = 0  # 0: no top-k cut
guidance = 0.0  # classifier-free guidance weight (eval/tasks.py); 0: plain sampling
constrained = True
seed = 1337
device = 'auto'
name = 'generated'  # output file stem inside out_dir/eval
score = False  # judge the generated images: accuracy, FID, diversity, memorisation
judge_ckpt = 'out/judge/ckpt.pt'
# -----------------------------------------------------------------------------


def draw(model, vq, meta, labels, device, temperature, top_k, constrained, seed, use_cache=True, guidance=0.0):
    """Generate one image per label: (codes (N, T), images uint8 (N, 28, 28), well-formed mask (N,))."""
    codes = generate_codes(model, labels, meta, device, temperature, top_k or None, constrained, seed=seed,
                           use_cache=use_cache, guidance=guidance)
    ok = (codes >= 0).all(1)
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    if ok.any():
        decoded = vq.decode(torch.from_numpy(codes[ok]).to(next(vq.parameters()).device)).cpu().numpy()
        images[ok] = np.round(decoded * 255).astype(np.uint8)
    return codes, images, ok


def save_grid(images, rows, path, scale=2):
    """Tile images into `rows` rows and write a PNG (white digits on black, as MNIST)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    grid = np.kron(tile(images, rows), np.ones((scale, scale), dtype=np.uint8))
    plt.imsave(path, grid, cmap='gray', vmin=0, vmax=255)


def main():
    config = configure(globals())
    dev = pick_device(device)
    meta = load_meta(data_dir)
    model, _ = load_gpt(os.path.join(out_dir, ckpt), dev, meta['vocab_size'])
    vq = load_vqvae(vqvae_ckpt, dev)
    if vq.config.tokens_per_image != meta['tokens_per_image'] or vq.config.num_codes != meta['num_codes']:
        raise SystemExit(f"error: {vqvae_ckpt} writes {vq.config.tokens_per_image} tokens from {vq.config.num_codes} "
                         f"codes but {data_dir} holds {meta['tokens_per_image']} from {meta['num_codes']}; "
                         "pass the VQ-VAE the data was prepared with")
    labels = np.repeat(np.arange(10), n_per_digit)
    codes, images, ok = draw(model, vq, meta, labels, dev, temperature, top_k, constrained, seed, guidance=guidance)
    eval_dir = os.path.join(out_dir, 'eval')
    os.makedirs(eval_dir, exist_ok=True)
    save_grid(images, 10, os.path.join(eval_dir, f'{name}.png'))
    np.savez(os.path.join(eval_dir, f'{name}.npz'), images=images, labels=labels, codes=codes)
    res = dict(n=len(labels), well_formed=float(ok.mean()), temperature=temperature, top_k=top_k,
               guidance=guidance, constrained=constrained, distinct=int(len({tuple(c) for c in codes})), config=config)
    if score:
        from data.mnist import load_split
        from eval.judge import load_judge
        from eval.scores import generation_scores, judge_features, train_image_strings
        judge = load_judge(judge_ckpt, dev)
        test_images, test_labels = load_split('test')
        train_strings = train_image_strings(data_dir, meta['tokens_per_image'])
        real_feats = judge_features(judge, test_images, dev)
        res['scores'] = generation_scores(judge, images, labels, codes, real_feats, test_labels, train_strings,
                                          meta['image_alphabet'], dev)
        sc = res['scores']
        print(f"judge accuracy {sc['judge_accuracy']:.4f}, FID {sc['fid']:.2f}, {sc['distinct']} distinct, "
              f"memorised {sc['memorised']:.2%}; per digit: "
              + ', '.join(f"{p['digit']}: {p['judge_accuracy']:.2f}" for p in sc['per_digit']))
    with open(os.path.join(eval_dir, f'{name}.json'), 'w') as f:
        json.dump(res, f, indent=1)
    print(f"generated {len(labels)} digits at temperature {temperature}: {ok.mean():.1%} well formed, "
          f"{res['distinct']} distinct token strings -> {os.path.join(eval_dir, name + '.png')}")


if __name__ == '__main__':
    main()
