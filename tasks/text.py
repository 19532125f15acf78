"""text: plain text mixed into training (Tiny Shakespeare), not records: every character a target.

Rows are windows of the text as long as a record (data prepared with text='shakespeare' holds its ids
in text_{train,val}.bin, nanoGPT's 90/10 split); a share of each batch is text (train's text_share).
Scored (results.json's `text`) as bits per character on all of the held-out text, in non-overlapping
windows: deterministic. The report adds it to every run whose data holds text.
"""
import math
import os

import numpy as np
import torch

from tasks.base import Task


def load_text_ids(data_dir, split):
    """The ids of the text mixed in (text_train.bin or text_val.bin), a 1-D tensor."""
    path = os.path.join(data_dir, f'text_{split}.bin')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found; prepare data with text (text='shakespeare') to mix text in")
    return torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64))


class Text(Task):
    name, key = 'text', 'text'

    def windows(self, ids, starts, length):
        """Rows (len(starts), length) of the text ids (1-D tensor) from each start."""
        return ids[starts[:, None] + torch.arange(length)]

    def bits_per_char(self, engine, ids, length, batch_size=256):
        """Mean loss in bits over every character of `ids` but the first of each window, cut into
        non-overlapping windows of `length` (the model's block + 1)."""
        n = (len(ids) - 1) // (length - 1)
        starts = torch.arange(n) * (length - 1)
        total = sum(engine.loss(self.windows(ids, starts[i:i + batch_size], length)) * min(batch_size, n - i)
                    for i in range(0, n, batch_size))
        return total / max(1, n) / math.log(2)

    def evaluate(self, ev):
        text = ev.meta['text']
        bpc = self.bits_per_char(ev.engine, load_text_ids(ev.data_dir, 'val'), ev.meta['seq_len'])
        print(f"text: {bpc:.4f} bits per character on held-out {text['name']}")
        return dict(bits_per_char=bpc, name=text['name'], val_tokens=text['val_tokens'])

    def report(self, r, ev):
        return [f"## Text ({r['name']}, mixed in)", "",
                f"Bits per character on all {r['val_tokens']:,} held-out characters (the last 10%), in windows of "
                f"{ev.meta['seq_len']}: {r['bits_per_char']:.4f}.", ""]

    def rows(self, r):
        return [(f"text ({r['name']})", 'bits per character, held out', f"{r['bits_per_char']:.4f}", '-')]


TEXT = Text()
