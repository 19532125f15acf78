"""`make eval`: every measure of a trained run, in one report.

    python -m eval.report [--out_dir=out/mnist_vlm] [--data_dir=...] [--vqvae_ckpt=...] [--judge_ckpt=...]

Classification of all test digits (accuracy with 95% CI, per digit, confusions,
free-decoding answers), accuracy over training, generation scored by the judge
(T=1.0, T=0.7, T=1.0 with classifier-free guidance and greedy: judge accuracy,
FID in judge features, diversity, memorisation) against the tokenizer's ceiling, and the pictures. Writes
out_dir/eval/report.md and results.json.
"""
import json
import os
import platform
import time

import numpy as np
import torch

from data.mnist import load_split
from data.mnist_vlm.format import load_meta
from eval.classify import accuracy_trail, evaluate, load_split_codes, plot_trail, print_result, snapshots
from eval.generate import draw
from eval.judge import load_judge
from eval.pictures import confusion_heatmap, side_by_side, tile, token_histograms
from eval.scores import (generation_scores, judge_features, judge_reads, real_floor, reconstruction_ceiling,
                         train_image_strings)
from nanogpt.common import pick_device, resources
from nanogpt.configurator import configure
from nanogpt.model import load_gpt
from vqvae.model import load_vqvae

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_vlm'
data_dir = 'data/mnist_vlm'
vqvae_ckpt = 'out/vqvae/ckpt.pt'
judge_ckpt = 'out/judge/ckpt.pt'
n_per_digit = 100  # generated images per digit, for the scores
temperature = 1.0
low_temperature = 0.7  # a second, sharper sampling temperature, also scored
guidance = 1.0  # a third scored draw: `temperature` with classifier-free guidance of this weight
top_k = 0
seed = 1337
device = 'auto'
# -----------------------------------------------------------------------------


def machine():
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} ({os.cpu_count()} CPU cores)"
    return f"{os.cpu_count()}-core CPU ({platform.machine()}), no GPU"


def gen_row(name, g):
    return (f"| {name} | {g['judge_accuracy']:.4f} | {g['fid']:.2f} | {g['distinct']} of {g['n']} | "
            f"{g['memorised']:.2%} | {g['well_formed']:.0%} |")


def markdown(r):
    c, ceil = r['classification'], r['tokenizer_ceiling']
    lo, hi = c['ci95']
    gen = r['generation']
    lines = [
        f"# mnist-vlm evaluation: {r['checkpoint']}",
        "",
        f"Machine: {r['machine']}. Checkpoint from iteration {r['iter_num']} "
        f"({r['train_seconds']:.0f} s into training). Judge: {r['judge']['path']} "
        f"(test accuracy {r['judge']['test_accuracy']:.4f}).",
        "",
        "## Reading digits (all test images, greedy over the ten digits)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| test accuracy | {c['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}), {c['correct']:,} of {c['n']:,} |",
        "| answers that are not a digit, constrained decoding | 0.00% (by construction) |",
        f"| answers that are not a digit, free decoding | {c['free_non_digit_rate']:.2%} |",
        f"| time to classify all {c['n']:,} | {c['seconds']:.1f} s |",
        "",
        "Per-digit accuracy: " + ', '.join(f"{d}: {a:.3f}" for d, a in enumerate(c['per_digit'])),
        "",
        "Top confusions (true->predicted): " + ', '.join(f"{x['true']}->{x['pred']} ({x['count']})"
                                                        for x in c['top_confusions']),
        "",
        "## Drawing digits (judged on the decoded images)",
        "",
        f"{gen['t']['n'] // 10} images per digit. FID is the Fréchet distance to the real test digits in the "
        f"judge's 128 penultimate features; two random halves of the real test set are {r['real_floor_fid']:.2f} "
        "apart (the floor).",
        "",
        "| images | judge accuracy | FID | distinct token strings | in train.txt verbatim | well formed |",
        "|---|---|---|---|---|---|",
        *(gen_row(f"generated, T={gen[k]['temperature']}" + (f", top_k={top_k}" if top_k else '')
                  + (f", guidance {gen[k]['guidance']}" if gen[k]['guidance'] else ''), gen[k])
          for k in ('t', 'low_t', 'guided')),
        gen_row("generated, greedy", gen['greedy']),
        f"| VQ-VAE reconstructions of the test set (the ceiling) | {ceil['judge_accuracy']:.4f} | {ceil['fid']:.2f} "
        f"| - | - | - |",
        "",
        f"Reconstruction MSE (pixels in [0, 1]): {ceil['mse']:.4f}.",
        "",
        "Per digit at T=" + f"{temperature}: " + ', '.join(
            f"{p['digit']}: {p['judge_accuracy']:.2f} (FID {p['fid']:.1f}, {p['distinct']} distinct)"
            for p in gen['t']['per_digit']),
        "",
        "## Pictures",
        "",
        "| | |",
        "|---|---|",
        "| accuracy against iteration (95% CI band) | ![](accuracy_vs_iter.png) |",
        "| generated digits, first and last checkpoint (a row per digit) | ![](generated_first_last.png) |",
        "| test digits (left) and their VQ-VAE reconstructions (right) | ![](reconstructions.png) |",
        "| confusion matrix | ![](confusion.png) |",
        "| image letters by position, per digit | ![](token_histograms.png) |",
        "",
        "## Confusion matrix (rows: true digit, columns: predicted)",
        "",
        "| | " + " | ".join(str(d) for d in range(10)) + " |",
        "|---" * 11 + "|",
    ]
    lines += [f"| **{d}** | " + " | ".join(str(v) for v in row) + " |" for d, row in enumerate(c['confusion'])]
    return '\n'.join(lines) + '\n'


