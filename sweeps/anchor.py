"""The anchor: a plain CNN classifier trained on a dataset's pictures for the CPU seconds a VLM run trained, to put
beside the VLM's reading. The same conv net the VLM reads pixels through (nanogpt/vision.py's 'cnn', one vector
per picture), with a linear head instead of the GPT, the same shifts and erasing as augmentation, chosen on
validation; the test set is read once, at the end, by the epoch that read validation best.

    python -m sweeps.anchor --dataset=shapes --seconds=600      # or --run=out/shapes_cnn (its training seconds)

Prints one JSON line: validation and test accuracy, steps, seconds.
"""
import json
import os
import time

import numpy as np
import torch

from common.configurator import configure
from data.pictures import label_words, load_split
from nanogpt.pretrain import Probe, cosine, predict, train_step
from nanogpt.vision import ImageEncoder
from vqvae.model import grids

# -----------------------------------------------------------------------------
dataset = 'mnist'  # mnist, fashion_mnist or an imported folder
run = ''  # a VLM run folder: its training seconds (ckpt.pt's train_seconds) are the budget
seconds = 0.0  # the budget in seconds of training steps, when no run is given
width = 64  # channels of the conv net: the VLM's encoder_width
depth = 0  # convolutions added at a quarter of the side: the VLM's encoder_depth
n_embd = 96  # the vector it writes per picture: the VLM's n_embd
batch_size = 128
learning_rate = 3e-3  # the peak of a cosine schedule over the budget's time
pixel_shift = 1  # each picture moves by up to this many pixels, as the VLM's pixel_shift
erase = 0  # half the pictures with a square of this side blanked, as the VLM's encoder_erase (0: none)
views = 1  # each picture read as the mean over this many views of it moved a pixel, as the VLM's encoder_views
eval_every = 200  # steps between readings of the validation pictures
seed = 1337
threads = 0
# -----------------------------------------------------------------------------
configure(globals())
if threads:
    torch.set_num_threads(threads)
if run:
    state = torch.load(os.path.join(run, 'ckpt.pt'), map_location='cpu', weights_only=False)
    seconds = state.get('train_seconds') or state['elapsed']
if seconds <= 0:
    raise SystemExit("error: give the budget: --seconds=600, or --run=out/<run> to take a VLM run's training time")
torch.manual_seed(seed)
gen = torch.Generator().manual_seed(seed)
x, y = (torch.from_numpy(np.array(a)) for a in load_split('train', dataset))
vx, vy = load_split('val', dataset)
side, channels = x.shape[1], (x.shape[3] if x.dim() == 4 else 1)
encoder = ImageEncoder('cnn', n_embd, grids(side)[-1] ** 2, width, vectors=1, side=side, channels=channels,
                       depth=depth, views=views)
model = Probe(encoder, len(label_words(dataset)))
opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.1)


def accuracy(images, labels):
    return float((predict(model, images) == labels).mean())


best, best_state, step, spent = -1.0, None, 0, 0.0
while spent < seconds:
    t0 = time.time()
    loss = train_step(model, opt, x, y, batch_size, pixel_shift, gen, cosine(spent, seconds, learning_rate), erase)
    step += 1
    spent += time.time() - t0
    if step % eval_every == 0 or spent >= seconds:
        acc = accuracy(vx, vy)
        print(f"step {step}: loss {loss:.4f}, val accuracy {acc:.4f}, {spent:.0f}s of {seconds:.0f}s")
        if acc > best:
            best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
model.load_state_dict(best_state)
tx, ty = load_split('test', dataset)
print(json.dumps(dict(dataset=dataset, seconds=round(spent, 1), steps=step, val_accuracy=best,
                      test_accuracy=accuracy(tx, ty), parameters=sum(p.numel() for p in model.parameters()))))
