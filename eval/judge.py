"""The judge: a small CNN classifier of a dataset's images, the ruler for generated ones.

    python -m eval.judge [config/judge_mnist.py] [--out=out/judge_mnist/ckpt.pt] [--epochs=2]
    python -m eval.judge config/judge_fashion_mnist.py

Trained on the dataset's train[0:50000], early-stopped on train[50000:60000], never on
test, and never tuned to a VLM run; one per dataset, and it refuses to judge another
dataset's drawings. Cached: a second call loads the checkpoint.
Its penultimate layer (128 features) serves as the feature space for Fréchet
distances between sets of images.
"""
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common.configurator import configure
from common.files import atomic_save, load_checkpoint, writable_folder
from common.runtime import pick_device, run_record, train_dtype
from data.pictures import label_words, load_split, source_files
from vqvae.model import channels_first

JUDGE_CKPT = 'out/judge_mnist/ckpt.pt'  # one judge for every run: trained once by `make judge`
# -----------------------------------------------------------------------------
out = JUDGE_CKPT
dataset = 'mnist'  # the pictures it reads: mnist, fashion_mnist or an imported folder (data/pictures.py)
epochs = 2  # enough for a judge of about 0.99 in 30-40 s on 2 cores; the epoch that reads validation best is kept
min_steps = 0  # at least this many steps, in whole epochs: a folder of a few thousand pictures needs more epochs
device = 'auto'
# 'auto': its training steps under bfloat16 autocast where the machine has it natively (a GPU with bf16, a CPU with
# AMX: 1.3-1.6x faster, the same readings), else float32. Every reading of a picture is float32
dtype = 'auto'
# -----------------------------------------------------------------------------


class Judge(nn.Module):

    def __init__(self, num_classes=10, side=28, channels=1):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),        # 7x7
            nn.Flatten(), nn.Linear(64 * (side // 4) ** 2, 128), nn.ReLU())
        self.head = nn.Linear(128, num_classes)
        self.args = dict(num_classes=num_classes, side=side, channels=channels)

    def features(self, x):
        """images (B, S, S[, 3]) uint8 or float in [0, 1] -> (B, 128)."""
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        return self.conv(channels_first(x))

    def forward(self, x):
        return self.head(self.features(x))


@torch.no_grad()
def batched(fn, images, device, batch=2000):
    x = torch.from_numpy(np.array(images))  # a writable copy: torch refuses read-only buffers
    return torch.cat([fn(x[i:i + batch].to(device)).cpu() for i in range(0, len(x), batch)]).numpy()


def train_judge(path, device='cpu', epochs=2, batch_size=128, seed=0, dataset='mnist', min_steps=0, dtype='auto'):
    used, ctx = train_dtype(dtype, device, 'the judge')
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x, y = (torch.from_numpy(a.copy()) for a in load_split('train', dataset))
    vx, vy = load_split('val', dataset)
    shape = x.shape[1:]  # the dataset's pictures: (S, S) grey or (S, S, 3) colour
    model = Judge(len(label_words(dataset)), shape[0], shape[2] if len(shape) == 3 else 1).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    per_epoch = -(-len(x) // batch_size)
    epochs = max(epochs, -(-min_steps // per_epoch))
    steps = epochs * per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    best, best_state, t0 = -1.0, None, time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb = x[idx].float() / 255
            # one-pixel shifts make the judge robust to the small offsets of generated digits
            xb = torch.roll(xb, shifts=(int(torch.randint(-1, 2, (1,), generator=g)),
                                        int(torch.randint(-1, 2, (1,), generator=g))), dims=(1, 2))  # rows, columns
            with ctx:
                logits = model(xb.to(device))
            loss = F.cross_entropy(logits.float(), y[idx].long().to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        acc = float((batched(model, vx, device).argmax(1) == vy).mean())
        print(f"judge epoch {epoch + 1}: val accuracy {acc:.4f} ({time.time() - t0:.0f}s)")
        if acc > best:  # early stopping: keep the epoch that reads validation best
            best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
    atomic_save(dict(model=best_state, val_acc=best, epochs=epochs, seed=seed, dataset=dataset, dtype=used,
                     **model.args), path)
    model.load_state_dict(best_state)
    return model.eval()


def load_judge(path=JUDGE_CKPT, device='cpu', train_if_missing=True, dataset='mnist'):
    """The judge of `dataset`'s images: trained here when missing, refused when it reads another dataset."""
    if not os.path.exists(path) and train_if_missing:
        return train_judge(path, device, dataset=dataset)
    ckpt = load_checkpoint(path, 'judge checkpoint', 'train it with `make judge`', device)
    args = ckpt.get('model_args') or {}
    if args:  # a GPT's or a tokenizer's checkpoint: their weights would not fit the judge's layers
        kind = 'a GPT' if 'n_layer' in args else 'a tokenizer (VQ-VAE)' if 'num_codes' in args else 'another model'
        raise SystemExit(f"error: {path} is {kind}'s checkpoint, not a judge's; pass a judge "
                         f"(out/judge_{dataset}/ckpt.pt, written by `make judge`)")
    if ckpt.get('dataset', 'mnist') != dataset:
        raise SystemExit(f"error: {path} judges {ckpt.get('dataset', 'mnist')} images, not {dataset}; pass the judge "
                         f"of {dataset} (`make judge DATASET={dataset}` writes it)")
    model = Judge(ckpt.get('num_classes', 10), ckpt.get('side', 28), ckpt.get('channels', 1)).to(device)
    try:
        model.load_state_dict(ckpt['model'])
    except RuntimeError:
        raise SystemExit(f"error: {path} does not hold a judge's weights; pass a judge (out/judge_{dataset}/ckpt.pt, "
                         "written by `make judge`)")
    return model.eval()


def main():
    config = configure(globals())
    dev = pick_device(device)
    config['dtype'], _ = train_dtype(dtype, dev, 'the judge')  # run.json says what it trained in, not 'auto'
    trained = not os.path.exists(out)
    if trained:
        writable_folder(os.path.dirname(out) or '.', '--out')
    judge = train_judge(out, dev, epochs, dataset=dataset, min_steps=min_steps, dtype=config['dtype']) if trained else \
        load_judge(out, dev, dataset=dataset)
    tx, ty = load_split('test', dataset)
    acc = float((batched(judge, tx, dev).argmax(1) == ty).mean())
    print(f"judge test accuracy {acc:.4f} on {len(ty):,} {dataset} test images ({out})")
    if trained:
        run_record(os.path.join(os.path.dirname(out), 'run.json'), config, source_files(dataset),
                   dict(test_accuracy=acc))


if __name__ == '__main__':
    main()
