"""Batches of whole records (and windows of text mixed in), and the loss over them.

The prepared .bin files hold fixed-length records, one after another. nanoGPT
cuts random windows out of the token stream; here every batch row is one whole
record instead, so no row starts mid-record and no target is the first
character of an unrelated record. Records shorter than seq_len are padded with
'#', and padding is never a target (with the default tasks every record is 33
characters long and none is padded).

Under DDP every process draws the same indices for a step from the same
generator and takes its own slice of them, so N processes see exactly the
batches one process sees with gradient_accumulation_steps times N.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F


def load_records(data_dir, split, seq_len):
    path = os.path.join(data_dir, f'{split}.bin')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found; prepare the data first with `make data`")
    data = np.fromfile(path, dtype=np.uint16)
    if len(data) == 0 or len(data) % seq_len:
        raise SystemExit(f"error: {path} holds {len(data)} tokens, not a whole number of {seq_len}-token "
                         "records; rebuild it with `make data`")
    return torch.from_numpy(data.astype(np.int64).reshape(-1, seq_len))


def load_text_ids(data_dir, split):
    """The ids of the text mixed in (text_train.bin or text_val.bin), a 1-D tensor."""
    path = os.path.join(data_dir, f'text_{split}.bin')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found; prepare data with text (text='shakespeare') to mix text in")
    return torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64))


def add_text_rows(x, y, w, windows):
    """A batch of records (inputs, targets, answer mask) with text windows (n, seq_len) appended below:
    every character of a window is a target, and none is an answer to weight."""
    return (torch.cat([x, windows[:, :-1]]), torch.cat([y, windows[:, 1:]]),
            torch.cat([w, torch.zeros(len(windows), w.shape[1], dtype=torch.bool)]))


def make_targets(records, pad_id):
    """Next-token targets of whole records, -1 (ignored by the loss) where the target is padding."""
    y = records[:, 1:].clone()
    y[y == pad_id] = -1
    return y


def step_indices(n_records, batch_size, accum, world, generator):
    """The records of one optimizer step: (world, accum, batch_size) indices, the same on every process."""
    return torch.randint(n_records, (world * accum * batch_size,), generator=generator).view(world, accum, batch_size)


def weighted_loss(logits, targets, weighted, weight):
    """Cross-entropy where the targets marked in `weighted` count `weight` times as much as the others."""
    ce = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1, reduction='none')
    w = torch.where(weighted.view(-1), weight, 1.0) * (targets.view(-1) >= 0)
    return (ce * w).sum() / w.sum()
