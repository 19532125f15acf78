"""The tasks a model learns, each in one place: its text form, prompt, answer parsing and score.

    read: image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, number:5.       the answer is the label after 'number:'
    draw: number:5, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.       the answer is the sixteen image letters
    read: image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, word:ankle boot.  labels as words (prepare's labels='words')
    draw: word:five, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.

The labels are the ten strings meta.json lists: the digits, or the dataset's words
(data/mnist.py). A task is an object with a `name` and `records(letters, label, meta)`, its
training lines, plus
what its evaluation needs: prompts, batched decoding (the model is passed in, anything called
like nanogpt's GPT), parsing and a score. prepare.py writes the records of the tasks its config
names and lists them in meta.json; training and `make eval` run what meta.json lists. Adding a
task: a class here, an entry in TASKS, and its report section in eval/.
"""
import math

import numpy as np
import torch

from data.mnist import label_words
from data.mnist_vlm.format import check_text, encode, image_ids, make_meta

DIGITS = '0123456789'
LABEL_KEYS = {'digits': 'number', 'words': 'word'}  # how each form of the labels is introduced in a record
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


def image_input_of(model):
    """How a model sees a reading record's picture: 'letters', or an encoder's name when it reads pixels
    (nanogpt/vision.py): then the letters of its prompt are placeholders and the pixels go beside them."""
    return getattr(model, 'image_input', 'letters')


