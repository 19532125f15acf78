"""Draw: prompt 'number:d, image:' (or 'word:coat, image:') and decode the letters with the run's VQ-VAE.

    python -m eval.generate [--out_dir=out/mnist_vlm] [--temperature=1.0] [--top_k=0] [--n_per_digit=10]
    python -m eval.generate --score=True --n_per_digit=100   # and judge them (eval/scores.py)
    python -m eval.generate --guidance=0                      # plain sampling, without classifier-free guidance

Decoding is batched and constrained to image letters after 'image:', so every record is
well formed. Writes a grid PNG (a row per label), the images as .npz (uint8 images,
prompted labels, codes) and a JSON of the settings and scores. `make eval` runs report_section.
"""
import os
import time

import numpy as np

from common.configurator import configure
from common.files import atomic_write, write_json
from common.pictures import save_grid, side_by_side, tile
from common.runtime import pick_device
from data.mnist_vlm.decode import GUIDANCE
from eval.judge import JUDGE_CKPT
from eval.scores import generation_scores
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
out_dir = RUN_DIR
ckpt = 'ckpt.pt'  # file name inside out_dir
n_per_digit = 10
temperature = 1.0
top_k = 0  # 0: no top-k cut
guidance = GUIDANCE  # classifier-free guidance weight (data/mnist_vlm/tasks.py); 0: plain sampling
constrained = True
seed = 1337
device = 'auto'
name = 'generated'  # output file stem inside out_dir/eval
score = False  # judge the generated images: accuracy, FID, diversity, memorisation
judge_ckpt = JUDGE_CKPT
# -----------------------------------------------------------------------------


def scored_draw(vlm, ev, labels, **sampling):
    """Draw one image per label and score the drawings against the real test digits."""
    t0 = time.time()
    codes, images, _ = vlm.draw(labels, **sampling)
    seconds = time.time() - t0
    res = generation_scores(ev.judge, images, labels, codes, ev.real_feats, ev.test_labels, ev.train_strings,
                            vlm.meta['image_alphabet'], vlm.device)
    res.update(sampling, seconds=seconds)
    return res, codes, images


def gen_row(name, g):
    return (f"| {name} | {g['judge_accuracy']:.4f} | {g['fid']:.2f} | {g['distinct']} of {g['n']} | "
            f"{g['memorised']:.2%} | {g['well_formed']:.0%} |")


