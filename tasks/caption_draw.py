"""caption_draw: a picture drawn from a caption, its letters after 'caption: <caption>, image:'.

    caption: seven: small, thick, tilted right, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.

Scored (results.json's `caption_draw`) on the true captions of the split's first pictures of each
label (captions_per_label each, a random phrasing each), drawn plain and guided: the judge reads the
label, tasks/attributes.py measures each attribute of the drawing; baseline: the same drawings against
the requests shuffled (the same mix of levels, unrelated to the drawing). Guided drawing is draw's:
classifier-free guidance, and a picture drawn again while the run itself does not read it as the
label the caption names (tasks/draw.py's until_read; the judge never chooses); its first drawings
alone are scored beside it (guided_once).
"""
import numpy as np

from common.pictures import save_grid
from common.stats import wilson_interval
from tasks.base import Task, label_accuracy, placeholder
from tasks.caption import CAPTION, PHRASINGS, measured_levels
from tasks.draw import DRAW, how_drawn


class CaptionDraw(Task):
    name, key, weighted, draws = 'caption_draw', 'caption_draw', False, True
    meta_keys = ('attributes', 'label_words')
    question = ', image:'

    def prompt(self, caption):
        return f"caption: {caption}{self.question}"

    def records(self, sample, meta, rng=None, pool=None):
        k = int(rng.integers(len(PHRASINGS))) if rng is not None else 0
        return [(self.prompt(CAPTION.caption(sample.label, sample.attrs, meta, k)), sample.picture)]

    def texts(self, meta):
        ph = placeholder(meta, 0).picture
        return [self.prompt(CAPTION.caption(d, attrs, meta, k)) + ph + '.'
                for d, attrs, k in CAPTION.every_caption(meta)]

    def requests(self, labels, levels, meta, rng):
        """One caption per (label, levels), each in a random phrasing."""
        names = meta['attributes']
        return [self.prompt(CAPTION.caption(int(d), {a: int(levels[a][i]) for a in names}, meta,
                                            int(rng.integers(len(PHRASINGS)))))
                for i, d in enumerate(labels)]

    def generate(self, engine, labels, levels, *, tries=1, seed=0, **sampling):
        """Drawings of captions asking for these labels and levels: draw's until_read (the first drawings, the kept
        ones, drawings per picture, seconds), each drawn again while the run does not read it as its label."""
        prompts = self.requests(labels, levels, engine.meta, np.random.default_rng(seed))
        return DRAW.until_read(engine, labels, tries, seed=seed, prompts=prompts, **sampling)

    def scored(self, ev, codes, labels, asked, **sampling):
        """The scores of drawings (codes (N, T)) asked by captions of these labels and levels: (scores, images)."""
        images, _ = ev.vlm.decode(codes)
        judged = ev.judge_reads(ev.judge_features(images))
        res = self.score(judged, labels, asked, measured_levels(images, ev.meta),
                         np.random.default_rng(ev.config['seed']), len(ev.meta['labels']))
        res.update(sampling)
        return res, images

    def score(self, judged, labels, asked, measured, rng, n_labels=10):
        """Label read as asked, and each attribute's agreement with what was asked, against the agreement
        with random requests (the asked levels shuffled)."""
        res = label_accuracy(judged, labels, n_labels)
        out = dict(n=len(labels), label_accuracy=res['accuracy'], label_ci95=res['ci95'], attributes={})
        for a, want in asked.items():
            k = int((measured[a] == want).sum())
            out['attributes'][a] = dict(agreement=k / max(1, len(want)), ci95=list(wilson_interval(k, len(want))),
                                        random_agreement=float((measured[a] == rng.permutation(want)).mean()))
        return out

    def evaluate(self, ev):
        meta, c = ev.meta, ev.config
        pick = np.concatenate([np.flatnonzero(ev.labels == d)[:c['captions_per_label']]
                               for d in range(len(meta['labels']))])
        labels = ev.labels[pick]
        asked = {a: v[pick] for a, v in measured_levels(ev.pictures, meta).items()}
        res = {}
        for key, w, k in (('plain', 0.0, 1), ('guided', c['guidance'], c['tries'])):
            sampling = dict(temperature=c['temperature'], guidance=w)
            first, kept, made, _ = self.generate(ev.engine, labels, asked, tries=k, seed=c['seed'], sure=c['sure'],
                                                 **sampling)
            if k > 1:  # the first drawings alone: what drawing again adds to guidance
                res['guided_once'], _ = self.scored(ev, first, labels, asked, **sampling)
            res[key], images = self.scored(ev, kept, labels, asked, **sampling)
            res[key].update(tries=k, drawings_per_picture=float(made.mean()), **({'sure': c['sure']} if k > 1 else {}))
        for key, x in res.items():
            print(f"caption_draw ({self.drawn(x)}): label {x['label_accuracy']:.4f}, " + ', '.join(
                f"{a} {r['agreement']:.3f} (random {r['random_agreement']:.3f})" for a, r in x['attributes'].items()))
        rows = np.concatenate([np.flatnonzero(labels == d)[:10] for d in range(len(meta['labels']))])
        save_grid(images[rows], 10, f"{ev.eval_dir}/caption_drawn.png")
        return res

    def drawn(self, x):
        """How a row of drawings was drawn, in words."""
        return ('guided' if x['guidance'] else 'plain') + how_drawn(x, 'its label')

    def report(self, r, ev):
        c, names = ev.config, ev.meta['attributes']
        n = r['plain']['n']
        return [
            f"## Draw from a caption ({n:,} true captions of {ev.split} pictures, {c['captions_per_label']} per label, "
            f"T={c['temperature']})", "",
            "| drawn | label read as asked | " + " | ".join(f"{a}: as asked (random request)" for a in names) + " |",
            "|---" * (2 + len(names)) + "|",
            *(f"| {self.drawn(r[k])} | {r[k]['label_accuracy']:.4f} | " + " | ".join(
                f"{r[k]['attributes'][a]['agreement']:.3f} ({r[k]['attributes'][a]['random_agreement']:.3f})"
                for a in names) + " |" for k in ('plain', 'guided_once', 'guided') if k in r), "",
            "![drawn from the captions of the pictures, a row per label, guided](caption_drawn.png)", ""]

    def rows(self, r):
        g = r['guided']
        return [('caption_draw', 'label judged as asked, guided', f"{g['label_accuracy']:.4f}", '0.10')] + [
            (f"caption_draw: {a}", 'as asked', f"{x['agreement']:.4f}", f"{x['random_agreement']:.4f} (random request)")
            for a, x in g['attributes'].items()]


CAPTION_DRAW = CaptionDraw()
