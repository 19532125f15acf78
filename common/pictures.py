"""Pictures of digits and of scores: plain matplotlib figures written as PNG (white digits on black, as MNIST; a
dataset's colour pictures in colour)."""
import os

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def side_by_side(grids, titles, path):
    """Several uint8 image grids next to each other, each with a title (e.g. first vs last checkpoint)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(grids), figsize=(4 * len(grids), 4.3))
    for ax, grid, title in zip(np.atleast_1d(axes), grids, titles):
        ax.imshow(grid, cmap='gray', vmin=0, vmax=255)  # a colour grid (H, W, 3) is shown as it is
        ax.set_title(title)
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def tile(images, rows):
    """Pictures (N, S, S) or (N, S, S, 3) in `rows` rows, a black pixel of border around each."""
    images = np.asarray(images)
    cols = -(-len(images) // rows)
    s = images.shape[1] + 2
    grid = np.zeros((rows * s, cols * s, *images.shape[3:]), dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * s + 1:r * s + s - 1, c * s + 1:c * s + s - 1] = img
    return grid


def confusion_heatmap(cm, path):
    plt = _plt()
    cm = np.asarray(cm)
    n = len(cm)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(np.log1p(cm), cmap='Blues')
    for t in range(n):
        for p in range(n) if n <= 20 else ():  # past 20 labels the counts would not fit their cells
            if cm[t, p]:
                ax.text(p, t, str(cm[t, p]), ha='center', va='center', fontsize=7,
                        color='white' if t == p else 'black')
    ax.set_xticks(range(0, n, max(1, n // 20)))
    ax.set_yticks(range(0, n, max(1, n // 20)))
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title('test confusion matrix')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def token_histograms(codes, labels, num_codes, alphabet, path):
    """Per label, how often each code appears at each token position: the blog's sequence-logo view."""
    plt = _plt()
    T = codes.shape[1]
    fig, axes = plt.subplots(2, 5, figsize=(15, 6), sharey=True)
    for d, ax in enumerate(axes.flat):  # the first ten labels
        c = codes[labels == d]
        hist = np.stack([np.bincount(c[:, t], minlength=num_codes) for t in range(T)], 1) / max(1, len(c))
        ax.imshow(hist, aspect='auto', cmap='magma', vmin=0, vmax=1)
        ax.set_title(f'label {d}')
        ax.set_xlabel('token position')
        if d % 5 == 0:
            # every letter up to 32 codes; beyond that one tick in every num_codes // 26 keeps it legible (and fast)
            step = 1 if num_codes <= 32 else num_codes // 26
            ax.set_yticks(range(0, num_codes, step))
            ax.set_yticklabels(list(alphabet[::step]), fontsize=6)
    fig.suptitle('frequency of each image letter (rows) at each position (columns), test set')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_grid(images, rows, path, scale=2):
    """Tile images into `rows` rows and write a PNG (white digits on black, as MNIST)."""
    plt = _plt()
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    grid = tile(images, rows).repeat(scale, 0).repeat(scale, 1)
    plt.imsave(path, grid, cmap='gray', vmin=0, vmax=255)


def plot_trail(trail, path, split='test'):
    """Accuracy against iteration with its 95% CI band, from rows (iter, seconds, acc, lo, hi)."""
    plt = _plt()
    t = np.array(trail)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(t[:, 0], t[:, 2], marker='o')
    ax.fill_between(t[:, 0], t[:, 3], t[:, 4], alpha=0.3, label='95% CI')
    ax.set_xlabel('iteration')
    ax.set_ylabel(f'{split} accuracy')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(curves, path, ylabel='validation accuracy'):
    """Accuracy against training seconds, one line per run, coloured by group: {group: [[(sec, acc), ...], ...]}."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    later = []  # every point but each run's first (step 0: chance), to zoom on where the runs differ
    for i, (group, runs) in enumerate(curves.items()):
        for j, points in enumerate(runs):
            p = np.array([pt for pt in points if pt[1] is not None], dtype=float).reshape(-1, 2)
            ax.plot(p[:, 0], p[:, 1], marker='o', color=f'C{i}', alpha=0.8, label=group if j == 0 else None)
            later += list(p[1:, 1])
    ax.set_xlabel('training seconds (this machine)')
    ax.set_ylabel(ylabel)
    if later:
        ax.set_ylim(max(0.0, min(later) - 0.01), min(1.0, max(later) + 0.005))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fit(img, side, colour=False):
    """A PIL picture (any size and mode) as a dataset of one's own holds it: grey (or RGB where colour), the whole
    picture scaled to fit side x side and centred on black, transparency on black too. uint8 (side, side[, 3])."""
    from PIL import Image
    if img.mode in ('RGBA', 'LA', 'P', 'PA'):
        img = img.convert('RGBA')
        img = Image.alpha_composite(Image.new('RGBA', img.size, (0, 0, 0, 255)), img)
    mode = 'RGB' if colour else 'L'
    img = img.convert(mode)
    scale = side / max(img.size)
    size = (max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale)))
    canvas = Image.new(mode, (side, side))
    canvas.paste(img.resize(size, Image.LANCZOS), ((side - size[0]) // 2, (side - size[1]) // 2))
    return np.asarray(canvas, dtype=np.uint8)
