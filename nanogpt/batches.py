"""The one batch builder and training step: train's, and what `make bench` times.

The prepared .bin files hold fixed-length records, one after another. nanoGPT cuts random windows
out of the token stream; here every batch row is one whole record instead, so no row starts
mid-record and no target is the first character of an unrelated record. Records shorter than
seq_len are padded with '#', and padding is never a target (with the default tasks every record is
33 characters long and none is padded; with captions and two-picture questions the longest is 77
and reading's are padded: one length for every form keeps the loader one array, and length_groups
lets training skip most of the padding). A task mix (task_mix) draws each row's task by its share,
then one of that task's records; a share of the rows can be windows of text (text_share).

A run that reads pixels sees a record that shows pictures in its pixel form: each picture's letters
become one placeholder per encoder vector ('image:□, number:5.'), the rest of the record moves up,
and the pictures go beside the rows (the VLM swaps their vectors in). letters_share of those rows
keep their letters, so that the model still learns the 'image:' stream that guides drawing.

Under DDP every process draws the same indices for a step from the same generator and takes its
own slice of them, so N processes see exactly the batches one process sees with
gradient_accumulation_steps times N.
"""
import os
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F

from nanogpt.vision import flip_images, pixel_draws, shift_images
from tasks import get_tasks
from tasks.base import IMAGE_PREFIX
from tasks.text import TEXT, load_text_ids
from tasks.vocab import encode, image_token_id
from vqvae.model import per_row

GROUPS = 3  # length_groups: a batch's rows run in at most this many groups, each cut to its own length
GAP = len(', ' + IMAGE_PREFIX)  # from the end of a picture's letters to the next picture's: 'image:<L>, image:<L>, ...'


def load_records(data_dir, split, seq_len, vocab_size=None):
    """A split's records (N, seq_len) of ids, each id checked to be one of the vocabulary's (garbled records
    would otherwise train quietly, or stop in an index error)."""
    path = os.path.join(data_dir, f'{split}.bin')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found; prepare the data first with `make data`")
    data = np.fromfile(path, dtype=np.uint16)
    if len(data) == 0 or len(data) % seq_len:
        raise SystemExit(f"error: {path} holds {len(data)} tokens, not a whole number of {seq_len}-token "
                         "records; rebuild it with `make data`")
    if vocab_size is not None and int(data.max()) >= vocab_size:
        raise SystemExit(f"error: {path} holds the id {int(data.max())}, past the vocabulary's {vocab_size}: it is "
                         "garbled or from other data; rebuild it with `make data`")
    return torch.from_numpy(data.astype(np.int64).reshape(-1, seq_len))


def load_layout(data_dir, split, n_records, n_tasks=None, seq_len=None):
    """Each record's task (its index in meta.json's list) and answer span [start, end): int64 (N, 3)."""
    path = os.path.join(data_dir, f'{split}_layout.npy')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found (data from an older version); rebuild it with `make data`")
    try:
        layout = np.load(path)
    except ValueError as e:
        raise SystemExit(f"error: {path} is corrupt ({e}); rebuild it with `make data`")
    if layout.ndim != 2 or layout.shape != (n_records, 3):
        raise SystemExit(f"error: {path} describes {layout.shape[0] if layout.ndim else 0} records, not the "
                         f"{n_records} of {split}.bin; rebuild it with `make data`")
    bad = n_tasks is not None and len(layout) and (layout[:, 0].min() < 0 or layout[:, 0].max() >= n_tasks or
                                                    layout[:, 1:].min() < 0 or layout[:, 1:].max() > seq_len)
    if bad:
        raise SystemExit(f"error: {path} names tasks or answer spans its data does not have: it is garbled; rebuild "
                         "it with `make data`")
    return torch.from_numpy(layout.astype(np.int64))


