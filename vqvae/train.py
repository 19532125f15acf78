"""Train the VQ-VAE tokenizer on MNIST train[0:50000], validating on train[50000:60000].

    python -m vqvae.train config/vqvae_mnist.py [--key=value ...]
"""
import math
import os
import time
from dataclasses import asdict, fields

import numpy as np
import torch
import torch.nn.functional as F

from data.mnist import load_split
from nanogpt.common import atomic_save, pick_device
from nanogpt.configurator import configure
from vqvae.model import VQVAE, VQVAEConfig

# -----------------------------------------------------------------------------
out_dir = 'out/vqvae'
encoder = 'conv'
tokens_per_image = 16
num_codes = 26
code_dim = 16
hidden = 64
decay = 0.99
dead_threshold = 1.0
commitment = 0.25
batch_size = 128
max_iters = 2000
learning_rate = 2e-3
min_lr = 2e-4
eval_interval = 500
seed = 1337
device = 'auto'
threads = 0  # torch CPU threads; 0 keeps torch's default
# -----------------------------------------------------------------------------


def evaluate(model, images, batch=1000):
    """Reconstruction BCE/MSE and codebook usage over a whole split."""
    model.eval()
    bce = mse = 0.0
    counts = torch.zeros(num_codes, device=images.device)
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = images[i:i + batch]
            logits, idx, _ = model(x)
            bce += F.binary_cross_entropy_with_logits(logits, x, reduction='sum').item()
            mse += F.mse_loss(torch.sigmoid(logits), x, reduction='sum').item()
            counts += torch.bincount(idx.flatten(), minlength=num_codes)
    model.train()
    p = counts / counts.sum()
    perplexity = math.exp(-(p[p > 0] * p[p > 0].log()).sum().item())
    n = images.numel()
    return dict(bce=bce / n, mse=mse / n, codes_used=int((counts > 0).sum()), perplexity=perplexity)


def main():
    config = configure(globals())
    dev = pick_device(device)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    train_x = torch.from_numpy(load_split('train')[0].astype(np.float32) / 255).to(dev)
    val_x = torch.from_numpy(load_split('val')[0].astype(np.float32) / 255).to(dev)
    model_args = {f.name: config[f.name] for f in fields(VQVAEConfig)}
    model = VQVAE(VQVAEConfig(**model_args)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    print(f"VQ-VAE: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{tokens_per_image} tokens x {num_codes} codes, {len(train_x):,} train / {len(val_x):,} val images on {dev}")
    t0 = time.time()
    for it in range(max_iters + 1):
        if it % eval_interval == 0 or it == max_iters:
            m = evaluate(model, val_x)
            print(f"iter {it}: val bce {m['bce']:.4f}, mse {m['mse']:.4f}, codes used {m['codes_used']}/{num_codes}, "
                  f"perplexity {m['perplexity']:.1f}, {time.time() - t0:.0f}s")
        if it == max_iters:
            break
        lr = min_lr + 0.5 * (learning_rate - min_lr) * (1 + math.cos(math.pi * it / max_iters))
        for g in opt.param_groups:
            g['lr'] = lr
        x = train_x[torch.randint(len(train_x), (batch_size,), generator=gen).to(dev)]
        logits, _, commit = model(x)
        # binary cross-entropy on intensities: sigmoid + MSE collapses to a blank image on MNIST
        loss = F.binary_cross_entropy_with_logits(logits, x) + commitment * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    ckpt = dict(model=model.state_dict(), model_args=model_args, config=config, iter_num=max_iters, val=m)
    atomic_save(ckpt, os.path.join(out_dir, 'ckpt.pt'))
    print(f"saved {os.path.join(out_dir, 'ckpt.pt')} ({time.time() - t0:.0f}s)")


if __name__ == '__main__':
    main()
