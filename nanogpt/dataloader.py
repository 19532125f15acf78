"""Batches of whole records (and windows of text mixed in), and the loss over them.

The prepared .bin files hold fixed-length records, one after another. nanoGPT
cuts random windows out of the token stream; here every batch row is one whole
record instead, so no row starts mid-record and no target is the first
character of an unrelated record. Records shorter than seq_len are padded with
'#', and padding is never a target (with the default tasks every record is 33
characters long and none is padded; with captions and two-image questions the
longest is 74 and reading's are padded: one length for every form keeps the
loader one array, and length_groups lets training skip most of the padding). A
task mix (task_mix) draws each row's task by its share, then one of that task's records.

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


def load_layout(data_dir, split, n_records):
    """Each record's task (its index in meta.json's list) and answer span [start, end): int64 (N, 3)."""
    path = os.path.join(data_dir, f'{split}_layout.npy')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found (data from an older version); rebuild it with `make data`")
    try:
        layout = np.load(path)
    except ValueError as e:
        raise SystemExit(f"error: {path} is corrupt ({e}); rebuild it with `make data`")
    if layout.shape != (n_records, 3):
        raise SystemExit(f"error: {path} describes {layout.shape[0]} records, not the {n_records} of {split}.bin; "
                         "rebuild it with `make data`")
    return torch.from_numpy(layout.astype(np.int64))


def answer_mask(layout, seq_len, weighted):
    """Which next-token targets (N, seq_len-1) are a written answer to weight: the characters of the answer
    span of each record whose task is weighted (weighted: a bool per task), up to the '.' that ends it."""
    pos = torch.arange(seq_len - 1)  # target t is the character at t + 1
    task, start, end = layout[:, 0:1], layout[:, 1:2], layout[:, 2:3]
    return (pos >= start - 1) & (pos < end - 1) & torch.tensor(weighted)[task]


def parse_mix(mix, tasks, record_tasks):
    """task_mix ('read:0.5,draw:0.5') as (the record indices sorted by task, where each task's run of them starts,
    how many each has, and the shares): None for '' (every record alike). One line for a bad mix."""
    if not mix:
        return None
    shares = {}
    for part in mix.split(','):
        name, _, value = part.partition(':')
        try:
            shares[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"error: task_mix part {part!r} is not task:share (e.g. 'read:0.5,draw:0.5')")
    unknown = sorted(set(shares) - set(tasks))
    if unknown:
        raise SystemExit(f"error: task_mix names {unknown}, not among the data's tasks {tasks}")
    if any(v < 0 for v in shares.values()) or abs(sum(shares.values()) - 1) > 1e-6:
        raise SystemExit(f"error: task_mix shares {mix!r} add up to {sum(shares.values()):.4g}, not 1 (or one is "
                         "negative); give each task a share so that they add up to 1")
    counts = torch.bincount(record_tasks, minlength=len(tasks))
    weights = torch.tensor([shares.get(t, 0.0) for t in tasks], dtype=torch.float64)
    empty = [t for t, c, w in zip(tasks, counts, weights) if w > 0 and c == 0]
    if empty:
        raise SystemExit(f"error: task_mix gives a share to {empty}, which have no training records")
    order = torch.argsort(record_tasks, stable=True)
    return order, torch.cumsum(counts, 0) - counts, counts, weights


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


def step_indices(n_records, batch_size, accum, world, generator, mix=None):
    """The records of one optimizer step: (world, accum, batch_size) indices, the same on every process.
    mix (parse_mix): each row's task drawn by the shares, then one of that task's records."""
    n = world * accum * batch_size
    if mix is None:
        return torch.randint(n_records, (n,), generator=generator).view(world, accum, batch_size)
    order, starts, counts, shares = mix
    task = torch.multinomial(shares, n, replacement=True, generator=generator)
    within = (torch.rand(n, generator=generator, dtype=torch.float64) * counts[task]).long()
    return order[starts[task] + within].view(world, accum, batch_size)


def weighted_loss(logits, targets, weighted, weight, total=None):
    """Cross-entropy where the targets marked in `weighted` count `weight` times as much as the others: their
    weighted mean, or their weighted sum over `total` (the weight of a whole batch this part belongs to)."""
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1, reduction='none')
    w = loss_weights(targets, weighted, weight).reshape(-1)
    return (ce * w).sum() / (w.sum() if total is None else total)


def loss_weights(targets, weighted, weight):
    return torch.where(weighted, weight, 1.0) * (targets >= 0)


def length_groups(targets, min_saving=0.1):
    """The rows of a batch in two groups by how far their targets reach, each to run cut to its own longest:
    [(rows, length), ...], or None when that saves less than `min_saving` of the tokens. Records of
    several lengths share one padded length (a reading record of 33 characters among two-image questions
    of 74); causal attention makes the cut exact, since no position sees the padding after it."""
    B, T = targets.shape
    reach = ((targets >= 0) * torch.arange(1, T + 1, device=targets.device)).max(1).values.clamp(min=1)
    order = torch.argsort(reach)
    r = reach[order]
    k = torch.arange(1, B, device=targets.device)
    cost = k * r[:-1] + (B - k) * r[-1]
    if B < 2 or cost.min() > (1 - min_saving) * B * T:
        return None
    cut = int(cost.argmin()) + 1
    return [(order[:cut], int(r[cut - 1])), (order[cut:], int(r[-1]))]