def report_section(vlm, ev):
    """`make eval`'s drawing section: T, a sharper T, T with guidance, greedy; results and markdown lines."""
    c = ev.config
    labels = np.repeat(np.arange(10), c['n_per_digit'])
    runs = dict(t=(c['temperature'], 0.0), low_t=(c['low_temperature'], 0.0), guided=(c['temperature'], c['guidance']),
                greedy=(0.0, 0.0))
    res, images = {}, {}
    for key, (temp, w) in runs.items():
        res[key], _, images[key] = scored_draw(vlm, ev, labels, temperature=temp, guidance=w,
                                               top_k=c['top_k'] or None, seed=c['seed'])
        g = res[key]
        print(f"generation T={temp}" + (f", guidance {w}" if w else '') + f": judge accuracy {g['judge_accuracy']:.4f}, "
              f"FID {g['fid']:.2f}, {g['distinct']} distinct of {g['n']}, memorised {g['memorised']:.2%} "
              f"({g['seconds']:.1f}s)")
    atomic_write(os.path.join(ev.eval_dir, 'generated.npz'),
                 lambda f: np.savez(f, images=images['guided'], labels=labels))
    # a row per label: real test images, the earliest trained snapshot and ckpt.pt, both drawn as in the guided row
    grid_labels = np.repeat(np.arange(10), 10)
    real = np.concatenate([np.flatnonzero(ev.test_labels == d)[:10] for d in range(10)])
    grids, titles = [tile(ev.test_images[real], 10)], ['real test images']
    first = [(it, p) for it, p in vlm.snapshots() if it > 0]
    if first:
        gpt, _ = vlm.snapshot(first[0][1])
        grids.append(tile(vlm.draw(grid_labels, gpt, temperature=c['temperature'], guidance=c['guidance'],
                                   seed=c['seed'])[1], 10))
        titles.append(f'iteration {first[0][0]}')
    idx = np.concatenate([np.flatnonzero(labels == d)[:10] for d in range(10)])
    grids.append(tile(images['guided'][idx], 10))
    titles.append(f"ckpt.pt (iteration {vlm.ckpt['iter_num']})")
    side_by_side(grids, titles, os.path.join(ev.eval_dir, 'generated_first_last.png'))
    top = f", top_k={c['top_k']}" if c['top_k'] else ''
    t = res['t']
    lines = [
        "## Drawing (judged on the decoded images)", "",
        f"{t['n'] // 10} images per label. FID is the Fréchet distance to the real test images in the judge's 128 "
        f"penultimate features; two random halves of the real test set are {ev.floor:.2f} apart (the floor). "
        "A random guess of the judge would read 0.10 as prompted.", "",
        "| images | judge accuracy | FID | distinct token strings | in train.txt verbatim | well formed |",
        "|---|---|---|---|---|---|",
        *(gen_row(f"generated, T={res[k]['temperature']}{top}" + (f", guidance {res[k]['guidance']}"
                                                                 if res[k]['guidance'] else ''), res[k])
          for k in ('t', 'low_t', 'guided')),
        gen_row("generated, greedy", res['greedy']),
        f"| VQ-VAE reconstructions of the test set (the ceiling) | {ev.ceiling['judge_accuracy']:.4f} | "
        f"{ev.ceiling['fid']:.2f} | - | - | - |", "",
        f"Per label at T={c['temperature']}: " + ', '.join(
            f"{vlm.meta['labels'][p['digit']]}: {p['judge_accuracy']:.2f} (FID {p['fid']:.1f}, "
            f"{p['distinct']} distinct)" for p in t['per_digit']), "",
        f"![real test images, then drawn ones at the first and last checkpoint, a row per label, guidance "
        f"{c['guidance']}](generated_first_last.png)", ""]
    return res, lines


def main():
    config = configure(globals())
    vlm = VLM.load(out_dir, ckpt=ckpt, device=pick_device(device))
    labels = np.repeat(np.arange(10), n_per_digit)
    sampling = dict(temperature=temperature, top_k=top_k or None, guidance=guidance, constrained=constrained, seed=seed)
    codes, images, ok = vlm.draw(labels, **sampling)
    eval_dir = os.path.join(out_dir, 'eval')
    save_grid(images, 10, os.path.join(eval_dir, f'{name}.png'))
    atomic_write(os.path.join(eval_dir, f'{name}.npz'), lambda f: np.savez(f, images=images, labels=labels, codes=codes))
    res = dict(n=len(labels), well_formed=float(ok.mean()), distinct=int(len({tuple(c) for c in codes})), config=config)
    if score:
        from eval.scores import real_digits
        ev = real_digits(vlm, judge_ckpt)
        res['scores'] = generation_scores(ev.judge, images, labels, codes, ev.real_feats, ev.test_labels,
                                          ev.train_strings, vlm.meta['image_alphabet'], vlm.device)
        sc = res['scores']
        print(f"judge accuracy {sc['judge_accuracy']:.4f}, FID {sc['fid']:.2f}, {sc['distinct']} distinct, "
              f"memorised {sc['memorised']:.2%}; per label: "
              + ', '.join(f"{vlm.meta['labels'][p['digit']]}: {p['judge_accuracy']:.2f}" for p in sc['per_digit']))
    write_json(os.path.join(eval_dir, f'{name}.json'), res)
    print(f"generated {len(labels)} images at temperature {temperature}, guidance {guidance}: {ok.mean():.1%} well "
          f"formed, {res['distinct']} distinct token strings -> {os.path.join(eval_dir, name + '.png')}")


if __name__ == '__main__':
    main()
