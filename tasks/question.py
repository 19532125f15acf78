"""question: a templated question about one picture or two, its answer following from the labels.

    image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, is it more than 4? yes.
    image:<letters>, image:<letters>, what is their sum? 12.
    image:<letters>, image:<letters>, what is their sum? 5+7=12.    (question_work=True)
    image:<letters>, is it more than 4? 7: yes.                    (question_work=True)

A question is one of the dataset's templates below. Scored (results.json's `question`) by exact match
per template over one question about each picture of the split (a second picture of the split for
two-picture templates), against the blind answer: the commonest answer to that question among
training labels drawn as training draws them.
"""
import re
from collections import Counter, namedtuple

import numpy as np

from common.stats import wilson_interval
from tasks.base import IMAGE_PREFIX, Pool, Sample, Task, placeholder

# one question template: its name, how many pictures it shows, the values of its parameter k (None: no k), its text
# for a k, its answer from the labels shown, and the working written before that answer when the data asks for it
# (question_work): the labels read, so that a small model answers from what it has just written
Template = namedtuple('Template', 'name images ks ask answer work', defaults=(None,))
WORK_END = re.compile(r'=|: ')  # where a working ends and the answer begins


def _yes(b):
    return 'yes' if b else 'no'


FOOTWEAR, TOPS = (5, 7, 9), (0, 2, 4, 6)  # Fashion-MNIST: sandal, sneaker, ankle boot; T-shirt, pullover, coat, shirt
QUESTIONS = {
    'mnist': (
        Template('even', 1, (None,), lambda k: 'is it even?', lambda d, k: _yes(d[0] % 2 == 0)),
        Template('more', 1, tuple(range(9)), lambda k: f'is it more than {k}?', lambda d, k: _yes(d[0] > k),
                 lambda d, k: f'{d[0]}: '),
        Template('plus', 1, tuple(range(10)), lambda k: f'what is it plus {k}?', lambda d, k: str(d[0] + k),
                 lambda d, k: f'{d[0]}+{k}='),
        Template('two_image_sum', 2, (None,), lambda k: 'what is their sum?', lambda d, k: str(d[0] + d[1]),
                 lambda d, k: f'{d[0]}+{d[1]}='),
        Template('two_image_larger', 2, (None,), lambda k: 'which is larger?',
                 lambda d, k: 'first' if d[0] > d[1] else 'second' if d[1] > d[0] else 'same',
                 lambda d, k: f'{d[0]},{d[1]}: '),
        Template('two_image_same', 2, (None,), lambda k: 'are they the same?', lambda d, k: _yes(d[0] == d[1]),
                 lambda d, k: f'{d[0]},{d[1]}: '),
    ),
    'fashion_mnist': (
        Template('footwear', 1, (None,), lambda k: 'is it footwear?', lambda d, k: _yes(d[0] in FOOTWEAR)),
        Template('top', 1, (None,), lambda k: 'is it worn on top?', lambda d, k: _yes(d[0] in TOPS)),
        Template('two_image_same', 2, (None,), lambda k: 'are they the same?', lambda d, k: _yes(d[0] == d[1])),
    ),
}


