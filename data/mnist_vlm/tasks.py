"""The tasks a model learns, each in one place: its text form, prompt, answer parsing and score.

    read: image:GƀYŦŴŭǈǡǥƅƻƭĴƥķA, number:5.   the answer is the digit after 'number:'
    draw: number:5, image:GƀYŦŴŭǈǡǥƅƻƭĴƥķA.   the answer is the sixteen image letters

A task is an object with a `name` and `records(letters, label)`, its training lines, plus
what its evaluation needs: prompts, batched decoding (the model is passed in, anything called
like nanogpt's GPT), parsing and a score. prepare.py writes the records of the tasks its config
names and lists them in meta.json; training and `make eval` run what meta.json lists. Adding a
task: a class here, an entry in TASKS, and its report section in eval/.
"""
import math

import numpy as np
import torch

from data.mnist_vlm.format import encode, image_ids, make_meta

DIGITS = '0123456789'
GUIDANCE = 1.0  # classifier-free guidance weight of drawing: the one default of every script that draws


def wilson_interval(k, n, z=1.96):
    """95% confidence interval of a proportion k/n (Wilson score; sound near 0 and 1)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def label_accuracy(pred, labels):
    """Accuracy with its 95% CI and accuracy per digit, of predicted digits against the truth."""
    n, k = len(labels), int((pred == labels).sum())
    lo, hi = wilson_interval(k, n)
    per_digit = [float((pred[labels == d] == d).mean()) if (labels == d).any() else float('nan') for d in range(10)]
    return dict(n=n, correct=k, accuracy=k / max(1, n), ci95=[lo, hi], per_digit=per_digit)


class Reading:
    """Read a digit: the likeliest of the ten digit characters after 'image:<letters>, number:'."""
    name = 'read'
    prefix, question = 'image:', ', number:'

    def records(self, image, label):
        return [f"{self.prefix}{image}{self.question}{label}."]

    def prompt_ids(self, codes, meta):
        """Image codes (N, T) -> prompt ids 'image:<letters>, number:' (N, P)."""
        stoi = meta['stoi']
        image = np.array(image_ids(meta))[np.asarray(codes, dtype=np.int64)]
        head, tail = np.array(encode(self.prefix, stoi)), np.array(encode(self.question, stoi))
        n = len(image)
        return np.concatenate([np.tile(head, (n, 1)), image, np.tile(tail, (n, 1))], axis=1)

    def answer_mask(self, records, meta):
        """Which next-token targets (N, L-1) of whole records (N, L) are a reading answer: the digit, only."""
        head = torch.tensor(encode(self.prefix, meta['stoi']))
        mine = (records[:, :len(head)] == head).all(1)
        digit_at = len(self.prefix) + meta['tokens_per_image'] + len(self.question)
        mask = torch.zeros(records.shape[0], records.shape[1] - 1, dtype=torch.bool)
        mask[mine, digit_at - 1] = True  # target t is the character at t + 1
        return mask

    @torch.no_grad()
    def answer_logits(self, model, codes, meta, *, device='cpu', batch_size=2000):
        """Logits (N, vocab) of the character after each prompt: one batched forward pass."""
        prompts = torch.from_numpy(self.prompt_ids(codes, meta))
        out = [model(prompts[i:i + batch_size].to(device))[0][:, -1].float().cpu()
               for i in range(0, len(prompts), batch_size)]
        return torch.cat(out) if out else torch.zeros(0, meta['vocab_size'])

    def parse(self, logits, meta):
        """The answer, constrained to the ten digits: always a digit 0-9."""
        return logits[:, [meta['stoi'][d] for d in DIGITS]].argmax(1).numpy()

    def predict(self, model, codes, meta, *, device='cpu'):
        return self.parse(self.answer_logits(model, codes, meta, device=device), meta)

    def score(self, pred, labels):
        """Accuracy, CI, per-digit accuracy, confusion matrix and the commonest confusions."""
        res = label_accuracy(pred, labels)
        cm = np.zeros((10, 10), dtype=np.int64)
        np.add.at(cm, (labels, pred), 1)
        off = [(int(cm[t, p]), t, p) for t in range(10) for p in range(10) if t != p and cm[t, p]]
        return dict(res, confusion=cm.tolist(),
                    top_confusions=[dict(true=t, pred=p, count=c) for c, t, p in sorted(off, reverse=True)[:5]])

    def evaluate(self, model, codes, labels, meta, *, device='cpu'):
        """The score over a whole split, plus how often free decoding would answer something else than a digit."""
        logits = self.answer_logits(model, codes, meta, device=device)
        res = self.score(self.parse(logits, meta), labels)
        free = [meta['itos'][int(t)] for t in logits.argmax(1)]
        res['free_non_digit_rate'] = float(np.mean([a not in DIGITS for a in free])) if free else 0.0
        return res


class Drawing:
    """Draw a digit: the image letters after 'number:d, image:', decoded by the VQ-VAE and read by a judge."""
    name = 'draw'
    prefix, question = 'number:', ', image:'

    def records(self, image, label):
        return [f"{self.prefix}{label}{self.question}{image}."]

    def prompt_ids(self, labels, meta):
        """Digits (N,) -> prompt ids 'number:<d>, image:' (N, P)."""
        rows = [encode(f"{self.prefix}{d}{self.question}", meta['stoi']) for d in labels]
        return np.array(rows, dtype=np.int64).reshape(len(labels), -1)

    @torch.no_grad()
    def generate(self, model, labels, meta, *, device='cpu', temperature=1.0, top_k=None, guidance=GUIDANCE,
                 constrained=True, seed=None, use_cache=True, batch_size=1000):
        """One image per label: codes (N, T), -1 where the model wrote a character that is not an image letter.

        guidance > 0 steers 'number:d, image:' away from the model's unconditional image stream,
        'image:' continued, which it learned from the reading form (classifier-free guidance
        without extra training). constrained=True masks every character but the image letters.
        """
        T = meta['tokens_per_image']
        img = torch.tensor(image_ids(meta))
        mask = torch.zeros(meta['vocab_size'], dtype=torch.bool)
        mask[img] = True
        to_code = torch.full((meta['vocab_size'],), -1, dtype=torch.long)
        to_code[img] = torch.arange(len(img))
        gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        prompts = torch.from_numpy(self.prompt_ids(labels, meta))
        free = torch.tensor([encode(READ.prefix, meta['stoi'])], device=device)
        out = []
        for i in range(0, len(prompts), batch_size):
            p = prompts[i:i + batch_size].to(device)
            seq = model.generate(p, T, temperature=temperature, top_k=top_k, use_cache=use_cache, generator=gen,
                                 allowed=(lambda step: mask) if constrained else None,
                                 guidance=guidance, uncond=free.expand(len(p), -1) if guidance else None)
            out.append(to_code[seq[:, p.shape[1]:].cpu()])
        return torch.cat(out).numpy() if out else np.zeros((0, T), dtype=np.int64)

    def score(self, judged, labels):
        """How often the judge reads the prompted digit in the drawn images, overall and per digit."""
        res = label_accuracy(judged, labels)
        return dict(judge_accuracy=res['accuracy'], judge_ci95=res['ci95'], judge_per_digit=res['per_digit'])


READ, DRAW = Reading(), Drawing()
TASKS = {t.name: t for t in (READ, DRAW)}


def get_tasks(names):
    """Task objects from names ('read,draw' or a list), refusing unknown names in one line."""
    names = [n.strip() for n in names.split(',')] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise SystemExit(f"error: unknown task(s) {unknown or names}; known tasks: {', '.join(TASKS)}")
    return [TASKS[n] for n in names]


def build_meta(names, num_codes, tokens_per_image):
    """The vocabulary and record length of a dataset holding these tasks' records."""
    tasks = get_tasks(names)
    text = ''.join(r for t in tasks for d in DIGITS for r in t.records('', d))
    seq_len = max(len(r) for t in tasks for d in DIGITS for r in t.records('A' * tokens_per_image, d))
    return dict(make_meta(text, seq_len, num_codes, tokens_per_image), tasks=[t.name for t in tasks])
