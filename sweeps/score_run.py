"""Score one sweep run as `make eval` would, in one JSON line: test accuracy of ckpt.pt and of every
ckpt_<iter>.pt, and generation (1000 digits) at T=1.0, T=0.7 and T=1.0 with top_k=20.

    python sweeps/score_run.py NAME RUN_DIR DATA_DIR VQVAE_CKPT JUDGE_CKPT RESULTS.jsonl [ceil]

`ceil` adds the tokenizer's ceiling (judge accuracy, MSE and FID of reconstructions).
"""
import json
import sys

import numpy as np

from data.mnist import load_split
from data.mnist_vlm.format import load_meta
from eval.classify import accuracy_trail, evaluate, load_split_codes
from eval.generate import draw
from eval.judge import load_judge
from eval.scores import generation_scores, judge_features, reconstruction_ceiling
from nanogpt.common import pick_device
from nanogpt.model import load_gpt
from vqvae.model import load_vqvae

name, run_dir, data_dir, vq_ckpt, judge_ckpt, out = sys.argv[1:7]
dev = pick_device('auto')
meta = load_meta(data_dir)
model, ckpt = load_gpt(f'{run_dir}/ckpt.pt', dev, meta['vocab_size'])
vq = load_vqvae(vq_ckpt, dev)
codes, labels = load_split_codes(data_dir, 'test')
res = dict(name=name, iter=ckpt['iter_num'], elapsed=ckpt.get('elapsed'), config={k: ckpt['config'].get(k) for k in
           ('n_layer', 'n_embd', 'batch_size', 'learning_rate', 'max_iters', 'answer_weight', 'data_dir')})
res['acc'] = evaluate(model, codes, labels, meta, dev)['accuracy']
res['trail'] = [t[:3] for t in accuracy_trail(run_dir, codes, labels, meta, dev)]
judge = load_judge(judge_ckpt, dev)
test_images, test_labels = load_split('test')
real_feats = judge_features(judge, test_images, dev)
if sys.argv[7:] == ['ceil']:
    ceiling = reconstruction_ceiling(judge, vq, test_images, test_labels, real_feats, dev)[1]
    res['ceiling'] = {k: ceiling[k] for k in ('judge_accuracy', 'fid', 'mse')}
gen_labels = np.repeat(np.arange(10), 100)
for key, temperature, top_k in (('t1', 1.0, 0), ('t07', 0.7, 0), ('t1k20', 1.0, 20)):
    gcodes, images, _ = draw(model, vq, meta, gen_labels, dev, temperature, top_k, True, 1337)
    g = generation_scores(judge, images, gen_labels, gcodes, real_feats, test_labels, set(), meta['image_alphabet'], dev)
    res[key] = dict(acc=g['judge_accuracy'], fid=g['fid'], distinct=g['distinct'])
print(json.dumps(res), flush=True)
with open(out, 'a') as f:
    f.write(json.dumps(res) + '\n')
