"""The image encoder alone, with a linear head on its vectors: pretrained on the training pictures' labels before a
run's GPT steps (train's encoder_iters), as a VLM's vision tower comes pretrained (nanoVLM's SigLIP); measured by a
linear probe of its frozen vectors (the report's `encoder_alone`); and the anchor (sweeps/anchor.py), a plain
classifier trained for a run's seconds.

Why pretrain: on a CPU a step of the conv net alone costs a sixth of a step of the GPT that reads its vectors
(on Fashion-MNIST 35 ms for 128 pictures, against 200 ms for a VLM step that reads 102), so in the same seconds the
encoder alone sees about seven times the pictures, and that is what a conv net needs (docs/studies.md).
"""
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nanogpt.vision import erase_squares, shift_images


class Probe(nn.Module):
    """An image encoder and a linear head over its vectors: pictures -> label logits."""

    def __init__(self, encoder, n_labels):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.per_picture * encoder.args['n_embd'], n_labels)

    def forward(self, pictures):
        return self.head(self.encoder(pictures).flatten(1))


def cosine(step, steps, peak):
    """The learning rate at `step` of `steps` (a fraction of the way for the anchor's seconds): cosine to zero."""
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, step / steps)))


def update(model, opt, inputs, labels, lr):
    """One optimizer step of cross-entropy at learning rate lr; the loss."""
    for g in opt.param_groups:
        g['lr'] = lr
    loss = F.cross_entropy(model(inputs), labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def train_step(model, opt, images, labels, batch_size, pixel_shift, gen, lr, erase=0):
    """One AdamW step on a random batch of uint8 pictures (CPU tensors), each shifted by up to pixel_shift pixels,
    and half of them with an erase x erase square blanked (0: none)."""
    device = next(model.parameters()).device
    idx = torch.randint(len(images), (batch_size,), generator=gen)
    shifts = torch.randint(-pixel_shift, pixel_shift + 1, (batch_size, 2), generator=gen)
    pictures = erase_squares(shift_images(images[idx], shifts), erase, gen)
    return update(model, opt, pictures.to(device), labels[idx].long().to(device), lr)


@torch.no_grad()
def outputs(module, images, batch=2000, **kwargs):
    """A module's outputs on uint8 pictures (a numpy array or tensor), in batches, in eval mode (its mode is
    restored after), as CPU floats; kwargs go to its forward."""
    was = module.training
    module.eval()
    device = next(module.parameters()).device
    x = torch.as_tensor(np.array(images))
    out = torch.cat([module(x[i:i + batch].to(device), **kwargs).float().cpu() for i in range(0, len(x), batch)])
    module.train(was)
    return out


def predict(model, images):
    """The label index read from each picture."""
    return outputs(model, images).argmax(1).numpy()


def pretrain_steps(iters, epochs, n_pictures, batch_size):
    """The encoder's steps alone: `iters`, or fewer where `epochs` (0: no cap) passes over the pictures take fewer:
    a folder of a few thousand pictures learns its labels in fewer steps than 54,000 need."""
    return min(iters, math.ceil(epochs * n_pictures / batch_size)) if epochs else iters


def pretrain(encoder, images, labels, n_labels, iters, batch_size, learning_rate, pixel_shift, seed, val=None,
             log=print, log_every=1000, erase=0):
    """Train `encoder` with a new linear head on (images, labels) for `iters` AdamW steps, cosine from
    learning_rate (weight decay 0.1, as the GPT's matrices), the pictures shifted and erased as train_step's.
    Returns the head's accuracy on val=(images, labels), or None, and the seconds it took."""
    t0 = time.time()
    model = Probe(encoder, n_labels).to(next(encoder.parameters()).device)
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.1)
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.as_tensor(np.array(images)), torch.as_tensor(np.array(labels))
    for it in range(iters):
        loss = train_step(model, opt, x, y, batch_size, pixel_shift, gen, cosine(it, iters, learning_rate), erase)
        if log and (it + 1) % log_every == 0:
            log(f"encoder alone, step {it + 1} of {iters}: loss {loss:.4f}, {time.time() - t0:.0f}s")
    acc = float((predict(model, val[0]) == np.asarray(val[1])).mean()) if val is not None else None
    return acc, time.time() - t0


def features(encoder, images, views=None):
    """The encoder's vectors of pictures, flattened: (N, per_picture * n_embd); views as its forward's."""
    return outputs(encoder, images, views=views).flatten(1)


def linear_probe(encoder, train, test, n_labels, epochs=20, batch_size=512, learning_rate=3e-3, seed=0):
    """What the encoder alone knows: a linear head fitted on its frozen vectors of the train (images, labels),
    its accuracy on the test (images, labels). Vectors are standardised on the train ones, so one learning rate
    serves every encoder. As the GPT does, it learns from one view of each picture and reads with all of them."""
    tx, vx = features(encoder, train[0], views=1), features(encoder, test[0])
    mean, std = tx.mean(0), tx.std(0) + 1e-6
    tx, vx = (tx - mean) / std, (vx - mean) / std
    ty = torch.as_tensor(np.array(train[1])).long()
    torch.manual_seed(seed)
    head = nn.Linear(tx.shape[1], n_labels)
    opt = torch.optim.AdamW(head.parameters(), lr=learning_rate, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    steps = epochs * -(-len(tx) // batch_size)
    for it in range(steps):
        idx = torch.randint(len(tx), (batch_size,), generator=gen)
        update(head, opt, tx[idx], ty[idx], cosine(it, steps, learning_rate))
    with torch.no_grad():
        return float((head(vx).argmax(1).numpy() == np.asarray(test[1])).mean())
