"""Classification accuracy on the 10,000 held-out test digits.

    python -m eval.classify [--out_dir=out/mnist_vlm] [--all_ckpts]

Prompts every test image with 'image:<tokens>, number:' and takes the most
likely of the ten digit characters: deterministic, batched. Prints accuracy with
its 95% confidence interval, the confusion matrix and the commonest confusions;
--all_ckpts does this for every ckpt_<iter>.pt and plots accuracy against iteration.
"""
import glob
import json
import math
import os
import re

import numpy as np

from data.mnist_vlm.format import DIGITS, load_meta
from eval.tasks import answer_logits, classify, read_digits
from nanogpt.common import pick_device
from nanogpt.configurator import configure
from nanogpt.model import load_gpt

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_vlm'
data_dir = 'data/mnist_vlm'
split = 'test'
all_ckpts = False
device = 'auto'
# -----------------------------------------------------------------------------


def wilson_interval(k, n, z=1.96):
    """95% confidence interval of a proportion k/n (Wilson score; sound near 0 and 1)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def load_split_codes(data_dir, split):
    path = os.path.join(data_dir, f'{split}.npz')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found; prepare the data first with `make data`")
    d = np.load(path)
    return d['codes'], d['labels']


def score(pred, labels):
    """Accuracy, CI, per-digit accuracy, confusion matrix and top confusions of predicted digits."""
    n, k = len(labels), int((pred == labels).sum())
    lo, hi = wilson_interval(k, n)
    cm = np.zeros((10, 10), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    off = [(int(cm[t, p]), t, p) for t in range(10) for p in range(10) if t != p and cm[t, p]]
    per_digit = [float(cm[d, d] / max(1, cm[d].sum())) for d in range(10)]
    return dict(n=n, correct=k, accuracy=k / n, ci95=[lo, hi], per_digit=per_digit, confusion=cm.tolist(),
                top_confusions=[dict(true=t, pred=p, count=c) for c, t, p in sorted(off, reverse=True)[:5]])


def evaluate(model, codes, labels, meta, device):
    logits = answer_logits(model, codes, meta, device)
    res = score(read_digits(logits, meta), labels)
    # unconstrained, the model could answer any character: count how often that is not a digit
    free = [meta['itos'][int(t)] for t in logits.argmax(1)]
    res['free_non_digit_rate'] = float(np.mean([a not in DIGITS for a in free]))
    return res


def print_result(res, title):
    lo, hi = res['ci95']
    print(f"{title}: accuracy {res['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}) on {res['n']:,} images; "
          f"free decoding answers a non-digit {res['free_non_digit_rate']:.2%} of the time")
    print("confusion matrix (rows: true digit, columns: predicted)")
    print('     ' + ''.join(f'{d:>6}' for d in range(10)))
    for d, row in enumerate(res['confusion']):
        print(f'{d:>5}' + ''.join(f'{v:>6}' for v in row))
    print("top confusions: " + ', '.join(f"{c['true']}->{c['pred']} ({c['count']})" for c in res['top_confusions']))


def snapshots(out_dir):
    paths = glob.glob(os.path.join(out_dir, 'ckpt_*.pt'))
    found = [(int(m.group(1)), p) for p in paths if (m := re.search(r'ckpt_(\d+)\.pt$', p))]
    return sorted(found)


def accuracy_trail(out_dir, codes, labels, meta, device):
    """Accuracy of every ckpt_<iter>.pt: a list of (iter, elapsed seconds, accuracy, ci low, ci high)."""
    trail = []
    for it, path in snapshots(out_dir):
        model, ckpt = load_gpt(path, device, meta['vocab_size'])
        pred = classify(model, codes, meta, device)
        k = int((pred == labels).sum())
        trail.append([it, ckpt.get('elapsed', float('nan')), k / len(labels), *wilson_interval(k, len(labels))])
        print(f"iter {it}: accuracy {k / len(labels):.4f}")
    return trail


def plot_trail(trail, path, split='test'):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
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


def main():
    config = configure(globals())
    dev = pick_device(device)
    meta = load_meta(data_dir)
    codes, labels = load_split_codes(data_dir, split)
    eval_dir = os.path.join(out_dir, 'eval')
    os.makedirs(eval_dir, exist_ok=True)
    model, _ = load_gpt(os.path.join(out_dir, 'ckpt.pt'), dev, meta['vocab_size'])
    res = evaluate(model, codes, labels, meta, dev)
    print_result(res, f"{split} ({os.path.join(out_dir, 'ckpt.pt')})")
    if all_ckpts:
        res['trail'] = accuracy_trail(out_dir, codes, labels, meta, dev)
        plot_trail(res['trail'], os.path.join(eval_dir, 'accuracy_vs_iter.png'), split)
    res['config'] = config
    with open(os.path.join(eval_dir, 'classify.json'), 'w') as f:
        json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
