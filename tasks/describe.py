"""describe: a picture's own caption, from a folder's captions.jsonl, written after 'image:<picture>, describe: '.

    image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ..., describe: a small red circle at the top left on green.

The caption task of seed 003 (Flickr8k captions through a ViT and a small LM), made small and
measured: only pictures with a caption have records. Scored on every held-out picture with a caption
(results.json's `describe`): exact match of the greedy caption, and bits per character of the true
caption (and its '.'), teacher-forced. Without looking: the same model shown a black picture (both
measures), and the commonest training caption (exact match).
"""
import math
from collections import Counter

import numpy as np

from tasks.base import IMAGE_PREFIX, Task, placeholder


def filler(chars, longest):
    """Strings of `longest` characters that hold every caption character: the vocabulary and record length."""
    run = chars * -(-max(longest, len(chars)) // len(chars))
    return [run[i:i + longest] for i in range(0, len(chars), longest)] or ['']


class Describe(Task):
    name, key, weighted = 'describe', 'describe', True
    meta_keys = ('captions',)
    question = ', describe: '

    def prompt(self, picture):
        return f"{IMAGE_PREFIX}{picture}{self.question}"

    def records(self, sample, meta, rng=None, pool=None):
        return [(self.prompt(sample.picture), sample.text)] if sample.text else []

    def texts(self, meta):
        c = meta['captions']
        return [self.prompt(placeholder(meta, 0).picture) + f + '.' for f in filler(c['chars'], c['longest'])]

    def measure(self, engine, seen, truth, rows):
        """(greedy captions, exact match, bits per character) of these rows of `seen` against their captions."""
        prompts = [self.prompt(seen.texts[i]) for i in rows]
        images = None if seen.images is None else seen.images[rows]
        said = engine.complete(prompts, engine.meta['captions']['longest'] + 1, images)
        exact = float(np.mean([s == t for s, t in zip(said, truth)]))
        answers = [t + '.' for t in truth]
        nats = -engine.likelihood(prompts, answers, images).sum().item()
        return said, exact, nats / math.log(2) / sum(map(len, answers))

    def evaluate(self, ev):
        truth = ev.captions or []
        rows = np.array([i for i, t in enumerate(truth) if t], dtype=np.int64)
        if not len(rows):
            raise SystemExit(f"error: no {ev.split} picture of {ev.dataset} has a caption: describe cannot be scored; "
                             "caption some of its pictures in captions.jsonl")
        truth = [truth[i] for i in rows]
        said, exact, bpc = self.measure(ev.engine, ev.seen, truth, rows)
        black = ev.vlm.see(np.zeros((len(rows), *ev.pictures.shape[1:]), dtype=np.uint8))
        _, blind_exact, blind_bpc = self.measure(ev.engine, black, truth, np.arange(len(rows)))
        common, _ = Counter(t for t in ev.train_captions if t).most_common(1)[0]
        res = dict(n=len(rows), exact_match=exact, bits_per_char=bpc, blind_exact_match=blind_exact,
                   blind_bits_per_char=blind_bpc, commonest_caption=common,
                   commonest_exact_match=float(np.mean([t == common for t in truth])),
                   unfinished_rate=float(np.mean([s is None for s in said])),
                   examples=[dict(said=s, truth=t) for s, t in zip(said[:8], truth)])
        print(f"describe: exact match {exact:.4f} (black picture {blind_exact:.4f}, commonest caption "
              f"{res['commonest_exact_match']:.4f}), {bpc:.3f} bits per character (black picture {blind_bpc:.3f})")
        return res

    def report(self, r, ev):
        return [
            f"## Describe (the {r['n']:,} {ev.split} pictures with a caption of captions.jsonl, greedy)", "",
            "| measure | model | a black picture | the commonest training caption |", "|---|---|---|---|",
            f"| exact match | {r['exact_match']:.4f} | {r['blind_exact_match']:.4f} | {r['commonest_exact_match']:.4f} |",
            f"| bits per character of the true caption | {r['bits_per_char']:.3f} | {r['blind_bits_per_char']:.3f} | - |",
            f"| captions with no '.' (unfinished) | {r['unfinished_rate']:.2%} | - | - |", "",
            "Examples (said / true): " + '; '.join(f"'{e['said']}' / '{e['truth']}'" for e in r['examples'][:4]), ""]

    def rows(self, r):
        return [('describe', 'exact match', f"{r['exact_match']:.4f}",
                 f"{max(r['blind_exact_match'], r['commonest_exact_match']):.4f} (black picture or commonest caption)"),
                ('describe', 'bits per character', f"{r['bits_per_char']:.3f}",
                 f"{r['blind_bits_per_char']:.3f} (black picture)")]


DESCRIBE = Describe()
