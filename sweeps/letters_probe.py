"""How much of a digit's class its letters keep: a small conv classifier trained on a tokenizer's letters alone
(each letter embedded, the grid convolved), scored on the validation digits after every epoch. A bound of a
different kind than the judge's reading of reconstructions (tokenizer_ceiling.py): what a reader of the codes can
learn, not what a picture drawn from them shows.

    python -m sweeps.letters_probe --vqvae_ckpt=out/vqvae_mnist/ckpt.pt [--copies=2 --epochs=8]

About 4.5 min for 16 letters and 12 min for 49 on 2 cores (docs/studies.md).
"""
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common.configurator import configure
from data.pictures import load_split
from data.records.prepare import augment, encode_images
from vqvae.model import load_vqvae

# -----------------------------------------------------------------------------
vqvae_ckpt = 'out/vqvae_mnist/ckpt.pt'
copies = 2  # shifted and rotated copies of every training digit (data/records/prepare.py's augment)
epochs = 8
batch_size = 256
learning_rate = 2e-3  # the peak of a one-cycle schedule
seed = 0
# -----------------------------------------------------------------------------
configure(globals())
torch.manual_seed(seed)
vq = load_vqvae(vqvae_ckpt)
side = math.isqrt(vq.config.tokens_per_image)  # the conv tokenizer writes a square grid: 4x4 or 7x7
images, labels = load_split('train', vq.dataset)
rng = np.random.default_rng(seed)
images = np.concatenate([images] + [augment(images, rng) for _ in range(copies)])
codes = torch.from_numpy(encode_images(vq, images)).long()
targets = torch.from_numpy(np.tile(labels, copies + 1)).long()
val_images, val_labels = load_split('val', vq.dataset)
val_codes = torch.from_numpy(encode_images(vq, val_images)).long()
val_targets = torch.from_numpy(val_labels.astype(np.int64))


class LetterReader(nn.Module):
    """Each letter embedded in its place on the grid, two 3x3 convolutions, then an MLP to the ten classes."""

    def __init__(self, num_codes, side, width=64):
        super().__init__()
        self.side = side
        self.embed = nn.Embedding(num_codes, width)
        self.convs = nn.Sequential(nn.Conv2d(width, 128, 3, padding=1), nn.GELU(),
                                   nn.Conv2d(128, 128, 3, padding=1), nn.GELU())
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * side * side, 256), nn.GELU(),
                                  nn.Dropout(0.3), nn.Linear(256, 10))

    def forward(self, codes):
        x = self.embed(codes).view(len(codes), self.side, self.side, -1).permute(0, 3, 1, 2)
        return self.head(self.convs(x))


model = LetterReader(vq.config.num_codes, side)

opt = torch.optim.AdamW(model.parameters(), learning_rate, weight_decay=0.05)
steps_per_epoch = len(codes) // batch_size
sched = torch.optim.lr_scheduler.OneCycleLR(opt, learning_rate, total_steps=epochs * steps_per_epoch)
t0 = time.time()
for epoch in range(1, epochs + 1):
    model.train()
    order = torch.randperm(len(codes))
    for i in range(steps_per_epoch):
        b = order[i * batch_size:(i + 1) * batch_size]
        loss = F.cross_entropy(model(codes[b]), targets[b])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(val_codes).argmax(1) == val_targets).float().mean().item()
    print(json.dumps(dict(vqvae_ckpt=vqvae_ckpt, letters=vq.config.tokens_per_image, epoch=epoch,
                          train_loss=round(loss.item(), 4), val_accuracy=round(accuracy, 4),
                          seconds=round(time.time() - t0))), flush=True)
