"""`make eval`: classification on the test set, accuracy over training, generated digits; one report.

    python -m eval.report [--out_dir=out/mnist_vlm] [--data_dir=...] [--vqvae_ckpt=...]

Writes out_dir/eval/report.md and report.json with every figure, and the pictures beside them.
"""
import json
import os
import platform
import time

import numpy as np
import torch

from data.mnist_vlm.format import load_meta
from eval.classify import accuracy_trail, evaluate, load_split_codes, plot_trail, print_result
from eval.generate import draw, save_grid
from nanogpt.common import pick_device
from nanogpt.configurator import configure
from nanogpt.model import load_gpt
from vqvae.model import load_vqvae

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_vlm'
data_dir = 'data/mnist_vlm'
vqvae_ckpt = 'out/vqvae/ckpt.pt'
n_per_digit = 10
temperature = 1.0
top_k = 0
seed = 1337
device = 'auto'
# -----------------------------------------------------------------------------


def machine():
    cpu = platform.processor() or platform.machine()
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} ({os.cpu_count()} CPU cores)"
    return f"{os.cpu_count()}-core CPU ({cpu}), no GPU"


def markdown(r):
    c = r['classification']
    lo, hi = c['ci95']
    lines = [
        f"# mnist-vlm evaluation: {r['checkpoint']}",
        "",
        f"Machine: {r['machine']}. Checkpoint from iteration {r['iter_num']} "
        f"({r['train_seconds']:.0f} s of training).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| test classification accuracy (all {c['n']:,}, greedy over the ten digits) | "
        f"{c['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}) |",
        f"| answers that are not a digit, free decoding | {c['free_non_digit_rate']:.2%} |",
        f"| generated sequences well formed (constrained, T={r['generation']['temperature']}) | "
        f"{r['generation']['well_formed']:.2%} |",
        f"| distinct generated token strings | {r['generation']['distinct']} of {r['generation']['n']} |",
        "",
        "Per-digit accuracy: " + ', '.join(f"{d}: {a:.3f}" for d, a in enumerate(c['per_digit'])),
        "",
        "Top confusions (true->predicted): " + ', '.join(f"{x['true']}->{x['pred']} ({x['count']})"
                                                        for x in c['top_confusions']),
        "",
        "## Confusion matrix (rows: true digit, columns: predicted)",
        "",
        "| | " + " | ".join(str(d) for d in range(10)) + " |",
        "|---" * 11 + "|",
    ]
    lines += [f"| **{d}** | " + " | ".join(str(v) for v in row) + " |" for d, row in enumerate(c['confusion'])]
    lines += ["", "## Pictures", "", "Accuracy against iteration: ![accuracy](accuracy_vs_iter.png)", "",
              "Generated digits, a row per digit 0-9: ![generated](generated.png)", ""]
    return '\n'.join(lines)


def main():
    config = configure(globals())
    dev = pick_device(device)
    meta = load_meta(data_dir)
    eval_dir = os.path.join(out_dir, 'eval')
    os.makedirs(eval_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, 'ckpt.pt')
    model, ckpt = load_gpt(ckpt_path, dev, meta['vocab_size'])
    codes, labels = load_split_codes(data_dir, 'test')
    t0 = time.time()
    cls = evaluate(model, codes, labels, meta, dev)
    cls['seconds'] = time.time() - t0
    print_result(cls, f"test ({ckpt_path})")
    trail = accuracy_trail(out_dir, codes, labels, meta, dev)
    plot_trail(trail, os.path.join(eval_dir, 'accuracy_vs_iter.png'))
    vq = load_vqvae(vqvae_ckpt, dev)
    gen_labels = np.repeat(np.arange(10), n_per_digit)
    t0 = time.time()
    gen_codes, images, ok = draw(model, vq, meta, gen_labels, dev, temperature, top_k, True, seed)
    gen = dict(n=len(gen_labels), temperature=temperature, top_k=top_k, well_formed=float(ok.mean()),
               distinct=len({tuple(c) for c in gen_codes}), seconds=time.time() - t0)
    save_grid(images, 10, os.path.join(eval_dir, 'generated.png'))
    np.savez(os.path.join(eval_dir, 'generated.npz'), images=images, labels=gen_labels, codes=gen_codes)
    print(f"generated {gen['n']} digits: {gen['well_formed']:.1%} well formed, {gen['distinct']} distinct")
    report = dict(checkpoint=ckpt_path, iter_num=ckpt['iter_num'], train_seconds=ckpt.get('elapsed', float('nan')),
                  machine=machine(), classification=cls, trail=trail, generation=gen,
                  train_config=ckpt.get('config'), eval_config=config, data_dir=data_dir, vqvae_ckpt=vqvae_ckpt)
    with open(os.path.join(eval_dir, 'report.json'), 'w') as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(eval_dir, 'report.md'), 'w') as f:
        f.write(markdown(report))
    print(f"wrote {os.path.join(eval_dir, 'report.md')} and report.json")


if __name__ == '__main__':
    main()
