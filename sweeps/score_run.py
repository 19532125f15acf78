"""Score one sweep run in one JSON line: validation accuracy (what a recipe is chosen by), then, for
the record, test accuracy of ckpt.pt and of every ckpt_<iter>.pt and drawing (1000 digits) at
T=1.0, T=0.7 and T=1.0 with top_k=20, without guidance.

    PYTHONPATH=. python sweeps/score_run.py --name=A1 --run_dir=RUN --out=RESULTS.jsonl [--ceil=True]

--ceil=True adds the tokenizer's ceiling (judge accuracy, MSE and FID of reconstructions).
"""
import json

import numpy as np

from common.configurator import configure
from common.runtime import pick_device
from data.mnist_vlm.tasks import READ
from eval.classify import accuracy_trail
from eval.generate import scored_draw
from eval.judge import JUDGE_CKPT
from eval.scores import reconstruction_ceiling, real_digits
from nanogpt.vlm import VLM

# -----------------------------------------------------------------------------
name = ''
run_dir = ''
judge_ckpt = JUDGE_CKPT
out = 'sweeps/results.jsonl'
ceil = False
# -----------------------------------------------------------------------------
configure(globals())
vlm = VLM.load(run_dir, device=pick_device('auto'))
ck = vlm.ckpt
res = dict(name=name, iter=ck['iter_num'], elapsed=ck.get('elapsed'), config={k: ck['config'].get(k) for k in
           ('n_layer', 'n_embd', 'batch_size', 'learning_rate', 'max_iters', 'answer_weight', 'dataset', 'seed')})
val_seen, val_labels = vlm.inputs('val')
res['val_acc'] = READ.evaluate(vlm.gpt, val_seen, val_labels, vlm.meta, device=vlm.device)['accuracy']
res['val_trail'] = [t[:3] for t in accuracy_trail(vlm, val_seen, val_labels)]
ev = real_digits(vlm, judge_ckpt, memorisation=False)  # not part of a sweep's score
res['acc'] = READ.evaluate(vlm.gpt, ev.seen, ev.labels, vlm.meta, device=vlm.device)['accuracy']
res['trail'] = [t[:3] for t in accuracy_trail(vlm, ev.seen, ev.labels)]
if ceil:
    ceiling = reconstruction_ceiling(ev.judge, vlm.vq, ev.test_images, ev.test_labels, ev.real_feats, vlm.device)[1]
    res['ceiling'] = {k: ceiling[k] for k in ('judge_accuracy', 'fid', 'mse')}
gen_labels = np.repeat(np.arange(10), 100)
for key, temperature, top_k in (('t1', 1.0, None), ('t07', 0.7, None), ('t1k20', 1.0, 20)):
    g = scored_draw(vlm, ev, gen_labels, temperature=temperature, top_k=top_k, guidance=0.0, seed=1337)[0]
    res[key] = dict(acc=g['judge_accuracy'], fid=g['fid'], distinct=g['distinct'])
print(json.dumps(res), flush=True)
with open(out, 'a') as f:
    f.write(json.dumps(res) + '\n')
