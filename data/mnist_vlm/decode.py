"""What every task shares: one image as the tasks see it, and the two ways a task's answer is decoded
(greedy text up to the '.' that ends an answer; image letters, with classifier-free guidance)."""
from collections import namedtuple

import numpy as np
import torch

from common.stats import wilson_interval
from data.mnist_vlm.format import encode, image_ids

IMAGE_PREFIX = 'image:'  # what opens a picture's letters in every record that shows one
GUIDANCE = 1.0  # classifier-free guidance weight of drawing: the one default of every script that draws

# one image as the tasks see it: its letters, label index, attribute levels ({name: 0|1|2}, for captions), and
# its index among the split's pictures (where a record's pixels come from, for a model that reads them)
Sample = namedtuple('Sample', 'letters label attrs index', defaults=(None, None))


def image_input_of(model):
    """How a model sees a record's pictures: 'letters', or an encoder's name when it reads pixels
    (nanogpt/vision.py): then the letters of its prompt are placeholders and the pixels go beside them."""
    return getattr(model, 'image_input', 'letters')


def prompt_images(model, seen, meta):
    """A prompt's picture letters and the pixels beside it: a model that reads letters gets `seen`, codes
    (N, ..., T), and no pixels; one that reads pixels (`seen`: pictures (N, ..., 28, 28)) gets placeholder
    codes of the same layout, and the pictures as a tensor."""
    seen = np.asarray(seen)
    if image_input_of(model) == 'letters':
        return seen, None
    pixels = torch.tensor(seen)  # a copy: a split's pictures are loaded read-only, and torch warns of those
    return np.zeros(seen.shape[:-2] + (meta['tokens_per_image'],), dtype=np.int64), pixels


def placeholder(meta, label, attrs=None):
    """A Sample whose letters are all the first image letter: for a record's characters and length."""
    return Sample(meta['image_alphabet'][0] * meta['tokens_per_image'], label, attrs)


def label_accuracy(pred, labels):
    """Accuracy with its 95% CI and accuracy per label, of predicted label indices against the truth."""
    n, k = len(labels), int((pred == labels).sum())
    lo, hi = wilson_interval(k, n)
    per_digit = [float((pred[labels == d] == d).mean()) if (labels == d).any() else float('nan') for d in range(10)]
    return dict(n=n, correct=k, accuracy=k / max(1, n), ci95=[lo, hi], per_digit=per_digit)


def by_length(rows, batch_size):
    """Indices of the rows (lists of ids), in batches of rows of one length: each batch one tensor."""
    for length in sorted({len(r) for r in rows}):
        which = np.array([i for i, r in enumerate(rows) if len(r) == length])
        for i in range(0, len(which), batch_size):
            yield which[i:i + batch_size]


@torch.no_grad()
def complete(model, prompts, meta, steps, *, pixels=None, device='cpu', batch_size=2000):
    """What greedy decoding writes after each prompt, unconstrained, up to the '.' that ends an answer (None
    when no '.' comes within `steps` characters). prompts: a tensor (N, P) or a list of id lists of any
    lengths; pixels (N, 28, 28), or (N, pictures, 28, 28), beside the rows, for a model that reads them."""
    rows = prompts.tolist() if torch.is_tensor(prompts) else list(prompts)
    answers = [None] * len(rows)
    dot = meta['stoi']['.']
    for idx in by_length(rows, batch_size):
        p = torch.tensor([rows[j] for j in idx], device=device)
        seen = {} if pixels is None else dict(images=pixels[torch.from_numpy(idx)].to(device))
        seq = model.generate(p, steps, temperature=0, **seen)[:, p.shape[1]:].cpu().tolist()
        for j, row in zip(idx, seq):
            answers[j] = ''.join(meta['itos'][t] for t in row).split('.')[0] if dot in row else None
    return answers


@torch.no_grad()
def draw_letters(model, rows, meta, *, device='cpu', temperature=1.0, top_k=None, guidance=GUIDANCE,
                 constrained=True, seed=None, use_cache=True, batch_size=1000):
    """The image letters the model writes after each prompt (lists of ids): codes (N, T), -1 where it wrote
    a character that is not an image letter.

    guidance > 0 steers the prompt away from the model's unconditional image stream, 'image:'
    continued, which it learned from the reading form (classifier-free guidance without extra
    training). constrained=True masks every character but the image letters. Prompts of one length
    are decoded together (all of them, for digits).
    """
    T = meta['tokens_per_image']
    img = torch.tensor(image_ids(meta))
    mask = torch.zeros(meta['vocab_size'], dtype=torch.bool)
    mask[img] = True
    to_code = torch.full((meta['vocab_size'],), -1, dtype=torch.long)
    to_code[img] = torch.arange(len(img))
    gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    free = torch.tensor([encode(IMAGE_PREFIX, meta['stoi'])], device=device)
    codes = np.zeros((len(rows), T), dtype=np.int64)
    for idx in by_length(rows, batch_size):
        p = torch.tensor([rows[j] for j in idx], device=device)
        seq = model.generate(p, T, temperature=temperature, top_k=top_k, use_cache=use_cache, generator=gen,
                             allowed=(lambda step: mask) if constrained else None,
                             guidance=guidance, uncond=free.expand(len(p), -1) if guidance else None)
        codes[idx] = to_code[seq[:, p.shape[1]:].cpu()].numpy()
    return codes
