"""draw: a picture of a label, its letters after 'number:d, image:', decoded by the run's tokenizer.

    number:5, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.
    word:ankle boot, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.

Drawing always writes letters, whatever the run reads (Janus's split of reading and drawing).
Scored on decoded drawings (results.json's `generation`): how often the dataset's judge reads the
asked label (chance: one in the number of labels), FID against the split's real pictures in the
judge's features, distinct letter strings, strings seen verbatim in train.txt, and well-formed rows;
at T, a sharper T, T with classifier-free guidance, and greedy.
"""
import os
import time

import numpy as np

from common.files import atomic_write
from common.pictures import side_by_side, tile
from tasks.base import Task, label_accuracy, label_texts


def share(x):
    return '-' if x is None else f"{x:.2%}"  # memorisation is not measured where train.txt is not at hand


GRID_LABELS = 20  # the report's grids show a row for each of the first labels, this many at most


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

    def generate(self, engine, labels, **sampling):
        """One drawing per label index: codes (N, T), -1 where a character is not an image letter."""
        return engine.draw([self.prompt(d, engine.meta) for d in labels], **sampling)

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

    def scored(self, ev, labels, engine=None, **sampling):
        """Draw one picture per label and score the drawings: (scores, codes, images)."""
        t0 = time.time()
        codes = self.generate(engine or ev.engine, labels, **sampling)
        images, _ = ev.vlm.decode(codes)
        res = self.measure(ev, images, labels, codes)
        res.update(sampling, seconds=time.time() - t0)
        return res, codes, images

    def evaluate(self, ev):
        c, n = ev.config, len(ev.meta['labels'])
        labels = np.repeat(np.arange(n), c['n_per_digit'])
        runs = dict(t=(c['temperature'], 0.0), low_t=(c['low_temperature'], 0.0),
                    guided=(c['temperature'], c['guidance']), greedy=(0.0, 0.0))
        res, images = {}, {}
        for key, (temp, w) in runs.items():
            res[key], _, images[key] = self.scored(ev, labels, temperature=temp, guidance=w, top_k=c['top_k'] or None,
                                                   seed=c['seed'])
            g = res[key]
            print(f"draw T={temp}" + (f", guidance {w}" if w else '') + f": judge accuracy {g['judge_accuracy']:.4f}, "
                  f"FID {g['fid']:.2f}, {g['distinct']} distinct of {g['n']}, memorised {share(g['memorised'])} "
                  f"({g['seconds']:.1f}s)")
        atomic_write(os.path.join(ev.eval_dir, 'generated.npz'),
                     lambda f: np.savez(f, images=images['guided'], labels=labels))
        # a row per label: real pictures, the earliest trained snapshot and ckpt.pt, both drawn as in the guided row
        rows = min(n, GRID_LABELS)
        real = np.concatenate([np.flatnonzero(ev.labels == d)[:10] for d in range(rows)])
        grids, titles = [tile(ev.pictures[real], rows)], [f'real {ev.split} pictures']
        first = ev.first_snapshot()
        if first:
            it, engine = first
            codes = self.generate(engine, np.repeat(np.arange(rows), 10), temperature=c['temperature'],
                                  guidance=c['guidance'], seed=c['seed'])
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
            *(row(f"drawn, T={r[k]['temperature']}{top}" + (f", guidance {r[k]['guidance']}"
                                                            if r[k]['guidance'] else ''), r[k])
              for k in ('t', 'low_t', 'guided')),
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