class Reading:
    """Read an image: the likeliest of the ten label strings after 'image:<letters>, number:'.

    `images` are what the model reads: image codes (N, T), or uint8 pixels (N, 28, 28) for a model
    that reads pixels."""
    name = 'read'
    prefix = 'image:'

    def question(self, meta):
        return f", {meta['label_key']}:"

    def records(self, image, label, meta):
        return [f"{self.prefix}{image}{self.question(meta)}{meta['labels'][label]}."]

    def prompt_ids(self, codes, meta):
        """Image codes (N, T) -> prompt ids 'image:<letters>, number:' (N, P)."""
        stoi = meta['stoi']
        image = np.array(image_ids(meta))[np.asarray(codes, dtype=np.int64)]
        head, tail = np.array(encode(self.prefix, stoi)), np.array(encode(self.question(meta), stoi))
        n = len(image)
        return np.concatenate([np.tile(head, (n, 1)), image, np.tile(tail, (n, 1))], axis=1)

    def prompts(self, model, images, meta):
        """Prompt ids (N, P), and the pixels (N, 28, 28) beside them for a model that reads pixels (else None)."""
        if image_input_of(model) == 'letters':
            return torch.from_numpy(self.prompt_ids(images, meta)), None
        placeholders = np.zeros((len(images), meta['tokens_per_image']), dtype=np.int64)
        return torch.from_numpy(self.prompt_ids(placeholders, meta)), torch.from_numpy(np.asarray(images))

    def rows(self, records, meta):
        """Which of the records (N, L) are reading records (they open with 'image:')."""
        head = torch.tensor(encode(self.prefix, meta['stoi']))
        return (records[:, :len(head)] == head).all(1)

    def image_targets(self, meta):
        """The next-token targets of a reading record that are its image letters (a slice)."""
        return slice(len(self.prefix) - 1, len(self.prefix) - 1 + meta['tokens_per_image'])

    def answer_mask(self, records, meta):
        """Which next-token targets (N, L-1) of whole records (N, L) are a reading answer: the label's
        characters, up to the '.' that ends it."""
        mine = self.rows(records, meta)
        start = len(self.prefix) + meta['tokens_per_image'] + len(self.question(meta))
        tail = records[:, start:]
        before_dot = (tail == meta['stoi']['.']).long().cumsum(1) == 0
        mask = torch.zeros(records.shape[0], records.shape[1] - 1, dtype=torch.bool)
        mask[:, start - 1:] = before_dot & mine[:, None]  # target t is the character at t + 1
        return mask

    @torch.no_grad()
    def answer_scores(self, model, images, meta, *, device='cpu', batch_size=2000):
        """Log-likelihood (N, 10) of each label string after each prompt: one batched forward pass over
        the prompts, whose keys and values are then shared by one short pass per label of several
        characters (none for digits: the prompt's last logits score them all)."""
        labels = [encode(a, meta['stoi']) for a in meta['labels']]
        prompts, pixels = self.prompts(model, images, meta)
        out = []
        for i in range(0, len(prompts), batch_size):
            p = prompts[i:i + batch_size].to(device)
            caches = [[] for _ in range(model.config.n_layer)]
            seen = {} if pixels is None else dict(images=pixels[i:i + batch_size].to(device))
            logits, _ = model(p, caches=caches, **seen)
            first = logits[:, -1].float().log_softmax(-1)
            score = torch.zeros(len(p), len(labels), device=device)
            for j, ids in enumerate(labels):
                score[:, j] = first[:, ids[0]]
                if len(ids) > 1:  # the rest of the label, teacher-forced after the shared prompt
                    rest = torch.tensor(ids, device=device).expand(len(p), -1)
                    logits, _ = model(rest[:, :-1], caches=[list(c) for c in caches], pos0=p.shape[1], all_logits=True)
                    score[:, j] += logits.float().log_softmax(-1).gather(2, rest[:, 1:, None]).sum((1, 2))
            out.append(score.cpu())
        return torch.cat(out) if out else torch.zeros(0, len(labels))

    def parse(self, scores):
        """The answer, constrained to the ten labels: always a label index 0-9."""
        return scores.argmax(1).numpy()

    def predict(self, model, images, meta, *, device='cpu'):
        return self.parse(self.answer_scores(model, images, meta, device=device))

    @torch.no_grad()
    def free_answers(self, model, images, meta, *, device='cpu', batch_size=2000):
        """What greedy decoding writes after each prompt, unconstrained, up to the '.' that ends an answer."""
        steps = max(len(a) for a in meta['labels']) + 1
        prompts, pixels = self.prompts(model, images, meta)
        answers = []
        for i in range(0, len(prompts), batch_size):
            p = prompts[i:i + batch_size].to(device)
            seen = {} if pixels is None else dict(images=pixels[i:i + batch_size].to(device))
            seq = model.generate(p, steps, temperature=0, **seen)[:, p.shape[1]:].cpu().tolist()
            answers += [''.join(meta['itos'][t] for t in row).split('.')[0] if meta['stoi']['.'] in row else None
                        for row in seq]
        return answers

    def score(self, pred, labels):
        """Accuracy, CI, per-label accuracy, confusion matrix and the commonest confusions."""
        res = label_accuracy(pred, labels)
        cm = np.zeros((10, 10), dtype=np.int64)
        np.add.at(cm, (labels, pred), 1)
        off = [(int(cm[t, p]), t, p) for t in range(10) for p in range(10) if t != p and cm[t, p]]
        return dict(res, confusion=cm.tolist(),
                    top_confusions=[dict(true=t, pred=p, count=c) for c, t, p in sorted(off, reverse=True)[:5]])

    def evaluate(self, model, images, labels, meta, *, device='cpu'):
        """The score over a whole split, plus how often free decoding answers something that is not a label."""
        res = self.score(self.predict(model, images, meta, device=device), labels)
        free = self.free_answers(model, images, meta, device=device)
        res['free_non_label_rate'] = float(np.mean([a not in meta['labels'] for a in free])) if free else 0.0
        return res


