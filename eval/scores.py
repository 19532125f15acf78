"""Objective measures of generated images, all computed on the decoded images.

- judge accuracy: how often the dataset's judge CNN reads the prompted label (the drawing task's score);
- Fréchet distance in the judge's penultimate features (an MNIST or Fashion-MNIST 'FID');
- diversity (distinct token strings) and memorisation (strings seen verbatim in training).
"""
import os
from types import SimpleNamespace

import numpy as np
import torch

from data.mnist import load_split
from data.mnist_vlm.tasks import DRAW
from eval.judge import batched, load_judge


def train_image_strings(data_dir, alphabet):
    """Every image letter string the model was trained on (from train.txt), to spot verbatim copies."""
    with open(os.path.join(data_dir, 'train.txt'), encoding='utf-8') as f:
        return {run for line in f for run in ''.join(c if c in alphabet else ' ' for c in line).split()}


def real_digits(vlm, judge_ckpt, split='test', *, memorisation=True):
    """What every score of drawn images compares against: the judge and the real digits of a split
    (the test digits in the final evaluation; the validation digits where a recipe is being chosen),
    and with memorisation=True the image strings of train.txt, to count verbatim copies."""
    test_images, test_labels = load_split(split, vlm.meta['dataset'])
    codes, labels = vlm.split(split)
    if not np.array_equal(test_labels, labels):
        raise SystemExit(f"error: {vlm.data_dir}/{split}.npz does not match the {split} images of the raw data; "
                         "rebuild it with `make data`")
    judge = load_judge(judge_ckpt, vlm.device, dataset=vlm.meta['dataset'])
    seen = codes if vlm.image_input == 'letters' else test_images  # what the run reads of them
    return SimpleNamespace(judge=judge, test_images=test_images, test_labels=test_labels, codes=codes, labels=labels,
                           seen=seen,
                           real_feats=judge_features(judge, test_images, vlm.device),
                           train_strings=train_image_strings(vlm.data_dir, set(vlm.meta['image_alphabet']))
                           if memorisation else None)


def frechet_distance(f1, f2):
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2) between two feature sets (N, D)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    # tr((S1 S2)^1/2) = sum of sqrt of the eigenvalues of S1^1/2 S2 S1^1/2, which is symmetric PSD
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    mid = np.linalg.eigvalsh(root1 @ s2 @ root1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(mid, 0, None)).sum())


def judge_features(judge, images, device='cpu'):
    return batched(judge.features, images, device)


@torch.no_grad()
def judge_reads(judge, feats, device='cpu'):
    """The digit the judge reads from its features (judge_features): no second pass over the images."""
    return judge.head(torch.from_numpy(feats).to(device)).argmax(1).cpu().numpy()


def reconstruction_ceiling(judge, vq, images, labels, real_feats, device='cpu'):
    """What the tokenizer allows at best: judge accuracy, MSE and FID of VQ-VAE reconstructions.
    real_feats: judge_features of `images`, computed once by the caller for every score."""
    x = torch.from_numpy(np.array(images))  # a writable copy: torch warns on read-only buffers
    recon = np.concatenate([vq.decode(vq.encode(x[i:i + 2000].to(device))).cpu().numpy()
                            for i in range(0, len(x), 2000)])
    recon_u8 = np.round(recon * 255).astype(np.uint8)
    feats = judge_features(judge, recon_u8, device)
    return recon_u8, dict(judge_accuracy=float((judge_reads(judge, feats, device) == labels).mean()),
                          mse=float(((recon - images / 255.0) ** 2).mean()),
                          fid=frechet_distance(feats, real_feats))


def real_floor(real_feats, seed=0):
    """FID between two random halves of the real test set: the smallest value sampling noise allows."""
    idx = np.random.default_rng(seed).permutation(len(real_feats))
    half = len(idx) // 2
    return frechet_distance(real_feats[idx[:half]], real_feats[idx[half:]])


def generation_scores(judge, images, labels, codes, real_feats, real_labels, train_strings, alphabet, device='cpu'):
    """Scores of generated images (uint8 (N, 28, 28)) drawn for prompted `labels`, against the judge
    features of real digits (real_feats) and their labels."""
    feats = judge_features(judge, images, device)
    drawn = DRAW.score(judge_reads(judge, feats, device), labels)
    strings = [''.join(alphabet[c] for c in row) if (row >= 0).all() else None for row in codes]
    per_digit = []
    for d in range(10):
        m = labels == d
        per_digit.append(dict(
            digit=d, n=int(m.sum()), judge_accuracy=drawn['judge_per_digit'][d],
            distinct=len({strings[i] for i in np.flatnonzero(m)}),
            fid=frechet_distance(feats[m], real_feats[real_labels == d]) if m.sum() > 1 else float('nan')))
    return dict(
        n=len(labels), judge_accuracy=drawn['judge_accuracy'], judge_ci95=drawn['judge_ci95'],
        well_formed=float(np.mean([s is not None for s in strings])),
        distinct=len(set(strings)), distinct_fraction=len(set(strings)) / max(1, len(strings)),
        fid=frechet_distance(feats, real_feats),
        memorised=None if train_strings is None else float(np.mean([s in train_strings for s in strings])),
        per_digit=per_digit)