def load_pictures(data_dir, split, meta):
    """The codes (N, T), labels (N,) and pixels (N, S, S[, 3]) of a split's real pictures ({split}.npz), checked
    against the vocabulary: one line for a missing, garbled or mismatched file."""
    path = os.path.join(data_dir, f'{split}.npz')
    fix = 'rebuild it with `make data`'
    try:
        with np.load(path) as d:
            codes, labels, images = d['codes'], d['labels'], d['images']
    except FileNotFoundError:
        raise SystemExit(f"error: {path} not found; prepare the data first with `make data`")
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise SystemExit(f"error: {path} is not a readable set of pictures ({type(e).__name__}); {fix}")
    n, T = len(labels), meta['tokens_per_image']
    if (labels.ndim != 1 or codes.shape != (n, T) or images.shape[:1] != (n,) or images.ndim not in (3, 4) or not n
            or codes.max() >= meta['num_codes'] or labels.max() >= len(meta['labels'])):
        raise SystemExit(f"error: {path} holds codes {codes.shape}, labels {labels.shape} and pictures "
                         f"{images.shape}, not N x {T} codes of {meta['num_codes']}, N labels and N pictures; "
                         f"{fix}")
    return codes, labels, images


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


def make_targets(records, pad_id, ignore=()):
    """Next-token targets of whole records, -1 (ignored by the loss) where the target is padding (or `ignore`)."""
    y = records[:, 1:].clone()
    for i in (pad_id, *ignore):
        y[y == i] = -1
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


