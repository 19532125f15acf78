"""draw: a picture of a label, its letters after 'number:d, image:', decoded by the run's tokenizer.

    number:5, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.
    word:ankle boot, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.

Drawing always writes letters, whatever the run reads (Janus's split of reading and drawing).
Scored on decoded drawings (results.json's `generation`): how often the dataset's judge reads the
asked label (chance: one in the number of labels), FID against the split's real pictures in the
judge's features, distinct letter strings, strings seen verbatim in train.txt, and well-formed rows;
at T, a sharper T, T with classifier-free guidance, and greedy. The guided row draws a picture again
while the run itself, reading it as it reads any picture, is not sure it shows what was asked (up to
`tries` drawings; the judge never chooses); the first drawings alone are scored beside it.
"""
import os
import time

import numpy as np

from common.files import atomic_write
from common.pictures import side_by_side, tile
from tasks.base import Task, label_accuracy, label_texts
from tasks.read import READ


def share(x):
    return '-' if x is None else f"{x:.2%}"  # memorisation is not measured where train.txt is not at hand


# drawings at most per asked picture where drawing is guided, drawn again while the run is not sure of it: on the
# colour shapes 32 drew no better than 16
TRIES = 16
# the probability the run's own reading must give the asked label for a drawing to pass. Its reading alone (argmax)
# passed blobs only their colour placed. Chosen on validation over MNIST, Fashion-MNIST and the colour shapes: 0.999
# read the shapes' drawings 0.03-0.05 better than 0.995 at a worse FID, MNIST's and Fashion-MNIST's as well at a
# lower one (docs/results.md)
SURE = 0.999
GRID_LABELS = 20  # the report's grids show a row for each of the first labels, this many at most


def how_drawn(x, what='asked'):
    """How a row of drawings was guided and drawn again, in words ('' where neither): the report's and the print's
    words for draw (read as asked) and caption drawing (read as its label)."""
    return (f", guidance {x['guidance']}" if x['guidance'] else '') + (
        f", drawn again until read as {what} at {x['sure']} or surer, up to {x['tries']} times "
        f"({x['drawings_per_picture']:.2f} a picture)" if x.get('tries', 1) > 1 else '')


