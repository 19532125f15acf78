"""Captions and questions whose every word is a fact measured from the pixels, so every answer is scored.

    caption:      image:<letters>, caption: a small thick seven, tilted right.
    caption_draw: caption: seven: small, thick, tilted right, image:<letters>.
    question:     image:<letters>, is it more than 4? yes.
                  image:<letters>, image:<letters>, what is their sum? 12.
                  image:<letters>, image:<letters>, what is their sum? 5+7=12.    (question_work=True)

A caption says the label (as a word) and each attribute's level (data/attributes.py: three levels
per attribute, cut at the terciles of the training images), in one of a few phrasings, so that a
model drawing from a caption must read its words, not the position of a word in one template.
A question is one of the dataset's templates below, over one image or two; its answer follows from
the labels. Captions are parsed by their words (a level, or a label, written exactly once), so
any phrasing the model writes is scored.
"""
import re
from collections import Counter, namedtuple

import numpy as np
import torch

from common.stats import wilson_interval
from data.attributes import LEVELS
from data.mnist_vlm.decode import (IMAGE_PREFIX, Sample, complete, draw_letters, image_input_of, label_accuracy,
                                   placeholder, prompt_images)
from data.mnist_vlm.format import encode, letters

# the attributes' words in order: the dataset's three attributes (data/attributes.py), then the label
PHRASINGS = ('a {0} {1} {label}, {2}', '{label}: {0}, {1}, {2}', 'a {1} {label}, {2} and {0}')


def _phrase(words):
    """A pattern that finds a word or phrase only whole: not 'shirt' inside 'T-shirt/top'."""
    return re.compile(r'(?<![\w/-])' + re.escape(words) + r'(?![\w/-])')


def find_one(text, choices):
    """The index of the one choice the text says, or -1 when it says none or more than one."""
    said = [i for i, c in enumerate(choices) if _phrase(c).search(text or '')]
    return said[0] if len(said) == 1 else -1


def blind_level(levels):
    """The commonest level of each attribute (among training images): what a caption says without looking."""
    return {a: int(np.bincount(v, minlength=3).argmax()) for a, v in levels.items()}


