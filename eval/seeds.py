"""`make seeds`: the default run's headline numbers over several seeds, as a mean and a spread.

    python -m eval.seeds --runs=out/mnist_vlm,out/mnist_vlm_seed1338,out/mnist_vlm_seed1339

For each run: the validation accuracy that chose its ckpt.pt, test reading accuracy on all
test digits, and the judge's accuracy on 1000 drawn digits at T=1.0, plain and with guidance.
Prints one row per run and the mean and standard deviation over runs; writes --out.
"""
import numpy as np

from common.configurator import configure
from common.files import write_json
from common.runtime import pick_device
from data.mnist_vlm.tasks import GUIDANCE, READ
from eval.generate import scored_draw
from eval.scores import test_context
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
runs = RUN_DIR  # comma-separated run folders
judge_ckpt = 'out/judge/ckpt.pt'
n_per_digit = 100
seed = 1337
out = 'out/mnist_vlm/seeds.json'
device = 'auto'
# -----------------------------------------------------------------------------
MEASURES = ('val_accuracy', 'test_accuracy', 'draw_t1', 'draw_t1_guided')


def main():
    config = configure(globals())
    dev = pick_device(device)
    rows, ev = [], None
    labels = np.repeat(np.arange(10), n_per_digit)
    for run in runs.split(','):
        vlm = VLM.load(run, device=dev)
        ev = ev or test_context(vlm, judge_ckpt)
        acc = READ.evaluate(vlm.gpt, ev.codes, ev.labels, vlm.meta, device=dev)['accuracy']
        plain, guided = (scored_draw(vlm, ev, labels, temperature=1.0, guidance=w, seed=seed)[0]['judge_accuracy']
                         for w in (0.0, GUIDANCE))
        rows.append(dict(run=run, seed=vlm.ckpt['config']['seed'], iter_num=vlm.ckpt['iter_num'],
                         gpt_seconds=vlm.ckpt['elapsed'], val_accuracy=vlm.ckpt['best_val_acc'],
                         test_accuracy=acc, draw_t1=plain, draw_t1_guided=guided))
        print(' '.join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()))
    summary = {k: dict(mean=float(np.mean([r[k] for r in rows])), std=float(np.std([r[k] for r in rows], ddof=1))
                       if len(rows) > 1 else 0.0, min=min(r[k] for r in rows), max=max(r[k] for r in rows))
               for k in MEASURES}
    for k, s in summary.items():
        print(f"{k}: mean {s['mean']:.4f}, std {s['std']:.4f}, range {s['min']:.4f}-{s['max']:.4f} over {len(rows)} runs")
    write_json(out, dict(runs=rows, summary=summary, config=config))


if __name__ == '__main__':
    main()
