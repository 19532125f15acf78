"""caption: the label as a word and each attribute's level, facts measured from the pixels, so every caption
is scored.

    image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, caption: a small thick seven, tilted right.

A caption says the label (as a word) and each attribute's level (tasks/attributes.py: three levels
per attribute, cut at the terciles of the training pictures), in one of a few phrasings, so that a
model drawing from a caption (tasks/caption_draw.py) must read its words, not the position of a word
in one template. Captions are parsed by their words (a level, or a label, written exactly once), so
any phrasing the model writes is scored. Every picture of the split is captioned (greedy); label,
each attribute and all of them (exact match) against the truth measured from its pixels; baselines:
the commonest label, and the commonest level of each attribute among training pictures.
"""
import re

import numpy as np

from common.stats import wilson_interval
from tasks.attributes import LEVELS, measure, to_levels
from tasks.base import IMAGE_PREFIX, Task, label_accuracy, placeholder

# the attributes' words in order: the dataset's three attributes (tasks/attributes.py), then the label
PHRASINGS = ('a {0} {1} {label}, {2}', '{label}: {0}, {1}, {2}', 'a {1} {label}, {2} and {0}')


def _phrase(words):
    """A pattern that finds a word or phrase only whole: not 'shirt' inside 'T-shirt/top'."""
    return re.compile(r'(?<![\w/-])' + re.escape(words) + r'(?![\w/-])')


def find_one(text, choices):
    """The index of the one choice the text says, or -1 when it says none or more than one."""
    said = [i for i, c in enumerate(choices) if _phrase(c).search(text or '')]
    return said[0] if len(said) == 1 else -1


def measured_levels(images, meta):
    """Each attribute's level (0, 1, 2) of each picture, cut where the training pictures' terciles are."""
    return to_levels(measure(images, meta['dataset']), meta['attribute_cuts'])


def blind_level(levels):
    """The commonest level of each attribute (among training pictures): what a caption says without looking."""
    return {a: int(np.bincount(v, minlength=3).argmax()) for a, v in levels.items()}


class Caption(Task):
    name, key, weighted = 'caption', 'caption', True
    meta_keys = ('attributes', 'label_words')
    question = ', caption: '

    def caption(self, label, attrs, meta, phrasing):
        words = [LEVELS[a][attrs[a]] for a in meta['attributes']]
        return PHRASINGS[phrasing].format(*words, label=meta['label_words'][label])

    def every_caption(self, meta):
        """(label, attrs, phrasing) of every caption there is: the labels x 27 levels x the phrasings."""
        names = meta['attributes']
        for label in range(len(meta['labels'])):
            for flat in range(3 ** len(names)):
                attrs = {a: flat // 3 ** i % 3 for i, a in enumerate(names)}
                for k in range(len(PHRASINGS)):
                    yield label, attrs, k

    def prompt(self, picture):
        return f"{IMAGE_PREFIX}{picture}{self.question}"

    def records(self, sample, meta, rng=None, pool=None):
        k = int(rng.integers(len(PHRASINGS))) if rng is not None else 0
        return [(self.prompt(sample.picture), self.caption(sample.label, sample.attrs, meta, k))]

    def texts(self, meta):
        ph = placeholder(meta, 0).picture
        return [self.prompt(ph) + self.caption(d, attrs, meta, k) + '.' for d, attrs, k in self.every_caption(meta)]

    def parse(self, caption, meta):
        """(label index, {attribute: level}) a caption says; -1 for what it does not say exactly once."""
        return (find_one(caption, meta['label_words']),
                {a: find_one(caption, LEVELS[a]) for a in meta['attributes']})

    def score(self, captions, labels, levels, meta, blind):
        """Captions (None: unfinished) against the labels and the measured levels ({attribute: (N,)}), beside
        the commonest label and blind ({attribute: level} said without looking)."""
        parsed = [self.parse(c, meta) for c in captions]
        pred = np.array([p[0] for p in parsed])
        res = label_accuracy(pred, labels, len(meta['labels']))
        exact = pred == labels
        out = dict(n=len(labels), label_accuracy=res['accuracy'], label_ci95=res['ci95'],
                   label_blind_accuracy=float(np.bincount(labels).max() / max(1, len(labels))),
                   unparsed_rate=float(np.mean([c is None for c in captions])) if captions else 0.0, attributes={},
                   examples=[dict(caption=c, label=meta['label_words'][int(t)]) for c, t in zip(captions[:8], labels)])
        for a in meta['attributes']:
            said = np.array([p[1][a] for p in parsed])
            right = said == levels[a]
            exact &= right
            k = int(right.sum())
            out['attributes'][a] = dict(accuracy=k / max(1, len(right)), ci95=list(wilson_interval(k, len(right))),
                                        blind_accuracy=float((levels[a] == blind[a]).mean()))
        out['exact_match'] = float(exact.mean()) if len(exact) else 0.0
        return out

    def evaluate(self, ev):
        meta = ev.meta
        prompts = [self.prompt(p) for p in ev.seen.texts]
        # the longest caption and its '.' (the picture's length in letters: records are as long as letters make them)
        longest = max(len(t) for t in self.texts(meta)) - len(self.prompt(placeholder(meta, 0).picture))
        captions = ev.engine.complete(prompts, longest, ev.seen.images)
        blind = blind_level(measured_levels(ev.train_pictures, meta))
        res = self.score(captions, ev.labels, measured_levels(ev.pictures, meta), meta, blind)
        res['blind_levels'] = {a: LEVELS[a][v] for a, v in blind.items()}
        print(f"caption: label accuracy {res['label_accuracy']:.4f}, exact match {res['exact_match']:.4f}, "
              + ', '.join(f"{a} {r['accuracy']:.4f} (blind {r['blind_accuracy']:.4f})"
                          for a, r in res['attributes'].items()))
        return res

    def report(self, r, ev):
        lo, hi = r['label_ci95']
        return [
            f"## Caption (all {r['n']:,} {ev.split} pictures, greedy; parsed by their words)", "",
            "| measure | model | without looking |", "|---|---|---|",
            f"| label | {r['label_accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}) | {r['label_blind_accuracy']:.4f} "
            "(the commonest label) |",
            *(f"| {a} ({', '.join(LEVELS[a])}) | {x['accuracy']:.4f} | {x['blind_accuracy']:.4f} (always "
              f"'{r['blind_levels'][a]}') |" for a, x in r['attributes'].items()),
            f"| exact match (label and every attribute) | {r['exact_match']:.4f} | - |",
            f"| captions with no '.' (unfinished) | {r['unparsed_rate']:.2%} | - |", "",
            "Examples: " + '; '.join(f"'{e['caption']}' ({e['label']})" for e in r['examples'][:5]), ""]

    def rows(self, r):
        return [('caption', 'label / exact match', f"{r['label_accuracy']:.4f} / {r['exact_match']:.4f}",
                 f"{r['label_blind_accuracy']:.4f} / -")] + [
            (f"caption: {a}", 'accuracy', f"{x['accuracy']:.4f}", f"{x['blind_accuracy']:.4f} (commonest level)")
            for a, x in r['attributes'].items()]


CAPTION = Caption()