class Captioning:
    """Caption an image: its label as a word and each attribute's level, parsed from whatever is written."""
    name = 'caption'
    weighted = True
    meta_keys = ('attributes', 'label_words')
    question = ', caption: '

    def caption(self, label, attrs, meta, phrasing):
        words = [LEVELS[a][attrs[a]] for a in meta['attributes']]
        return PHRASINGS[phrasing].format(*words, label=meta['label_words'][label])

    def every_caption(self, meta):
        """(label, attrs, phrasing) of every caption there is: 10 labels x 27 levels x the phrasings."""
        names = meta['attributes']
        for label in range(10):
            for flat in range(3 ** len(names)):
                attrs = {a: flat // 3 ** i % 3 for i, a in enumerate(names)}
                for k in range(len(PHRASINGS)):
                    yield label, attrs, k

    def prompt(self, letters):
        return f"{IMAGE_PREFIX}{letters}{self.question}"

    def records(self, sample, meta, rng=None, pool=None):
        k = int(rng.integers(len(PHRASINGS))) if rng is not None else 0
        return [(self.prompt(sample.letters), self.caption(sample.label, sample.attrs, meta, k))]

    def texts(self, meta):
        ph = placeholder(meta, 0).letters
        return [self.prompt(ph) + self.caption(d, attrs, meta, k) + '.' for d, attrs, k in self.every_caption(meta)]

    def parse(self, caption, meta):
        """(label index, {attribute: level}) a caption says; -1 for what it does not say exactly once."""
        return (find_one(caption, meta['label_words']),
                {a: find_one(caption, LEVELS[a]) for a in meta['attributes']})

    def evaluate(self, model, seen, labels, levels, meta, *, blind, device='cpu'):
        """Caption every image (greedy), parse, score against the label and the measured levels. seen: what the
        model reads of the images, codes (N, T) or pixels (N, 28, 28); levels: {attribute: (N,) levels of these
        images}; blind: {attribute: level} said without looking."""
        codes, pixels = prompt_images(model, seen, meta)
        rows = [encode(self.prompt(letters(c, meta)), meta['stoi']) for c in codes]
        longest = max(len(t) for t in self.texts(meta)) - len(rows[0]) if rows else 1  # the caption and its "."
        captions = complete(model, rows, meta, longest, pixels=pixels, device=device)
        parsed = [self.parse(c, meta) for c in captions]
        pred = np.array([p[0] for p in parsed])
        res = label_accuracy(pred, labels)
        exact = pred == labels
        out = dict(n=len(labels), label_accuracy=res['accuracy'], label_ci95=res['ci95'],
                   label_blind_accuracy=float(np.bincount(labels, minlength=10).max() / max(1, len(labels))),
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


class CaptionDrawing:
    """Draw from a caption: the image letters after 'caption: <caption>, image:', decoded by the VQ-VAE;
    the judge reads the label and data/attributes.py measures each attribute of the drawing."""
    name = 'caption_draw'
    weighted = False
    meta_keys = ('attributes', 'label_words')
    question = ', image:'

    def prompt(self, caption):
        return f"caption: {caption}{self.question}"

    def records(self, sample, meta, rng=None, pool=None):
        k = int(rng.integers(len(PHRASINGS))) if rng is not None else 0
        return [(self.prompt(CAPTION.caption(sample.label, sample.attrs, meta, k)), sample.letters)]

    def texts(self, meta):
        ph = placeholder(meta, 0).letters
        return [self.prompt(CAPTION.caption(d, attrs, meta, k)) + ph + '.'
                for d, attrs, k in CAPTION.every_caption(meta)]

    def requests(self, labels, levels, meta, rng):
        """Prompt ids of one caption per (label, levels), each in a random phrasing."""
        names = meta['attributes']
        return [encode(self.prompt(CAPTION.caption(int(d), {a: int(levels[a][i]) for a in names}, meta,
                                                   int(rng.integers(len(PHRASINGS))))), meta['stoi'])
                for i, d in enumerate(labels)]

    def generate(self, model, labels, levels, meta, *, seed=0, **sampling):
        return draw_letters(model, self.requests(labels, levels, meta, np.random.default_rng(seed)), meta,
                            seed=seed, **sampling)

    def score(self, judged, labels, asked, measured, rng):
        """Label read as asked, and each attribute's agreement with what was asked, against the agreement
        with random requests (the asked levels shuffled: the same mix of levels, unrelated to the drawing)."""
        res = label_accuracy(judged, labels)
        out = dict(n=len(labels), label_accuracy=res['accuracy'], label_ci95=res['ci95'], attributes={})
        for a, want in asked.items():
            k = int((measured[a] == want).sum())
            out['attributes'][a] = dict(agreement=k / max(1, len(want)), ci95=list(wilson_interval(k, len(want))),
                                        random_agreement=float((measured[a] == rng.permutation(want)).mean()))
        return out


# one question template: its name, how many images it shows, the values of its parameter k (None: no k),
# its text for a k, its answer from the labels shown, and the working written before that answer when the data
# asks for it (question_work): the labels read, so that a small model answers from what it has just written
Template = namedtuple('Template', 'name images ks ask answer work', defaults=(None,))
WORK_END = re.compile(r'=|: ')  # where a working ends and the answer begins


def _yes(b):
    return 'yes' if b else 'no'


FOOTWEAR, TOPS = (5, 7, 9), (0, 2, 4, 6)  # Fashion-MNIST: sandal, sneaker, ankle boot; T-shirt, pullover, coat, shirt
QUESTIONS = {
    'mnist': (
        Template('even', 1, (None,), lambda k: 'is it even?', lambda d, k: _yes(d[0] % 2 == 0)),
        Template('more', 1, tuple(range(9)), lambda k: f'is it more than {k}?', lambda d, k: _yes(d[0] > k)),
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


class Pool:
    """The images of one split that a two-image question draws its second image from."""

    def __init__(self, samples):
        self.samples = samples
        labels = np.array([s.label for s in samples])
        self.by_label = [np.flatnonzero(labels == d) for d in range(10)]

    def draw(self, rng, label=None):
        idx = self.by_label[label] if label is not None and len(self.by_label[label]) else None
        return self.samples[int(rng.choice(idx)) if idx is not None else int(rng.integers(len(self.samples)))]


class Questioning:
    """Answer a templated question about one image or two; exact match of the answer, per template, against
    the blind answer (the commonest answer to that question among training images)."""
    name = 'question'
    weighted = True
    meta_keys = ('question_work',)

    def templates(self, meta):
        return QUESTIONS[meta['dataset']]

    def said(self, t, labels, k, meta):
        """The written answer: the working first where the data has it (question_work), then the answer."""
        work = t.work(labels, k) if meta.get('question_work') and t.work else ''
        return work + t.answer(labels, k)

    def final(self, text):
        """The answer a written answer ends with, its working (if any) cut off; None stays None."""
        return None if text is None else WORK_END.split(text)[-1]

    def prompt(self, images, ask):
        return ''.join(f"{IMAGE_PREFIX}{im}, " for im in images) + ask + ' '

    def ask(self, t, sample, pool, rng):
        """A question of template t about the sample (and a second image from the pool): its prompt, answer
        and k. 'are they the same?' is asked of a pair of one label half of the time, so that 'no' is not a
        free answer."""
        k = t.ks[int(rng.integers(len(t.ks)))]
        same = t.name.endswith('same') and rng.random() < 0.5
        shown = [sample] + ([pool.draw(rng, sample.label if same else None)] if t.images == 2 else [])
        return self.prompt([s.letters for s in shown], t.ask(k)), [s.label for s in shown], k, shown

    def records(self, sample, meta, rng=None, pool=None):
        """One question about the sample: (prompt, answer, the indices of the pictures shown after the sample's)."""
        templates = self.templates(meta)
        t = templates[int(rng.integers(len(templates)))]
        prompt, labels, k, shown = self.ask(t, sample, pool, rng)
        return [(prompt, self.said(t, labels, k, meta), tuple(s.index for s in shown[1:]))]

    def texts(self, meta):
        ph = placeholder(meta, 0).letters
        return [self.prompt([ph] * t.images, t.ask(k)) + self.said(t, (a, b), k, meta) + '.'
                for t in self.templates(meta) for k in t.ks for a in range(10) for b in range(10)]

    def asked(self, template, samples, rng):
        """One question of this template per sample (a random k; a second image from the same samples):
        prompts (strings), right answers, the keys (name, k) of the questions, and the samples' indices of
        the pictures each shows (N, template.images)."""
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

    def evaluate(self, model, samples, train_labels, meta, *, pictures=None, device='cpu', seed=0):
        """Exact match per template over one question about each sample, with its blind baseline. For a model
        that reads pixels, `pictures` (N, 28, 28) are the samples' (by Sample.index; their letters are
        placeholders)."""
        out = {}
        for t in self.templates(meta):
            rng = np.random.default_rng(seed)
            prompts, answers, keys, shown = self.asked(t, samples, rng)
            blind = self.blind_answers(t, train_labels, np.random.default_rng(seed + 1))
            rows = [encode(p, meta['stoi']) for p in prompts]
            longest = max(len(self.said(t, (a, b), k, meta)) for k in t.ks for a in range(10) for b in range(10))
            pixels = None if image_input_of(model) == 'letters' else torch.as_tensor(pictures)[shown]
            said = complete(model, rows, meta, longest + 1, pixels=pixels, device=device)
            right = np.array([self.final(s) == a for s, a in zip(said, answers)])
            k = int(right.sum())
            out[t.name] = dict(n=len(right), accuracy=k / max(1, len(right)), ci95=list(wilson_interval(k, len(right))),
                               blind_accuracy=float(np.mean([blind.get(q) == a for q, a in zip(keys, answers)])),
                               images=t.images,
                               example=f"{prompts[0].split(', ')[-1]}{said[0]} (right: {answers[0]})" if said else '')
        return out


CAPTION, CAPTION_DRAW, QUESTION = Captioning(), CaptionDrawing(), Questioning()
