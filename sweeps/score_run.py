"""Score one sweep run in one JSON line: validation accuracy (what a recipe is chosen by), then, for
the record, test accuracy of ckpt.pt and of every ckpt_<iter>.pt and drawing (1000 digits) at
T=1.0, T=0.7 and T=1.0 with top_k=20, without guidance.

    python -m sweeps.score_run --name=A1 --run_dir=RUN --out=RESULTS.jsonl [--ceil=True]

--ceil=True adds the tokenizer's ceiling (judge accuracy, MSE and FID of reconstructions).
"""
import json

import numpy as np

from common.configurator import configure
from common.runtime import pick_device
from eval.judge import JUDGE_CKPT
from eval.report import Evaluation
from eval.scores import reconstruction_ceiling
from nanogpt.vlm import VLM
from tasks.draw import DRAW
from tasks.read import READ

# -----------------------------------------------------------------------------
name = ''
run_dir = ''
judge_ckpt = JUDGE_CKPT
out = 'sweeps/results/sweep.jsonl'
ceil = False
# -----------------------------------------------------------------------------


def trail(ev):
    """(iteration, seconds, accuracy) of every snapshot of the run on the evaluation's pictures."""
    return [[it, t, float((READ.predict(engine, ev.seen) == ev.labels).mean())] for it, t, engine in ev.snapshots()]


configure(globals())
vlm = VLM.from_pretrained(run_dir, device=pick_device('auto'))
info = vlm.info
res = dict(name=name, iter=info['iter_num'], elapsed=info.get('elapsed'), config={k: info['train_config'].get(k) for k in
           ('n_layer', 'n_embd', 'batch_size', 'learning_rate', 'max_iters', 'answer_weight', 'dataset', 'seed')})
val = Evaluation(vlm, judge_ckpt, 'val', memorisation=False)
res['val_acc'] = float((READ.predict(val.engine, val.seen) == val.labels).mean())
res['val_trail'] = trail(val)
ev = Evaluation(vlm, judge_ckpt, 'test', memorisation=False)  # not part of a sweep's score
res['acc'] = float((READ.predict(ev.engine, ev.seen) == ev.labels).mean())
res['trail'] = trail(ev)
if ceil:
    ceiling = reconstruction_ceiling(ev.judge, vlm.tokenizer, ev.pictures, ev.labels, ev.real_feats, vlm.device)[1]
    res['ceiling'] = {k: ceiling[k] for k in ('judge_accuracy', 'fid', 'mse')}
gen_labels = np.repeat(np.arange(10), 100)
for key, temperature, top_k in (('t1', 1.0, None), ('t07', 0.7, None), ('t1k20', 1.0, 20)):
    g = DRAW.scored(ev, gen_labels, temperature=temperature, top_k=top_k, guidance=0.0, seed=1337)[0]
    res[key] = dict(acc=g['judge_accuracy'], fid=g['fid'], distinct=g['distinct'])
print(json.dumps(res), flush=True)
with open(out, 'a') as f:
    f.write(json.dumps(res) + '\n')
