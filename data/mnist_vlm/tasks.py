"""The tasks a model learns, each in one place: its text form, prompt, answer parsing and score.

    read: image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, number:5.       the answer is the label after 'number:'
    draw: number:5, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.       the answer is the sixteen image letters
    read: image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, word:ankle boot.  labels as words (prepare's labels='words')
    draw: word:five, image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ.
    caption, caption_draw, question: grounded captions and questions (data/mnist_vlm/grounded.py)

The labels are the ten strings meta.json lists: the digits, or the dataset's words
(data/mnist.py). A task is an object with a `name`, `records(sample, meta, rng=, pool=)`: its
training records about one image as (prompt, answer) pairs (a record is prompt + answer + '.'; a
third item, where there is one, lists the Sample.index of the further pictures the prompt shows),
`weighted` (whether answer_weight scales its answer in the loss) and `texts(meta)`: every record it
can write about placeholder letters (the vocabulary and record length come from them); plus what its
evaluation needs: prompts, batched decoding (the model is passed in, anything called like
nanogpt's GPT), parsing and a score. prepare.py writes the records of the tasks its config names
and lists them in meta.json; training and `make eval` run what meta.json lists. Adding a task: a
class, an entry in TASKS, and its report section in eval/.
"""
import math

import numpy as np
import torch

from data.attributes import attributes_of
from data.mnist import label_words
from data.mnist_vlm.decode import IMAGE_PREFIX, complete, draw_letters, label_accuracy, placeholder, prompt_images
from data.mnist_vlm.format import check_text, encode, image_alphabet, image_ids, make_meta
from data.mnist_vlm.grounded import CAPTION, CAPTION_DRAW, QUESTION

DIGITS = '0123456789'
LABEL_KEYS = {'digits': 'number', 'words': 'word'}  # how each form of the labels is introduced in a record


def label_texts(task, meta):
    """Every record a task that writes only a label and the letters makes: one per label."""
    return [p + a + '.' for d in range(10) for p, a in task.records(placeholder(meta, d), meta)]


class Reading:
    """Read an image: the likeliest of the ten label strings after 'image:<letters>, number:'.

    `images` are what the model reads: image codes (N, T), or uint8 pixels (N, 28, 28) for a model
    that reads pixels."""
    name = 'read'
    prefix = IMAGE_PREFIX
    weighted = True

    def question(self, meta):
        return f", {meta['label_key']}:"

    def records(self, sample, meta, rng=None, pool=None):
        return [(f"{self.prefix}{sample.letters}{self.question(meta)}", meta['labels'][sample.label])]

    def texts(self, meta):
        return label_texts(self, meta)

    def prompt_ids(self, codes, meta):
        """Image codes (N, T) -> prompt ids 'image:<letters>, number:' (N, P)."""
        stoi = meta['stoi']
        image = np.array(image_ids(meta))[np.asarray(codes, dtype=np.int64)]
        head, tail = np.array(encode(self.prefix, stoi)), np.array(encode(self.question(meta), stoi))
        n = len(image)
        return np.concatenate([np.tile(head, (n, 1)), image, np.tile(tail, (n, 1))], axis=1)

    def prompts(self, model, images, meta):
        """Prompt ids (N, P), and the pixels (N, 28, 28) beside them for a model that reads pixels (else None)."""
        codes, pixels = prompt_images(model, images, meta)
        return torch.from_numpy(self.prompt_ids(codes, meta)), pixels

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

    def free_answers(self, model, images, meta, *, device='cpu'):
        """What greedy decoding writes after each prompt, unconstrained, up to the '.' that ends an answer."""
        prompts, pixels = self.prompts(model, images, meta)
        return complete(model, prompts, meta, max(len(a) for a in meta['labels']) + 1, pixels=pixels, device=device)

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
    weighted = False

    def prefix(self, meta):
        return f"{meta['label_key']}:"

    def records(self, sample, meta, rng=None, pool=None):
        return [(f"{self.prefix(meta)}{meta['labels'][sample.label]}{self.question}", sample.letters)]

    def texts(self, meta):
        return label_texts(self, meta)

    def prompt_ids(self, labels, meta):
        """Label indices (N,) -> prompt ids 'number:<d>, image:', a list of N rows (words differ in length)."""
        return [encode(f"{self.prefix(meta)}{meta['labels'][d]}{self.question}", meta['stoi']) for d in labels]

    def generate(self, model, labels, meta, **sampling):
        """One image per label: codes (N, T), -1 where the model wrote a character that is not an image letter.
        sampling: draw_letters' options (temperature, top_k, guidance, constrained, seed, ...)."""
        return draw_letters(model, self.prompt_ids(labels, meta), meta, **sampling)

    def score(self, judged, labels):
        """How often the judge reads the prompted label in the drawn images, overall and per label."""
        res = label_accuracy(judged, labels)
        return dict(judge_accuracy=res['accuracy'], judge_ci95=res['ci95'], judge_per_digit=res['per_digit'])


READ, DRAW = Reading(), Drawing()
TASKS = {t.name: t for t in (READ, DRAW, CAPTION, CAPTION_DRAW, QUESTION)}


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


def build_meta(names, num_codes, tokens_per_image, *, dataset='mnist', labels='digits', text='', question_work=False):
    """The vocabulary and record length of a dataset holding these tasks' records (and `text`, mixed in)."""
    tasks = get_tasks(names)
    form = dict(labels=label_strings(dataset, labels), label_key=LABEL_KEYS[labels], label_words=label_words(dataset),
                attributes=list(attributes_of(dataset)), dataset=dataset, question_work=question_work)
    alphabet = image_alphabet(num_codes)
    texts = [r for t in tasks for r in t.texts(dict(form, image_alphabet=alphabet, tokens_per_image=tokens_per_image))]
    task_chars = ''.join(sorted(set(''.join(texts)) - {alphabet[0]}))
    meta = make_meta(task_chars + text, 0, num_codes, tokens_per_image)
    check_text(task_chars, alphabet, 'the labels and task templates')
    check_text(text, alphabet, 'the text to mix in')
    # the keys only some tasks read (attributes, label words) are kept only where they are read: the meta.json of
    # reading and drawing alone stays as it was, and so do the checkpoints that recorded its SHA-256 (a switch
    # left off, question_work, is left out alike)
    extra = {k: form[k] for t in tasks for k in getattr(t, 'meta_keys', ()) if form[k] is not False}
    return dict(meta, labels=form['labels'], label_key=form['label_key'], **extra, dataset=dataset,
                seq_len=max(len(r) for r in texts), label_form=labels, tasks=[t.name for t in tasks])


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
