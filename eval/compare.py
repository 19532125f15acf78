"""Compare runs on one table: `make seeds` (one recipe, several seeds: the mean and spread of the
headline), or recipes against each other on validation (sweeps/cpu_validation.sh).

    python -m eval.compare --runs=out/mnist_vlm,out/mnist_vlm_seed1338,out/mnist_vlm_seed1339
    python -m eval.compare --runs=out/a,out/b --split=val --out=out/compare.json   # to choose between recipes

For each run: the validation accuracy that chose its ckpt.pt, reading accuracy on all images of
`split`, and the judge's accuracy and FID (against the real digits of `split`) of 1000 drawn
digits at T=1.0, plain and with guidance; for runs whose data holds text (`make mix`), bits per
character on all of the held-out text too. Prints one row per run and the mean and standard
deviation over runs; writes --out. Recipes are compared with --split=val: the test digits are
for the final evaluation of the chosen one.
"""
import os

import numpy as np

from common.configurator import configure
from common.files import write_json
from common.runtime import pick_device
from data.mnist_vlm.tasks import GUIDANCE, READ
from eval.generate import scored_draw
from eval.judge import JUDGE_CKPT
from eval.scores import real_digits
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
runs = RUN_DIR  # comma-separated run folders
split = 'test'  # 'val' while choosing a recipe
judge_ckpt = JUDGE_CKPT
n_per_digit = 100
seed = 1337
out = ''  # '' writes seeds.json in the first run's folder
device = 'auto'
# -----------------------------------------------------------------------------
MEASURES = ('val_accuracy', 'accuracy', 'draw_t1', 'draw_t1_guided', 'fid_t1', 'fid_t1_guided')


def main():
    config = configure(globals())
    dev = pick_device(device)
    rows, ev, dataset = [], None, None
    asked = np.repeat(np.arange(10), n_per_digit)  # the digits drawn
    for run in runs.split(','):
        vlm = VLM.load(run, device=dev)
        dataset = dataset or vlm.meta['dataset']
        if vlm.meta['dataset'] != dataset:  # one set of real images and one judge score every run
            raise SystemExit(f"error: {run} was trained on {vlm.meta['dataset']} but {rows[0]['run']} on "
                             f"{dataset}; compare runs of one dataset")
        ev = ev or real_digits(vlm, judge_ckpt, split, memorisation=False)  # compare reports no memorisation
        codes, labels = vlm.split(split)  # this run's own tokens: runs may differ in their data
        acc = READ.evaluate(vlm.gpt, codes, labels, vlm.meta, device=dev)['accuracy']
        plain, guided = (scored_draw(vlm, ev, asked, temperature=1.0, guidance=w, seed=seed)[0]
                         for w in (0.0, GUIDANCE))
        rows.append(dict(run=run, seed=vlm.ckpt['config']['seed'], iter_num=vlm.ckpt['iter_num'],
                         gpt_seconds=vlm.ckpt['elapsed'], val_accuracy=vlm.ckpt['best_val_acc'], split=split,
                         accuracy=acc, draw_t1=plain['judge_accuracy'], draw_t1_guided=guided['judge_accuracy'],
                         fid_t1=plain['fid'], fid_t1_guided=guided['fid']))
        if vlm.meta.get('text'):
            rows[-1]['text_bits_per_char'] = vlm.bits_per_char()
        print(' '.join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()))
    summary = {k: dict(mean=float(np.mean([r[k] for r in rows])), std=float(np.std([r[k] for r in rows], ddof=1))
                       if len(rows) > 1 else 0.0, min=min(r[k] for r in rows), max=max(r[k] for r in rows))
               for k in MEASURES + ('text_bits_per_char',) if all(k in r for r in rows)}
    for k, s in summary.items():
        print(f"{k}: mean {s['mean']:.4f}, std {s['std']:.4f}, range {s['min']:.4f}-{s['max']:.4f} over {len(rows)} runs")
    write_json(out or os.path.join(runs.split(',')[0], 'seeds.json'), dict(runs=rows, summary=summary, config=config))


if __name__ == '__main__':
    main()