class Question(Task):
    name, key, weighted = 'question', 'question', True
    meta_keys = ('question_work',)

    def templates(self, meta):
        if meta['dataset'] not in QUESTIONS:
            raise SystemExit(f"error: no questions are written for dataset {meta['dataset']!r}; use one of "
                             f"{', '.join(QUESTIONS)}, or leave 'question' out of the tasks")
        return QUESTIONS[meta['dataset']]

    def said(self, t, labels, k, meta):
        """The written answer: the working first where the data has it (question_work), then the answer."""
        work = t.work(labels, k) if meta.get('question_work') and t.work else ''
        return work + t.answer(labels, k)

    def final(self, text):
        """The answer a written answer ends with, its working (if any) cut off; None stays None."""
        return None if text is None else WORK_END.split(text)[-1]

    def prompt(self, pictures, ask):
        return ''.join(f"{IMAGE_PREFIX}{p}, " for p in pictures) + ask + ' '

    def ask(self, t, sample, pool, rng):
        """A question of template t about the sample (and a second picture from the pool): its prompt, labels
        shown, k and the samples shown. 'are they the same?' is asked of a pair of one label half of the time,
        so that 'no' is not a free answer."""
        k = t.ks[int(rng.integers(len(t.ks)))]
        same = t.name.endswith('same') and rng.random() < 0.5
        shown = [sample] + ([pool.draw(rng, sample.label if same else None)] if t.images == 2 else [])
        return self.prompt([s.picture for s in shown], t.ask(k)), [s.label for s in shown], k, shown

    def records(self, sample, meta, rng=None, pool=None):
        """One question about the sample: (prompt, answer, the indices of the pictures shown after the sample's)."""
        templates = self.templates(meta)
        t = templates[int(rng.integers(len(templates)))]
        prompt, labels, k, shown = self.ask(t, sample, pool, rng)
        return [(prompt, self.said(t, labels, k, meta), tuple(s.index for s in shown[1:]))]

    def texts(self, meta):
        ph = placeholder(meta, 0).picture
        n = len(meta['labels'])
        return [self.prompt([ph] * t.images, t.ask(k)) + self.said(t, (a, b), k, meta) + '.'
                for t in self.templates(meta) for k in t.ks for a in range(n) for b in range(n)]

    def asked(self, template, samples, rng):
        """One question of this template per sample (a random k; a second picture from the same samples):
        prompts, right answers, the keys (k) of the questions, and the samples' indices of the pictures each
        shows (N, template.images)."""
        pool = Pool(samples)
        asked = [self.ask(template, s, pool, rng) for s in samples]
        return ([a[0] for a in asked], [template.answer(a[1], a[2]) for a in asked], [a[2] for a in asked],
                np.array([[s.index for s in a[3]] for a in asked]))

    def blind_answers(self, template, train_labels, rng, n=20000):
        """The commonest answer to each of this template's questions (by k) among pairs of training labels
        drawn as training draws them."""
        samples = [Sample('', int(d)) for d in train_labels[rng.integers(len(train_labels), size=n)]]
        _, answers, keys, _ = self.asked(template, samples, rng)
        counts = Counter(zip(keys, answers))
        return {k: max((c, a) for (q, a), c in counts.items() if q == k)[1] for k in set(keys)}

    def evaluate(self, ev):
        meta, out, n = ev.meta, {}, len(ev.meta['labels'])
        samples = [Sample(p, int(d), index=i) for i, (p, d) in enumerate(zip(ev.seen.texts, ev.labels))]
        for t in self.templates(meta):
            rng = np.random.default_rng(ev.config['seed'])
            prompts, answers, keys, shown = self.asked(t, samples, rng)
            blind = self.blind_answers(t, ev.train_labels, np.random.default_rng(ev.config['seed'] + 1))
            longest = max(len(self.said(t, (a, b), k, meta)) for k in t.ks for a in range(n) for b in range(n))
            images = None if ev.seen.images is None else np.asarray(ev.seen.images)[shown]
            said = ev.engine.complete(prompts, longest + 1, images)
            right = np.array([self.final(s) == a for s, a in zip(said, answers)])
            k = int(right.sum())
            out[t.name] = dict(n=len(right), accuracy=k / max(1, len(right)), ci95=list(wilson_interval(k, len(right))),
                               blind_accuracy=float(np.mean([blind.get(q) == a for q, a in zip(keys, answers)])),
                               images=t.images,
                               example=f"{prompts[0].split(', ')[-1]}{said[0]} (right: {answers[0]})" if said else '')
            r = out[t.name]
            print(f"question {t.name}: {r['accuracy']:.4f} (blind {r['blind_accuracy']:.4f}); e.g. {r['example']}")
        return out

    def report(self, r, ev):
        return [
            f"## Question (one per {ev.split} picture and template, greedy; exact match)", "",
            "| question | pictures | model (95% CI) | blind (the commonest answer to it) | example |",
            "|---|---|---|---|---|",
            *(f"| {name} | {x['images']} | {x['accuracy']:.4f} ({x['ci95'][0]:.4f}-{x['ci95'][1]:.4f}) | "
              f"{x['blind_accuracy']:.4f} | {x['example']} |" for name, x in r.items()), ""]

    def rows(self, r):
        return [(f"question: {q}", 'exact match', f"{x['accuracy']:.4f}",
                 f"{x['blind_accuracy']:.4f} (commonest answer)") for q, x in r.items()]


QUESTION = Question()