class Drawing:
    """Draw an image: the image letters after 'number:d, image:', decoded by the VQ-VAE and read by a judge."""
    name = 'draw'
    question = ', image:'

    def prefix(self, meta):
        return f"{meta['label_key']}:"

    def records(self, image, label, meta):
        return [f"{self.prefix(meta)}{meta['labels'][label]}{self.question}{image}."]

    def prompt_ids(self, labels, meta):
        """Label indices (N,) -> prompt ids 'number:<d>, image:', a list of N rows (words differ in length)."""
        return [encode(f"{self.prefix(meta)}{meta['labels'][d]}{self.question}", meta['stoi']) for d in labels]

    @torch.no_grad()
    def generate(self, model, labels, meta, *, device='cpu', temperature=1.0, top_k=None, guidance=GUIDANCE,
                 constrained=True, seed=None, use_cache=True, batch_size=1000):
        """One image per label: codes (N, T), -1 where the model wrote a character that is not an image letter.

        guidance > 0 steers 'number:d, image:' away from the model's unconditional image stream,
        'image:' continued, which it learned from the reading form (classifier-free guidance
        without extra training). constrained=True masks every character but the image letters.
        Prompts of one length are decoded together (all of them, for digits).
        """
        T = meta['tokens_per_image']
        img = torch.tensor(image_ids(meta))
        mask = torch.zeros(meta['vocab_size'], dtype=torch.bool)
        mask[img] = True
        to_code = torch.full((meta['vocab_size'],), -1, dtype=torch.long)
        to_code[img] = torch.arange(len(img))
        gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        rows = self.prompt_ids(labels, meta)
        free = torch.tensor([encode(READ.prefix, meta['stoi'])], device=device)
        codes = np.zeros((len(rows), T), dtype=np.int64)
        for length in sorted({len(r) for r in rows}):
            which = np.array([i for i, r in enumerate(rows) if len(r) == length])
            for i in range(0, len(which), batch_size):
                idx = which[i:i + batch_size]
                p = torch.tensor([rows[j] for j in idx], device=device)
                seq = model.generate(p, T, temperature=temperature, top_k=top_k, use_cache=use_cache, generator=gen,
                                     allowed=(lambda step: mask) if constrained else None,
                                     guidance=guidance, uncond=free.expand(len(p), -1) if guidance else None)
                codes[idx] = to_code[seq[:, length:].cpu()].numpy()
        return codes

    def score(self, judged, labels):
        """How often the judge reads the prompted label in the drawn images, overall and per label."""
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


def label_strings(dataset, form):
    """The ten labels as written in records: 'digits' (0-9) or 'words' (the dataset's class names)."""
    if form not in LABEL_KEYS:
        raise SystemExit(f"error: labels={form!r}; use one of {', '.join(LABEL_KEYS)}")
    return list(DIGITS) if form == 'digits' else label_words(dataset)


def build_meta(names, num_codes, tokens_per_image, *, dataset='mnist', labels='digits', text=''):
    """The vocabulary and record length of a dataset holding these tasks' records (and `text`, mixed in)."""
    tasks = get_tasks(names)
    form = dict(labels=label_strings(dataset, labels), label_key=LABEL_KEYS[labels])
    task_text = ''.join(r for t in tasks for d in range(10) for r in t.records('', d, form))
    meta = make_meta(task_text + text, 0, num_codes, tokens_per_image)
    check_text(task_text, meta['image_alphabet'], 'the labels')
    check_text(text, meta['image_alphabet'], 'the text to mix in')
    seq_len = max(len(r) for t in tasks for d in range(10) for r in t.records('A' * tokens_per_image, d, form))
    return dict(meta, **form, seq_len=seq_len, dataset=dataset, label_form=labels, tasks=[t.name for t in tasks])


class Text:
    """Plain text mixed into training (Tiny Shakespeare): rows are windows of the text, every character a
    target, and the score is bits per character on held-out text. Its ids are text_{train,val}.bin."""
    name = 'text'

    def windows(self, ids, starts, length):
        """Rows (len(starts), length) of the text ids (1-D tensor) from each start."""
        return ids[starts[:, None] + torch.arange(length)]

    @torch.no_grad()
    def bits_per_char(self, model, ids, length, *, device='cpu', batch_size=256):
        """Mean loss in bits over every character of `ids` but the first of each window, cut into
        non-overlapping windows of `length` (the model's block + 1): deterministic, all of the text."""
        n = (len(ids) - 1) // (length - 1)
        starts = torch.arange(n) * (length - 1)
        total = 0.0
        for i in range(0, n, batch_size):
            w = self.windows(ids, starts[i:i + batch_size], length).to(device)
            _, loss = model(w[:, :-1], w[:, 1:])
            total += loss.item() * len(w)
        return total / max(1, n) / math.log(2)


TEXT = Text()
