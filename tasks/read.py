"""read: the label of a picture, the likeliest of the labels after 'image:<picture>, number:'.

    image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, number:5.        labels as digits
    image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, word:ankle boot.  labels as words (prepare's labels='words')
    image:□, number:5.                        a model that reads pixels: the picture's vector in its place

Scored on every picture of the split (results.json's `classification`): accuracy with its 95% CI
against the commonest label, per-label accuracy, the confusions, and how often free decoding writes
something that is not a label. The report plots accuracy against iteration from the run's snapshots.
"""
import os
import time

import numpy as np

from common.pictures import confusion_heatmap, plot_trail
from common.stats import wilson_interval
from tasks.base import IMAGE_PREFIX, Task, label_accuracy, label_texts


class Read(Task):
    name, key, weighted = 'read', 'classification', True

    def question(self, meta):
        return f", {meta['label_key']}:"

    def prompt(self, picture, meta):
        return f"{IMAGE_PREFIX}{picture}{self.question(meta)}"

    def records(self, sample, meta, rng=None, pool=None):
        return [(self.prompt(sample.picture, meta), meta['labels'][sample.label])]

    def texts(self, meta):
        return label_texts(self, meta)

    def scores(self, engine, seen):
        """Log-likelihood (N, labels) of each label after each picture (seen: vlm.see(pictures))."""
        meta = engine.meta
        return engine.score([self.prompt(p, meta) for p in seen.texts], meta['labels'], seen.images)

    def predict(self, engine, seen):
        """The label read from each picture, constrained to the labels: always a label index."""
        return self.scores(engine, seen).argmax(1).numpy()

    def free_answers(self, engine, seen):
        """What greedy decoding writes after each prompt, unconstrained, up to the '.' that ends an answer."""
        meta = engine.meta
        return engine.complete([self.prompt(p, meta) for p in seen.texts], max(len(a) for a in meta['labels']) + 1,
                               seen.images)

    def score(self, pred, labels, n_labels=10):
        """Accuracy, CI, per-label accuracy, confusion matrix and the commonest confusions."""
        res = label_accuracy(pred, labels, n_labels)
        cm = np.zeros((n_labels, n_labels), dtype=np.int64)
        np.add.at(cm, (labels, pred), 1)
        off = [(int(cm[t, p]), t, p) for t in range(n_labels) for p in range(n_labels) if t != p and cm[t, p]]
        return dict(res, confusion=cm.tolist(),
                    top_confusions=[dict(true=t, pred=p, count=c) for c, t, p in sorted(off, reverse=True)[:5]])

    def evaluate(self, ev):
        t0 = time.time()
        labels = ev.labels
        res = self.score(self.predict(ev.engine, ev.seen), labels, len(ev.meta['labels']))
        free = self.free_answers(ev.engine, ev.seen)
        res['free_non_label_rate'] = float(np.mean([a not in ev.meta['labels'] for a in free])) if free else 0.0
        res['seconds'] = time.time() - t0
        res['image_input'] = ev.vlm.image_input
        res['majority_baseline'] = float(np.bincount(labels).max() / len(labels))  # what answers without looking
        lo, hi = res['ci95']
        print(f"read ({ev.split}): accuracy {res['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}) on {res['n']:,} "
              f"pictures; free decoding answers something that is not a label {res['free_non_label_rate']:.2%} "
              "of the time; top confusions: " + ', '.join(f"{c['true']}->{c['pred']} ({c['count']})"
                                                         for c in res['top_confusions']))
        # accuracy against iteration, one point per trained snapshot; ckpt.pt's iteration is not read again
        res['trail'] = []
        for it, elapsed, engine in ev.snapshots():
            k = res['correct'] if it == ev.iter_num else int((self.predict(engine, ev.seen_by(engine)) == labels).sum())
            res['trail'].append([it, elapsed, k / len(labels), *wilson_interval(k, len(labels))])
            print(f"read at iteration {it}: {k / len(labels):.4f}")
        if res['trail']:
            plot_trail(res['trail'], os.path.join(ev.eval_dir, 'accuracy_vs_iter.png'), ev.split)
        confusion_heatmap(res['confusion'], os.path.join(ev.eval_dir, 'confusion.png'))
        return res

    def report(self, r, ev):
        names, split = ev.meta['labels'], ev.split
        lo, hi = r['ci95']
        return [
            f"## Read (all {split} pictures, the likeliest of the labels: {', '.join(names)}; pictures read as "
            f"{r['image_input']})", "",
            "| measure | value |", "|---|---|",
            f"| {split} accuracy | {r['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}), {r['correct']:,} of {r['n']:,} |",
            f"| majority-answer baseline (the commonest {split} label) | {r['majority_baseline']:.4f} |",
            "| answers that are not a label, constrained decoding | 0.00% (by construction) |",
            f"| answers that are not a label, free decoding | {r['free_non_label_rate']:.2%} |",
            f"| time to read all {r['n']:,} | {r['seconds']:.1f} s |", "",
            "Per-label accuracy: " + ', '.join(f"{name}: {a:.3f}" for name, a in zip(names, r['per_digit'])), "",
            "Top confusions (true->predicted): " + ', '.join(
                f"{names[x['true']]}->{names[x['pred']]} ({x['count']})" for x in r['top_confusions']), "",
            "| | |", "|---|---|",
            "| accuracy against iteration (95% CI band) | ![](accuracy_vs_iter.png) |",
            "| confusion matrix | ![](confusion.png) |", "", *self.matrix(r['confusion'])]

    def matrix(self, cm, most=20):
        """The confusion matrix as a table, up to `most` labels (past that, results.json and confusion.png hold it)."""
        if len(cm) > most:
            return [f"The confusion matrix of {len(cm)} labels is in results.json and confusion.png.", ""]
        return ["Confusion matrix (rows: true label, columns: predicted; labels by index):", "",
                "| | " + " | ".join(str(d) for d in range(len(cm))) + " |", "|---" * (len(cm) + 1) + "|",
                *(f"| **{d}** | " + " | ".join(str(v) for v in row) + " |" for d, row in enumerate(cm)), ""]

    def rows(self, r):
        return [('read', 'accuracy', f"{r['accuracy']:.4f}", f"{r['majority_baseline']:.4f} (commonest label)")]


READ = Read()
