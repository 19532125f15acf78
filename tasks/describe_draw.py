"""describe_draw: a picture drawn from a folder's own caption, its letters after 'describe: <caption>, image:'.

    describe: a small red circle at the top left on green, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ....

describe's other direction (tasks/describe.py), trained on every picture with a caption. Scored
(results.json's `describe_draw`) on the true captions of held-out pictures that name their label
(the label's words, once: 'red circle' in 'a small red circle at the top left'), captions_per_label
of each label, drawn with and without guidance: the judge reads the label of each drawing. Without
looking: the same drawings against the labels shuffled.
"""
import numpy as np

from common.pictures import save_grid
from tasks.base import Task, label_accuracy, placeholder
from tasks.caption import find_one
from tasks.describe import filler


class DescribeDraw(Task):
    name, key, weighted, draws = 'describe_draw', 'describe_draw', False, True
    meta_keys = ('captions',)
    question = ', image:'

    def prompt(self, caption):
        return f"describe: {caption}{self.question}"

    def records(self, sample, meta, rng=None, pool=None):
        return [(self.prompt(sample.text), sample.picture)] if sample.text else []

    def texts(self, meta):
        c = meta['captions']
        return [self.prompt(f) + placeholder(meta, 0).picture + '.' for f in filler(c['chars'], c['longest'])]

    def evaluate(self, ev):
        meta, c = ev.meta, ev.config
        truth = ev.captions or []
        named = np.array([find_one(t, meta['labels']) if t else -1 for t in truth])
        pick = np.concatenate([np.flatnonzero((ev.labels == d) & (named == d))[:c['captions_per_label']]
                               for d in range(len(meta['labels']))]).astype(np.int64)
        if not len(pick):
            raise SystemExit(f"error: no caption of {ev.dataset}'s {ev.split} pictures names its label: describe_draw "
                             "cannot be judged; write the label's words in the captions")
        labels, prompts = ev.labels[pick], [self.prompt(truth[i]) for i in pick]
        shuffled = np.random.default_rng(c['seed']).permutation(labels)
        res = {}
        for key, w in (('plain', 0.0), ('guided', c['guidance'])):
            codes = ev.engine.draw(prompts, seed=c['seed'], temperature=c['temperature'], guidance=w)
            images, _ = ev.vlm.decode(codes)
            judged = ev.judge_reads(ev.judge_features(images))
            acc = label_accuracy(judged, labels, len(meta['labels']))
            res[key] = dict(n=len(pick), label_accuracy=acc['accuracy'], label_ci95=acc['ci95'],
                            shuffled_accuracy=float((judged == shuffled).mean()), temperature=c['temperature'],
                            guidance=w)
            print(f"describe_draw ({key}): label judged as named {acc['accuracy']:.4f} (labels shuffled "
                  f"{res[key]['shuffled_accuracy']:.4f})")
            if key == 'guided' and ev.eval_dir:
                rows = np.concatenate([np.flatnonzero(labels == d)[:10] for d in range(min(20, len(meta['labels'])))])
                save_grid(images[rows], min(20, len(meta['labels'])), f"{ev.eval_dir}/describe_drawn.png")
        return res

    def report(self, r, ev):
        c = ev.config
        return [
            f"## Draw from a caption of one's own ({r['plain']['n']:,} true captions of {ev.split} pictures that name "
            f"their label, up to {c['captions_per_label']} per label, T={c['temperature']})", "",
            "| drawn | label judged as the caption names it | the labels shuffled |", "|---|---|---|",
            *(f"| {k}{', guidance ' + str(x['guidance']) if x['guidance'] else ''} | {x['label_accuracy']:.4f} | "
              f"{x['shuffled_accuracy']:.4f} |" for k, x in r.items()), "",
            "![drawn from the captions, a row per label, guided](describe_drawn.png)", ""]

    def rows(self, r):
        g = r['guided']
        return [('describe_draw', 'label judged as named, guided', f"{g['label_accuracy']:.4f}",
                 f"{g['shuffled_accuracy']:.4f} (labels shuffled)")]


DESCRIBE_DRAW = DescribeDraw()