class Draw(Task):
    name, key, weighted, draws = 'draw', 'generation', False, True
    question = ', image:'

    def prefix(self, meta):
        return f"{meta['label_key']}:"

    def prompt(self, label, meta):
        return f"{self.prefix(meta)}{meta['labels'][label]}{self.question}"

    def records(self, sample, meta, rng=None, pool=None):
        return [(self.prompt(sample.label, meta), sample.picture)]

    def texts(self, meta):
        return label_texts(self, meta)

    def until_read(self, engine, labels, tries=1, seed=None, sure=SURE, prompts=None, **sampling):
        """Drawings of each label index, codes (N, T) (-1 where a character is not an image letter), by rejection
        sampling through the run's own eyes: each drawing is decoded and read as the run reads any picture, and
        the ones it does not read as asked with probability `sure` at least are drawn again, up to `tries`
        drawings in all; a picture never passed keeps the drawing read surest as asked. DALL-E re-ranks by CLIP;
        here the run's own reading decides, never the judge. prompts: what each drawing is asked by (a caption
        naming the label, tasks/caption_draw.py); by default 'number:d, image:'. Returns the first drawings, the
        kept ones, the drawings made per picture and the seconds the first drawings took."""
        labels = np.asarray(labels, dtype=np.int64)
        if tries > 1 and READ.name not in engine.meta['tasks']:
            raise SystemExit(f"error: drawing until it reads as asked needs a run that reads (its tasks: "
                             f"{', '.join(engine.meta['tasks'])}); draw with tries=1")
        if prompts is None:
            prompts = [self.prompt(d, engine.meta) for d in labels]
        t0 = time.time()
        first = engine.draw(prompts, seed=seed, **sampling)
        seconds = time.time() - t0
        made = np.ones(len(labels), dtype=np.int64)
        if tries == 1:
            return first, first, made, seconds
        kept, best = first.copy(), np.full(len(labels), -np.inf)
        todo, drawn = np.arange(len(labels)), first
        for k in range(1, tries + 1):
            reads = READ.scores(engine, engine.look(drawn)).float().log_softmax(1).numpy()
            asked = reads[np.arange(len(todo)), labels[todo]]
            passed = (reads.argmax(1) == labels[todo]) & (np.exp(asked) >= sure)
            # a drawing that passes is kept, though under sure < 0.5 one drawn before and read as another label
            # may have given the asked label more
            better = passed | (asked > best[todo])
            kept[todo[better]], best[todo[better]] = drawn[better], asked[better]
            todo = todo[~passed]
            if k == tries or not len(todo):
                return first, kept, made, seconds
            made[todo] += 1
            drawn = engine.draw([prompts[i] for i in todo], seed=None if seed is None else seed + k, **sampling)

    def generate(self, engine, labels, tries=1, **sampling):
        """One drawing per label index: codes (N, T); with tries > 1, drawn again until the run is sure it reads
        as asked (until_read; sampling may hold its `sure`)."""
        return self.until_read(engine, labels, tries, **sampling)[1]

    def measure(self, ev, images, labels, codes):
        """Scores of drawings (uint8 (N, 28, 28)) asked for `labels`, against the split's real pictures."""
        meta = ev.meta
        feats = ev.judge_features(images)
        drawn = label_accuracy(ev.judge_reads(feats), labels, len(meta['labels']))
        strings = [''.join(meta['image_alphabet'][c] for c in row) if (row >= 0).all() else None for row in codes]
        per_digit = [dict(digit=d, n=int((labels == d).sum()), judge_accuracy=drawn['per_digit'][d],
                          distinct=len({strings[i] for i in np.flatnonzero(labels == d)}),
                          fid=ev.fid(feats[labels == d], label=d) if (labels == d).sum() > 1 else float('nan'))
                     for d in range(len(meta['labels']))]
        return dict(n=len(labels), judge_accuracy=drawn['accuracy'], judge_ci95=drawn['ci95'],
                    well_formed=float(np.mean([s is not None for s in strings])), distinct=len(set(strings)),
                    distinct_fraction=len(set(strings)) / max(1, len(strings)), fid=ev.fid(feats),
                    memorised=None if ev.train_strings is None else float(np.mean([s in ev.train_strings
                                                                                     for s in strings])),
                    per_digit=per_digit)

    def measured(self, ev, labels, codes, seconds, **sampling):
        """The scores of drawings (codes (N, T)) asked for `labels`: (scores, images)."""
        images, _ = ev.vlm.decode(codes)
        res = self.measure(ev, images, labels, codes)
        res.update(sampling, seconds=seconds)
        return res, images

    def scored(self, ev, labels, engine=None, tries=1, **sampling):
        """Draw one picture per label and score the drawings: (scores, codes, images)."""
        t0 = time.time()
        codes = self.generate(engine or ev.engine, labels, tries, **sampling)
        res, images = self.measured(ev, labels, codes, time.time() - t0, **sampling)
        return res, codes, images

    def evaluate(self, ev):
        c, n = ev.config, len(ev.meta['labels'])
        labels = np.repeat(np.arange(n), c['n_per_digit'])
        runs = dict(t=(c['temperature'], 0.0, 1), low_t=(c['low_temperature'], 0.0, 1),
                    guided=(c['temperature'], c['guidance'], c['tries']), greedy=(0.0, 0.0, 1))
        res, images = {}, {}
        for key, (temp, w, k) in runs.items():
            sampling = dict(temperature=temp, guidance=w, top_k=c['top_k'] or None, seed=c['seed'])
            t0 = time.time()
            first, kept, made, once = self.until_read(ev.engine, labels, k, sure=c['sure'], **sampling)
            seconds = time.time() - t0
            if k > 1:  # the first drawings alone: what drawing again adds to guidance
                res['guided_once'], _ = self.measured(ev, labels, first, once, **sampling)
            res[key], images[key] = self.measured(ev, labels, kept, seconds, **sampling)
            res[key].update(tries=k, drawings_per_picture=float(made.mean()), **({'sure': c['sure']} if k > 1 else {}))
        for key, g in res.items():
            print(f"draw T={g['temperature']}" + how_drawn(g) +
                  f": judge accuracy {g['judge_accuracy']:.4f}, FID {g['fid']:.2f}, {g['distinct']} distinct of "
                  f"{g['n']}, memorised {share(g['memorised'])} ({g['seconds']:.1f}s)")
        atomic_write(os.path.join(ev.eval_dir, 'generated.npz'),
                     lambda f: np.savez(f, images=images['guided'], labels=labels))
        # a row per label: real pictures, the earliest trained snapshot before ckpt.pt (if any) and ckpt.pt, both
        # drawn as in the guided row
        rows = min(n, GRID_LABELS)
        real = np.concatenate([np.flatnonzero(ev.labels == d)[:10] for d in range(rows)])
        grids, titles = [tile(ev.pictures[real], rows)], [f'real {ev.split} pictures']
        first = ev.first_snapshot()
        if first:
            it, engine = first
            codes = self.generate(engine, np.repeat(np.arange(rows), 10), c['tries'], sure=c['sure'],
                                  temperature=c['temperature'], guidance=c['guidance'], seed=c['seed'])
            grids.append(tile(ev.vlm.decode(codes)[0], rows))
            titles.append(f'iteration {it}')
        idx = np.concatenate([np.flatnonzero(labels == d)[:10] for d in range(rows)])
        grids.append(tile(images['guided'][idx], rows))
        titles.append(f"ckpt.pt (iteration {ev.iter_num})")
        side_by_side(grids, titles, os.path.join(ev.eval_dir, 'generated_first_last.png'))
        return res

    def report(self, r, ev):
        c, names = ev.config, ev.meta['labels']
        top = f", top_k={c['top_k']}" if c['top_k'] else ''

        def row(name, g):
            return (f"| {name} | {g['judge_accuracy']:.4f} | {g['fid']:.2f} | {g['distinct']} of {g['n']} | "
                    f"{share(g['memorised'])} | {g['well_formed']:.0%} |")
        t = r['t']
        return [
            "## Draw (judged on the decoded pictures)", "",
            f"{t['n'] // len(names)} pictures per label. FID is the Fréchet distance to the real {ev.split} pictures "
            f"in the judge's 128 penultimate features; two random halves of them are {ev.floor:.2f} apart (the "
            f"floor). A random guess of the judge would read {1 / len(names):.2f} as asked.", "",
            "| pictures | judge accuracy | FID | distinct token strings | in train.txt verbatim | well formed |",
            "|---|---|---|---|---|---|",
            *(row(f"drawn, T={r[k]['temperature']}{top}" + how_drawn(r[k]), r[k])
              for k in ('t', 'low_t', 'guided_once', 'guided') if k in r),
            row("drawn, greedy", r['greedy']),
            f"| tokenizer reconstructions of the {ev.split} pictures (the ceiling) | "
            f"{ev.ceiling['judge_accuracy']:.4f} | {ev.ceiling['fid']:.2f} | - | - | - |", "",
            f"Per label at T={c['temperature']}: " + ', '.join(
                f"{names[p['digit']]}: {p['judge_accuracy']:.2f} (FID {p['fid']:.1f}, {p['distinct']} distinct)"
                for p in t['per_digit']), "",
            f"![real pictures, then drawn ones at the first and last checkpoint, a row per label, guidance "
            f"{c['guidance']}](generated_first_last.png)", ""]

    def rows(self, r):
        return [('draw', 'judged as asked, guided', f"{r['guided']['judge_accuracy']:.4f}",
                 f"{1 / len(r['t']['per_digit']):.2f}")]


DRAW = Draw()
