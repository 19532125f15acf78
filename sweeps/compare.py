"""Compare runs on one table: seeds (one recipe, several seeds: the mean and spread of the headline),
heads (each image input over its seeds), or recipes against each other on validation (recipes.sh).

    python -m sweeps.compare --runs=out/mnist_letters,out/mnist_letters_seed1338,out/mnist_letters_seed1339
    python -m sweeps.compare --runs=out/a,out/b --split=val --out=out/compare.json   # to choose between recipes

For each run: the validation accuracy that chose its ckpt.pt, reading accuracy on all images of
`split` and images read per second, and the judge's accuracy and FID (against the real digits of
`split`) of 1000 drawn digits at T=1.0, plain and with guidance; its image input, parameters
(encoder, projector, GPT), milliseconds per training step (evaluations excluded) and validation
accuracy against training seconds (from its snapshots); for runs whose data holds text (the mix study),
bits per character on all of the held-out text too. Prints one row per run and the mean and
standard deviation over runs, per image input when there are several; writes --out. Recipes are
compared with --split=val: the test digits are for the final evaluation of the chosen one.
"""
import os
import time

import numpy as np
import torch

from common.configurator import configure
from common.files import write_json
from common.pictures import plot_curves
from common.runtime import pick_device
from eval.judge import JUDGE_CKPT
from eval.report import Evaluation
from nanogpt.engine import GUIDANCE
from nanogpt.vlm import VLM, snapshots
from tasks.draw import DRAW
from tasks.read import READ
from tasks.text import TEXT, load_text_ids

# -----------------------------------------------------------------------------
runs = 'out/mnist_letters'  # comma-separated run folders
split = 'test'  # 'val' while choosing a recipe
judge_ckpt = JUDGE_CKPT
n_per_digit = 100
seed = 1337
out = ''  # '' writes seeds.json in the first run's folder
device = 'auto'
# -----------------------------------------------------------------------------
MEASURES = ('val_accuracy', 'accuracy', 'draw_t1', 'draw_t1_guided', 'fid_t1', 'fid_t1_guided', 'ms_per_step',
            'read_images_per_s', 'text_bits_per_char')


def parameters(model):
    """Parameters of the encoder, the projector and the GPT (position embeddings included)."""
    parts = model.encoder.counts() if model.encoder is not None else dict(encoder=0, projector=0)
    return dict(parts, gpt=sum(p.numel() for p in model.gpt.parameters()))


def curve(vlm):
    """Validation accuracy against training seconds, from the run's snapshots: (iter, seconds, accuracy)."""
    out = []
    for it, path in snapshots(vlm.info['out_dir']):
        ck = torch.load(path, map_location='cpu', weights_only=True)
        out.append([it, round(ck.get('elapsed', float('nan')), 1), ck.get('val_acc')])
    return out


def summarize(rows):
    """Mean, standard deviation, range and count of each measure over the runs that have it."""
    out = {}
    for k in MEASURES:
        v = [r[k] for r in rows if r.get(k) is not None]
        if v:
            out[k] = dict(mean=float(np.mean(v)), std=float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                          min=min(v), max=max(v), n=len(v))
    return out


def head_to_head(rows, by_input):
    """docs/image_inputs.md's table: one row per image input, means over its runs."""
    lines = ["| image input | runs | test reading, mean (range) | parameters: encoder / projector / GPT | ms per "
             "training step | images read per s | drawn as prompted T=1 / guided | FID T=1 / guided |",
             "|---|---|---|---|---|---|---|---|"]
    for mode, s in by_input.items():
        p = next(r['parameters'] for r in rows if r['image_input'] == mode)
        m = lambda k, f='.4f': format(s[k]['mean'], f) if k in s else '-'
        lines.append(f"| {mode} | {s['accuracy']['n']} | {m('accuracy')} ({s['accuracy']['min']:.4f}-"
                     f"{s['accuracy']['max']:.4f}) | {p['encoder']:,} / {p['projector']:,} / {p['gpt']:,} | "
                     f"{m('ms_per_step', '.0f')} | {m('read_images_per_s', ',.0f')} | {m('draw_t1', '.3f')} / "
                     f"{m('draw_t1_guided', '.3f')} | {m('fid_t1', '.1f')} / {m('fid_t1_guided', '.1f')} |")
    return '\n'.join(lines)


def main():
    config = configure(globals())
    dev = pick_device(device)
    rows, dataset = [], None
    asked = np.repeat(np.arange(10), n_per_digit)  # the digits drawn
    for run in runs.split(','):
        vlm = VLM.from_pretrained(run, device=dev)
        dataset = dataset or vlm.vocab['dataset']
        if vlm.vocab['dataset'] != dataset:  # one set of real images and one judge score every run
            raise SystemExit(f"error: {run} was trained on {vlm.vocab['dataset']} but {rows[0]['run']} on "
                             f"{dataset}; compare runs of one dataset")
        ev = Evaluation(vlm, judge_ckpt, split, memorisation=False)  # compare reports no memorisation
        t0 = time.perf_counter()
        acc = float((READ.predict(ev.engine, ev.seen) == ev.labels).mean())
        per_s = len(ev.labels) / (time.perf_counter() - t0)
        plain, guided = (DRAW.scored(ev, asked, temperature=1.0, guidance=w, seed=seed)[0] for w in (0.0, GUIDANCE))
        info = vlm.info
        steps = info.get('train_seconds')
        rows.append(dict(run=run, image_input=vlm.image_input, seed=info['train_config']['seed'],
                         iter_num=info['iter_num'], gpt_seconds=info['elapsed'],
                         ms_per_step=None if steps is None else 1000 * steps / max(1, info['iter_num']),
                         val_accuracy=info['val_acc'], split=split, accuracy=acc, read_images_per_s=per_s,
                         draw_t1=plain['judge_accuracy'], draw_t1_guided=guided['judge_accuracy'],
                         fid_t1=plain['fid'], fid_t1_guided=guided['fid'], parameters=parameters(vlm),
                         val_curve=curve(vlm)))
        if vlm.vocab.get('text'):
            rows[-1]['text_bits_per_char'] = TEXT.bits_per_char(ev.engine, load_text_ids(ev.data_dir, 'val'),
                                                                vlm.vocab['seq_len'])
        print(' '.join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()
                       if k != 'val_curve'))
    summary = summarize(rows)
    modes = list(dict.fromkeys(r['image_input'] for r in rows))
    by_input = {m: summarize([r for r in rows if r['image_input'] == m]) for m in modes} if len(modes) > 1 else {}
    for title, s in [('all runs', summary)] + list(by_input.items()):
        for k, v in s.items():
            print(f"{title}: {k}: mean {v['mean']:.4f}, std {v['std']:.4f}, range {v['min']:.4f}-{v['max']:.4f} "
                  f"over {v['n']} runs")
    path = out or os.path.join(runs.split(',')[0], 'seeds.json')
    if by_input:
        print(head_to_head(rows, by_input))
        curves = {m: [[(t, a) for _, t, a in r['val_curve']] for r in rows if r['image_input'] == m] for m in modes}
        plot_curves(curves, os.path.splitext(path)[0] + '_curves.png')
    write_json(path, dict(runs=rows, summary=summary, by_image_input=by_input, config=config))


if __name__ == '__main__':
    main()
