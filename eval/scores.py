"""The rulers of drawn pictures, all used on decoded pictures: the judge's reading and features, the Fréchet
distance in those features (an MNIST or Fashion-MNIST 'FID'), the tokenizer's ceiling, and the letter
strings of the training records (to count drawings copied verbatim).
"""
import os
import re

import numpy as np
import torch

from eval.judge import batched


def train_image_strings(data_dir, alphabet):
    """Every image letter string the model was trained on (from train.txt), to spot verbatim copies."""
    letters = re.compile('[' + ''.join(map(re.escape, alphabet)) + ']+')  # one regex pass, not a loop per character
    with open(os.path.join(data_dir, 'train.txt'), encoding='utf-8') as f:
        return set(letters.findall(f.read()))


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