def main():
    config = configure(globals())
    dev = pick_device(device)
    meta = load_meta(data_dir)
    eval_dir = os.path.join(out_dir, 'eval')
    os.makedirs(eval_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, 'ckpt.pt')
    model, ckpt = load_gpt(ckpt_path, dev, meta['vocab_size'])
    vq = load_vqvae(vqvae_ckpt, dev)
    codes, labels = load_split_codes(data_dir, 'test')
    test_images, test_labels = load_split('test')
    if not np.array_equal(test_labels, labels):
        raise SystemExit(f"error: {data_dir}/test.npz does not match the MNIST test files; rebuild it with `make data`")

    t0 = time.time()
    cls = evaluate(model, codes, labels, meta, dev)
    cls['seconds'] = time.time() - t0
    print_result(cls, f"test ({ckpt_path})")
    trail = accuracy_trail(out_dir, codes, labels, meta, dev)
    plot_trail(trail, os.path.join(eval_dir, 'accuracy_vs_iter.png'))
    confusion_heatmap(cls['confusion'], os.path.join(eval_dir, 'confusion.png'))
    token_histograms(codes, labels, meta['num_codes'], meta['image_alphabet'], os.path.join(eval_dir, 'token_histograms.png'))

    judge = load_judge(judge_ckpt, dev)
    real_feats = judge_features(judge, test_images, dev)
    judge_acc = float((judge_reads(judge, real_feats, dev) == test_labels).mean())
    print(f"judge test accuracy {judge_acc:.4f}")
    recon, ceiling = reconstruction_ceiling(judge, vq, test_images, test_labels, real_feats, dev)
    side_by_side([tile(test_images[:100], 10), tile(recon[:100], 10)], ['test digits', 'VQ-VAE reconstructions'],
                 os.path.join(eval_dir, 'reconstructions.png'))
    floor = real_floor(real_feats)
    train_strings = train_image_strings(data_dir, meta['tokens_per_image'])

    gen_labels = np.repeat(np.arange(10), n_per_digit)
    generation = {}
    for key, temp, w in (('t', temperature, 0.0), ('low_t', low_temperature, 0.0), ('guided', temperature, guidance),
                         ('greedy', 0.0, 0.0)):
        t0 = time.time()
        gcodes, images, _ = draw(model, vq, meta, gen_labels, dev, temp, top_k, True, seed, guidance=w)
        seconds = time.time() - t0
        generation[key] = generation_scores(judge, images, gen_labels, gcodes, real_feats, test_labels,
                                            train_strings, meta['image_alphabet'], dev)
        generation[key].update(temperature=temp, guidance=w, seconds=seconds)
        g = generation[key]
        print(f"generation T={temp}" + (f", guidance {w}" if w else '')
              + f": judge accuracy {g['judge_accuracy']:.4f}, FID {g['fid']:.2f}, "
              f"{g['distinct']} distinct of {g['n']}, memorised {g['memorised']:.2%} ({seconds:.1f}s)")
        if key == 't':
            np.savez(os.path.join(eval_dir, 'generated.npz'), images=images, labels=gen_labels, codes=gcodes)
            last_images = images
    print(f"tokenizer ceiling: judge accuracy {ceiling['judge_accuracy']:.4f}, MSE {ceiling['mse']:.4f}, "
          f"FID {ceiling['fid']:.2f}; real-vs-real FID floor {floor:.2f}")

    grid_labels = np.repeat(np.arange(10), 10)
    first = [it for it, _ in snapshots(out_dir) if it > 0]
    grids, titles = [], []
    if first:
        fm, _ = load_gpt(os.path.join(out_dir, f'ckpt_{first[0]}.pt'), dev, meta['vocab_size'])
        grids.append(tile(draw(fm, vq, meta, grid_labels, dev, temperature, top_k, True, seed)[1], 10))
        titles.append(f'iteration {first[0]}')
    idx = np.concatenate([np.flatnonzero(gen_labels == d)[:10] for d in range(10)])
    grids.append(tile(last_images[idx], 10))
    titles.append(f"ckpt.pt (iteration {ckpt['iter_num']})")
    side_by_side(grids, titles, os.path.join(eval_dir, 'generated_first_last.png'))

    report = dict(checkpoint=ckpt_path, iter_num=ckpt['iter_num'], train_seconds=ckpt.get('elapsed', float('nan')),
                  machine=machine(), classification=cls, trail=trail, generation=generation,
                  tokenizer_ceiling=ceiling, real_floor_fid=floor,
                  judge=dict(path=judge_ckpt, test_accuracy=judge_acc),
                  train_config=ckpt.get('config'), eval_config=config, data_dir=data_dir, vqvae_ckpt=vqvae_ckpt,
                  data_meta={k: meta[k] for k in ('vocab_size', 'seq_len', 'tokens_per_image', 'num_codes')},
                  resources=resources())
    with open(os.path.join(eval_dir, 'results.json'), 'w') as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(eval_dir, 'report.md'), 'w') as f:
        f.write(markdown(report))
    print(f"wrote {os.path.join(eval_dir, 'report.md')} and results.json")


if __name__ == '__main__':
    main()
