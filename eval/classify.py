"""Reading accuracy on all held-out test images (the reading task of data/mnist_vlm/tasks.py).

    python -m eval.classify [--out_dir=out/mnist_vlm] [--all_ckpts=True] [--split=val]

Prompts every image with 'image:<letters>, number:' (or ', word:'; a run that reads pixels gets
them in the letters' places) and takes the most likely of the ten label strings: deterministic, batched. Prints accuracy with its 95% confidence interval,
the confusion matrix and the commonest confusions; --all_ckpts also scores every
ckpt_<iter>.pt and plots accuracy against iteration. `make eval` runs report_section.
"""
import os
import time

import numpy as np

from common.configurator import configure
from common.files import write_json
from common.pictures import confusion_heatmap, plot_trail
from common.runtime import pick_device
from common.stats import wilson_interval
from data.mnist_vlm.tasks import READ
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
out_dir = RUN_DIR
split = 'test'  # 'val' to read the validation images instead
all_ckpts = False
device = 'auto'
# -----------------------------------------------------------------------------


def print_result(res, title):
    lo, hi = res['ci95']
    print(f"{title}: accuracy {res['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}) on {res['n']:,} images; "
          f"free decoding answers something that is not a label {res['free_non_label_rate']:.2%} of the time")
    print("confusion matrix (rows: true label, columns: predicted)")
    print('     ' + ''.join(f'{d:>6}' for d in range(10)))
    for d, row in enumerate(res['confusion']):
        print(f'{d:>5}' + ''.join(f'{v:>6}' for v in row))
    print("top confusions: " + ', '.join(f"{c['true']}->{c['pred']} ({c['count']})" for c in res['top_confusions']))


def accuracy_trail(vlm, seen, labels, known=None):
    """Accuracy of every ckpt_<iter>.pt: a list of (iter, elapsed seconds, accuracy, ci low, ci high).
    known: {iter: correct} already counted (ckpt.pt is the snapshot of its iteration): not read again."""
    trail, known = [], known or {}
    for it, path in vlm.snapshots():
        gpt, ckpt = vlm.snapshot(path)
        k = known[it] if it in known else int((vlm.read(seen, gpt) == labels).sum())
        trail.append([it, ckpt.get('elapsed', float('nan')), k / len(labels), *wilson_interval(k, len(labels))])
        print(f"iter {it}: accuracy {k / len(labels):.4f}")
    return trail


def report_section(vlm, ev):
    """`make eval`'s reading section: results and markdown lines."""
    t0 = time.time()
    res = READ.evaluate(vlm.gpt, ev.seen, ev.labels, vlm.meta, device=vlm.device)
    res['seconds'] = time.time() - t0
    res['image_input'] = vlm.image_input
    res['majority_baseline'] = float(np.bincount(ev.labels).max() / len(ev.labels))  # what answers without looking
    print_result(res, f"{ev.config.get('split', 'test')} ({vlm.out_dir}/ckpt.pt)")
    res['trail'] = accuracy_trail(vlm, ev.seen, ev.labels, known={vlm.ckpt['iter_num']: res['correct']})
    plot_trail(res['trail'], os.path.join(ev.eval_dir, 'accuracy_vs_iter.png'))
    confusion_heatmap(res['confusion'], os.path.join(ev.eval_dir, 'confusion.png'))
    lo, hi = res['ci95']
    split_name = ev.config.get('split', 'test')  # the report says which images it read: test, or val while choosing
    lines = [
        f"## Reading (all {split_name} images, the likeliest of the ten labels: {', '.join(vlm.meta['labels'])}; "
        f"pictures read as {vlm.image_input})", "",
        "| measure | value |", "|---|---|",
        f"| {split_name} accuracy | {res['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}), {res['correct']:,} of {res['n']:,} |",
        f"| majority-answer baseline (the commonest {split_name} label) | {res['majority_baseline']:.4f} |",
        "| answers that are not a label, constrained decoding | 0.00% (by construction) |",
        f"| answers that are not a label, free decoding | {res['free_non_label_rate']:.2%} |",
        f"| time to read all {res['n']:,} | {res['seconds']:.1f} s |", "",
        "Per-label accuracy: " + ', '.join(f"{name}: {a:.3f}" for name, a in zip(vlm.meta['labels'], res['per_digit'])),
        "",
        "Top confusions (true->predicted): " + ', '.join(
            f"{vlm.meta['labels'][x['true']]}->{vlm.meta['labels'][x['pred']]} ({x['count']})"
            for x in res['top_confusions']), "",
        "| | |", "|---|---|",
        "| accuracy against iteration (95% CI band) | ![](accuracy_vs_iter.png) |",
        "| confusion matrix | ![](confusion.png) |", "",
        "Confusion matrix (rows: true label, columns: predicted; labels by index 0-9):", "",
        "| | " + " | ".join(str(d) for d in range(10)) + " |", "|---" * 11 + "|",
        *(f"| **{d}** | " + " | ".join(str(v) for v in row) + " |" for d, row in enumerate(res['confusion'])), ""]
    return res, lines


def main():
    config = configure(globals())
    vlm = VLM.load(out_dir, device=pick_device(device), vqvae=False)
    seen, labels = vlm.inputs(split)
    res = READ.evaluate(vlm.gpt, seen, labels, vlm.meta, device=vlm.device)
    print_result(res, f"{split} ({os.path.join(out_dir, 'ckpt.pt')})")
    eval_dir = os.path.join(out_dir, 'eval')
    os.makedirs(eval_dir, exist_ok=True)
    if all_ckpts:
        res['trail'] = accuracy_trail(vlm, seen, labels)
        plot_trail(res['trail'], os.path.join(eval_dir, f'accuracy_vs_iter_{split}.png'), split)
    write_json(os.path.join(eval_dir, f'classify_{split}.json'), dict(res, config=config))


if __name__ == '__main__':
    main()
