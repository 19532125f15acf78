"""What every task shares: the Task it derives from, one picture as the tasks see it, and label scores.

A task is one file of tasks/ holding one Task: its text form (`records`, `texts`), its prompt and
parsing, its evaluation and its part of the report. prepare (data/records/prepare.py) writes the
records of the tasks its config names and lists them in meta.json; training and `make eval` run
what meta.json lists. Model calls never happen here: `evaluate` gets an Evaluation (eval/report.py)
whose `engine` (nanogpt/engine.py) scores, completes and draws, and whose judge and FID measure
drawings. Adding a task is a file and a line in tasks/__init__.py (docs/tasks.md).
"""
from collections import namedtuple

import numpy as np

from common.stats import wilson_interval

IMAGE_PREFIX = 'image:'  # what opens a picture in every record that shows one

# one picture as the tasks see it: its text (its letters, or the placeholders of a model that reads pixels), its
# label index, its attribute levels ({name: 0|1|2}, for captions), its index among the split's pictures (where
# a record's pixels come from), and its caption of a folder's captions.jsonl ('' or None: none)
Sample = namedtuple('Sample', 'picture label attrs index text', defaults=(None, None, None))


class Task:
    name = ''          # the registry's key: meta.json's task list, task_mix, the page
    key = ''           # where its results go in results.json ('classification' for read: the checks read it)
    weighted = False   # whether answer_weight scales its answer in the loss (a written answer, not a picture)
    draws = False      # whether its answer is a picture: augmented copies teach it only with augment_draw
    meta_keys = ()     # vocabulary keys only this task reads (attributes, label words): kept out of meta.json else

    def records(self, sample, meta, rng=None, pool=None):
        """Its training records about one picture: (prompt, answer) pairs, a record being prompt + answer + '.';
        a third item, where there is one, lists the Sample.index of further pictures the prompt shows."""
        raise NotImplementedError

    def texts(self, meta):
        """Every record it can write, about placeholder letters: the vocabulary and the record length."""
        raise NotImplementedError

    def evaluate(self, ev):
        """Its score on the evaluation's split (ev: eval/report.py's Evaluation), as a JSON-able dict."""
        raise NotImplementedError

    def report(self, r, ev):
        """Its section of report.md: markdown lines."""
        return []

    def rows(self, r):
        """Its rows of the report's first table: (task, measure, model, without looking)."""
        return []


def placeholder(meta, label, attrs=None):
    """A Sample whose picture is the first image letter repeated: for a record's characters and length."""
    return Sample(meta['image_alphabet'][0] * meta['tokens_per_image'], label, attrs)


def label_texts(task, meta):
    """Every record of a task that writes only a label and a picture: one per label."""
    return [p + a + '.' for d in range(len(meta['labels'])) for p, a in task.records(placeholder(meta, d), meta)]


def label_accuracy(pred, labels, n_labels=10):
    """Accuracy with its 95% CI and accuracy per label, of predicted label indices against the truth."""
    n, k = len(labels), int((pred == labels).sum())
    lo, hi = wilson_interval(k, n)
    per_digit = [float((pred[labels == d] == d).mean()) if (labels == d).any() else float('nan')
                 for d in range(n_labels)]
    return dict(n=n, correct=k, accuracy=k / max(1, n), ci95=[lo, hi], per_digit=per_digit)


class Pool:
    """The pictures of one split that a record showing two draws its second from."""

    def __init__(self, samples):
        self.samples = samples
        labels = np.array([s.label for s in samples])
        self.by_label = [np.flatnonzero(labels == d) for d in range(int(labels.max()) + 1 if len(labels) else 0)]

    def draw(self, rng, label=None):
        idx = self.by_label[label] if label is not None and len(self.by_label[label]) else None
        return self.samples[int(rng.choice(idx)) if idx is not None else int(rng.integers(len(self.samples)))]
