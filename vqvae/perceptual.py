"""A perceptual term for the tokenizer's loss: compare pictures by what a classifier sees in them, not pixel by pixel.

A VQ-VAE trained on pixel error alone draws the mean of what a code could hold: on a small colour shape that mean
is a blur, a cross becomes a blob and a star a disc. LPIPS and VQGAN compare a picture with its reconstruction in
the feature maps of a trained classifier instead, where an edge or a corner that is lost costs more than a shade.
Here that classifier is a small CNN trained first, on the tokenizer's own training pictures and their labels
(never validation or test), then frozen. It is not the judge: its own net and seed, and nothing of it is kept.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from vqvae.model import channels_first

EPS = 1e-12  # F.normalize's floor on a norm: an all-zero feature vector stays zero


class Features(nn.Module):
    """Three conv stages (full, half and quarter side) and a linear head on their pooled last map."""

    def __init__(self, channels, num_classes, width=16):
        super().__init__()
        w = [channels, width, 2 * width, 4 * width]
        self.stages = nn.ModuleList(
            nn.Sequential(*([nn.MaxPool2d(2)] if i else []), nn.Conv2d(w[i], w[i + 1], 3, padding=1),
                          nn.BatchNorm2d(w[i + 1]), nn.ReLU()) for i in range(3))
        self.head = nn.Linear(w[-1], num_classes)

    def maps(self, x):
        """pictures (B, S, S[, 3]) float in [0, 1] -> each stage's feature map."""
        out, h = [], channels_first(x)
        for stage in self.stages:
            h = stage(h)
            out.append(h)
        return out

    def forward(self, x):
        return self.head(self.maps(x)[-1].mean((2, 3)))


def train_features(x, y, num_classes, steps, seed, batch_size=128, lr=2e-3):
    """A classifier of the training pictures x (float in [0, 1]) with labels y, frozen once trained."""
    g = torch.Generator().manual_seed(seed + 1)  # its own stream: the tokenizer's batches stay as they were
    net = Features(x.shape[-1] if x.dim() == 4 else 1, num_classes).to(x.device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for _ in range(steps):
        idx = torch.randint(len(x), (batch_size,), generator=g).to(x.device)
        # one-pixel shifts: features that hold a thing where it is give or take a pixel, as a reconstruction is
        shift = [int(s) for s in torch.randint(-1, 2, (2,), generator=g)]
        loss = F.cross_entropy(net(torch.roll(x[idx], shifts=shift, dims=(1, 2))), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def perceptual_loss(net, recon, x):
    """Mean squared distance of unit-normalised feature maps (LPIPS without its learnt weights), summed over stages.
    |a/|a| - b/|b||^2 is written out as |a|^2/|a|^2 + |b|^2/|b|^2 - 2 a.b/(|a||b|), norms clamped as F.normalize
    clamps them: the same value from three sums over channels, where normalising each map first costs a VQ-VAE
    step about a tenth more."""
    with torch.no_grad():  # the target's features: no gradient goes back through the picture itself
        target = net.maps(x)
    loss = 0.0
    for a, b in zip(net.maps(recon), target):
        aa, bb, ab = (a * a).sum(1), (b * b).sum(1), (a * b).sum(1)
        na, nb = aa.sqrt().clamp_min(EPS), bb.sqrt().clamp_min(EPS)
        loss = loss + (aa / na ** 2 + bb / nb ** 2 - 2 * ab / (na * nb)).mean()
    return loss