def length_groups(targets, groups=GROUPS, min_saving=0.1):
    """The rows of a batch in at most `groups` groups by how far their targets reach, each to run cut to its own
    longest: [(rows, length), ...] with the fewest tokens in all, or None when that saves less than `min_saving`
    of the tokens. Records of several lengths share one padded length (a reading record of 33 characters among
    two-picture questions of 77); causal attention makes the cut exact, since no position sees the padding after
    it."""
    B, T = targets.shape
    reach = ((targets >= 0) * torch.arange(1, T + 1, device=targets.device)).max(1).values.clamp(min=1)
    order = torch.argsort(reach)
    r = reach[order].cpu()
    # best[j]: the fewest tokens that run rows 0..j (sorted) in g groups; a group of rows i..j runs (j-i+1) x r[j]
    i, j = torch.arange(B)[:, None], torch.arange(B)[None, :]
    span = torch.where(i <= j, (j - i + 1) * r[None, :], torch.iinfo(torch.long).max // 4)
    best, starts = span[0].clone(), [torch.zeros(B, dtype=torch.long)]
    for _ in range(1, groups):
        # the last group starts at row i >= 1, after the best of rows 0..i-1 in one group fewer
        total = torch.cat([span[:1], best[:-1, None] + span[1:]])
        fewer = total.min(0)
        keep = fewer.values < best  # a group more only where it saves tokens
        best, starts = torch.where(keep, fewer.values, best), starts + [torch.where(keep, fewer.indices, -1)]
    if B < 2 or best[-1] > (1 - min_saving) * B * T:
        return None
    cuts, end = [], B - 1
    for g in range(groups - 1, -1, -1):
        s = int(starts[g][end])
        if s < 0:
            continue
        cuts.append((s, end))
        if s == 0:
            break
        end = s - 1
    return [(order[a:b + 1], int(r[b])) for a, b in reversed(cuts)]


def picture_places(meta, n):
    """Where the letters of a record's first n pictures start: read, caption and question records open with
    'image:<letters>', and a two-picture question shows its second picture right after the first."""
    return [len(IMAGE_PREFIX) + j * (meta['tokens_per_image'] + GAP) for j in range(n)]


def pictures_shown(records, meta):
    """How many pictures each record (ids (N, T)) shows as input, read off its text: 'image:' at its start, and
    again after the first picture's letters. Drawing records write their picture as the answer: none."""
    mark = torch.tensor(encode(IMAGE_PREFIX, meta['stoi']))
    at = [s - len(IMAGE_PREFIX) for s in picture_places(meta, 2)]
    first = (records[:, at[0]:at[0] + len(mark)] == mark).all(1)
    second = first & (records[:, at[1]:at[1] + len(mark)] == mark).all(1) if records.shape[1] > at[1] + len(mark) \
        else torch.zeros_like(first)
    return first.long() + second.long()


def pixel_form(records, answer, shown, meta, per_picture):
    """Records (N, L) as a model that reads pixels sees them: each shown picture's letters become `per_picture`
    placeholders, what follows moves up, padding fills the end; the answer mask (N, L-1) moves alike."""
    T, L = meta['tokens_per_image'], records.shape[1]
    out = torch.full_like(records, meta['stoi'][meta['pad_char']])
    mask = torch.zeros_like(answer)
    for n in shown.unique().tolist():
        rows = (shown == n).nonzero()[:, 0]
        keep = torch.ones(L, dtype=torch.bool)
        for s in picture_places(meta, n):
            keep[s + per_picture:s + T] = False
        kept = keep.nonzero()[:, 0]
        out[rows, :len(kept)] = records[rows][:, kept]
        for j, s in enumerate(picture_places(meta, n)):
            at = s - j * (T - per_picture)
            out[rows, at:at + per_picture] = image_token_id(meta)
        mask[rows, :len(kept) - 1] = answer[rows][:, kept[1:] - 1]  # target t is the character at t + 1
    return out, mask


class Batches:
    """The records of a prepared data folder as training batches (and the text mixed in, and the pictures)."""

    def __init__(self, data_dir, meta, *, batch_size, text_share=0.0, task_mix='',
                 image_input='letters', per_picture=0, letters_share=0.0, pixel_shift=0, pixel_flip=False,
                 device='cpu', splits=('train', 'val')):
        task_list = get_tasks(meta['tasks'])
        self.meta, self.device, self.seq_len = meta, device, meta['seq_len']
        self.letters_share, self.pixel_shift, self.pixel_flip = letters_share, pixel_shift, pixel_flip
        self.n_text = round(batch_size * text_share)
        self.n_records = batch_size - self.n_text
        if text_share and not meta.get('text'):
            raise SystemExit(f"error: text_share={text_share} but {data_dir} holds no text; prepare it with "
                             "text='shakespeare' (sweeps/configs/prepare_mnist_text.py) or set text_share=0")
        self.text = {s: load_text_ids(data_dir, s) for s in splits} if meta.get('text') else {}
        pad = meta['stoi'][meta['pad_char']]
        self.records = {s: load_records(data_dir, s, self.seq_len, meta['vocab_size']) for s in splits}
        self.targets = {s: make_targets(r, pad) for s, r in self.records.items()}
        # each record's task and answer span (prepare's layout): the answers of weighted tasks (read, caption,
        # question) are the targets answer_weight scales
        self.layout = {s: load_layout(data_dir, s, len(r), len(meta['tasks']), self.seq_len)
                       for s, r in self.records.items()}
        weighted = [t.weighted for t in task_list]
        self.answer = {s: answer_mask(lay, self.seq_len, weighted) for s, lay in self.layout.items()}
        self.mix = parse_mix(task_mix, meta['tasks'], self.layout[splits[0]][:, 0])
        self.pixels = image_input != 'letters'
        if self.pixels:
            missing = [s for s in splits if not os.path.exists(os.path.join(data_dir, f'{s}_images.npy'))]
            if missing:
                raise SystemExit(f"error: {data_dir} holds no pictures for image_input={image_input!r} (older data); "
                                 "rebuild it with `make data`")
            self.pictures = {s: np.load(os.path.join(data_dir, f'{s}_images.npy'), mmap_mode='r') for s in splits}
            # every record that opens with a picture reads it (read, caption, question): as many as it shows
            self.shown = {s: pictures_shown(r, meta) for s, r in self.records.items()}
            if not any(int(v.max()) for v in self.shown.values()):
                raise SystemExit(f"error: image_input={image_input!r} reads the pictures of records that show them, "
                                 f"and {data_dir} holds none; train it with image_input='letters'")
            for s in splits:
                held = per_row(self.pictures[s][:1]).shape[1]
                if int(self.shown[s].max()) > held:
                    raise SystemExit(f"error: {data_dir} holds records of two pictures but one picture per record "
                                     "(older data); rebuild it with `make data`")
            self.seen = {}
            for s in splits:
                rec, ans = pixel_form(self.records[s], self.answer[s], self.shown[s], meta, per_picture)
                self.seen[s] = (rec, make_targets(rec, pad, ignore=(image_token_id(meta),)), ans)

    def step(self, gen, accum, world):
        """The random draws of one optimizer step, from the shared generator: record indices, text window starts
        and the pixel rows' choices, each (world, accum, ...)."""
        ix = step_indices(len(self.records['train']), self.n_records, accum, world, gen, self.mix)
        tx = step_indices(len(self.text['train']) - self.seq_len, self.n_text, accum, world, gen) \
            if self.n_text else None
        px = pixel_draws(ix.shape, gen, self.letters_share, self.pixel_shift, self.pixel_flip) if self.pixels else None
        return ix, tx, px

    def micro(self, draws, rank, micro):
        """The batch of one process's micro-step, from a step's draws."""
        ix, tx, px = draws
        return self.get('train', ix[rank, micro], None if tx is None else tx[rank, micro],
                        None if px is None else [d[rank, micro] for d in px])

    def get(self, split, ix, tx=None, draws=None):
        """Inputs, targets, answer mask and the model's picture inputs of these records (and text windows below).
        draws (pixel_draws'): which rows read pixels, the shifts and flips; without them every row that shows a
        picture reads it as it is."""
        x, y, w = self.records[split][ix, :-1], self.targets[split][ix], self.answer[split][ix]
        seen = {}
        if self.pixels:
            keep, shifts, flips = draws if draws is not None else (None, None, None)
            rows = self.shown[split][ix] * (1 if keep is None else keep)
            pics = torch.from_numpy(self.pictures[split][ix.numpy()])
            pics = per_row(pics)
            if shifts is not None:
                pics = shift_images(pics.flatten(0, 1), shifts.repeat_interleave(pics.shape[1], 0)).view(pics.shape)
            if flips is not None and flips.any():
                pics = flip_images(pics, flips)
            rec, tgt, ans = self.seen[split]
            on = rows[:, None] > 0
            x, y, w = torch.where(on, rec[ix, :-1], x), torch.where(on, tgt[ix], y), torch.where(on, ans[ix], w)
            seen = dict(images=pics, image_rows=rows)
        if tx is not None and len(tx):  # text windows below the records: every character a target, none weighted
            windows = TEXT.windows(self.text[split], tx, self.seq_len)
            x, y = torch.cat([x, windows[:, :-1]]), torch.cat([y, windows[:, 1:]])
            w = torch.cat([w, torch.zeros(len(windows), w.shape[1], dtype=torch.bool)])
            if seen:  # the text rows show no picture
                pics, rows = seen['images'], seen['image_rows']
                seen = dict(images=torch.cat([pics, pics.new_zeros(len(tx), *pics.shape[1:])]),
                            image_rows=torch.cat([rows, rows.new_zeros(len(tx))]))
        if self.device.startswith('cuda'):
            x, y, w = (t.pin_memory().to(self.device, non_blocking=True) for t in (x, y, w))
            return x, y, w, {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in seen.items()}
        return x.to(self.device), y.to(self.device), w.to(self.device), {k: v.to(self.device) for k, v in seen.items()}


def forward_backward(model, batch, *, answer_weight, bucket_lengths, accum=1, scaler=None, ctx=None, sync=True):
    """One micro-step: the loss of a batch (weighted answers), backward, and the loss (detached, scaled by 1/accum).
    bucket_lengths runs short and long rows apart, each cut to its own length: the same loss and gradients.
    sync: whether DDP reduces the gradients after this micro-step (its last)."""
    X, Y, W, seen = batch
    ddp = hasattr(model, 'require_backward_grad_sync')
    backward = (lambda loss: scaler.scale(loss).backward()) if scaler is not None else (lambda loss: loss.backward())
    context = ctx if ctx is not None else nullcontext()
    groups = length_groups(Y) if bucket_lengths else None
    if groups is None:
        if ddp:
            model.require_backward_grad_sync = sync
        with context:
            if answer_weight == 1.0:
                _, loss = model(X, Y, **seen)
            else:  # the answers of weighted tasks weigh answer_weight times a plain target
                logits, _ = model(X, all_logits=True, **seen)
                loss = weighted_loss(logits.float(), Y, W, answer_weight)
            loss = loss / accum
        backward(loss)
        return loss.detach()
    total, loss = loss_weights(Y, W, answer_weight).sum(), 0.0
    for g, (rows, length) in enumerate(groups):
        if ddp:
            model.require_backward_grad_sync = sync and g == len(groups) - 1
        with context:
            logits, _ = model(X[rows, :length], all_logits=True, **{k: v[rows] for k, v in seen.items()})
            part = weighted_loss(logits.float(), Y[rows, :length], W[rows, :length], answer_weight, total) / accum
        backward(part)
        loss = loss + part.detach()
    return loss
