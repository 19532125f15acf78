"""The one place a trained model is called: cached scoring of answers, greedy completion, guided drawing.

    engine = Engine(vlm, vlm.vocab, device)
    engine.score(['image:ĆƚĘ..., number:'], ['0', '1', ...])   # log-likelihood (N, 10) of each answer
    engine.complete(prompts, steps)                              # greedy text up to the '.' ending an answer
    engine.draw(['number:7, image:'], temperature=1.0, guidance=1.0, seed=0)   # image codes (N, T)
    engine.look(codes)                                           # drawn codes as the run sees a picture

Prompts are text; `images`, for a model that reads pixels, are the pictures their placeholders stand
for: (N, P, S, S[, 3]) uint8 for prompts of P pictures each (or (N, S, S[, 3]) for one), or the image
encoder's vectors of them as vlm.see() gives them, (N, P, V, n_embd) (or (N, V, n_embd)) float. Tasks (tasks/*.py)
and the commands ask here; nothing else calls the model.
"""
import numpy as np
import torch

from tasks.base import IMAGE_PREFIX
from tasks.vocab import decode, encode, image_ids

GUIDANCE = 1.0  # classifier-free guidance weight of drawing: the one default of every script that draws


def by_length(rows, batch_size):
    """Indices of the rows (lists of ids), in batches of rows of one length: each batch one tensor."""
    for length in sorted({len(r) for r in rows}):
        which = np.array([i for i, r in enumerate(rows) if len(r) == length])
        for i in range(0, len(which), batch_size):
            yield which[i:i + batch_size]


class Engine:

    def __init__(self, model, meta, device='cpu'):
        self.model, self.meta, self.device = model, meta, device

    def ids(self, texts):
        return [encode(t, self.meta['stoi']) for t in texts]

    def pictures(self, images, rows):
        """The model's picture inputs of these rows (indices), on the device; {} for a model that reads letters."""
        if images is None:
            return {}
        pics = torch.as_tensor(np.asarray(images)[np.asarray(rows)])  # a copy: splits are loaded read-only
        return dict(images=pics.to(self.device))

    @torch.no_grad()
    def score(self, prompts, answers, images=None, batch_size=2000):
        """Log-likelihood (N, C) of each answer string after each prompt (prompts of one length): one batched
        forward pass over the prompts, whose keys and values are then shared by one short pass per answer of
        several characters (none for one character: the prompt's last logits score them all)."""
        model, out = self.model, []
        ids = [encode(a, self.meta['stoi']) for a in answers]
        prompts = torch.tensor(self.ids(prompts), dtype=torch.long).reshape(len(prompts), -1)
        for i in range(0, len(prompts), batch_size):
            p = prompts[i:i + batch_size].to(self.device)
            caches = [[] for _ in range(model.config.n_layer)]
            logits, _ = model(p, caches=caches, **self.pictures(images, np.arange(i, i + len(p))))
            first = logits[:, -1].float().log_softmax(-1)
            score = torch.zeros(len(p), len(ids), device=self.device)
            for j, a in enumerate(ids):
                score[:, j] = first[:, a[0]]
                if len(a) > 1:  # the rest of the answer, teacher-forced after the shared prompt
                    rest = torch.tensor(a, device=self.device).expand(len(p), -1)
                    logits, _ = model(rest[:, :-1], caches=[list(c) for c in caches], pos0=p.shape[1], all_logits=True)
                    score[:, j] += logits.float().log_softmax(-1).gather(2, rest[:, 1:, None]).sum((1, 2))
            out.append(score.cpu())
        return torch.cat(out) if out else torch.zeros(0, len(ids))

    @torch.no_grad()
    def likelihood(self, prompts, answers, images=None, batch_size=1000):
        """Log-likelihood (N,) of each row's own answer after its own prompt, teacher-forced: one forward pass
        over prompt + answer, rows of one length together."""
        heads = self.ids(prompts)
        rows = [p + a for p, a in zip(heads, self.ids(answers))]
        starts = [len(p) for p in heads]
        out = torch.zeros(len(rows))
        for idx in by_length(rows, batch_size):
            seq = torch.tensor([rows[j] for j in idx], device=self.device)
            logits, _ = self.model(seq[:, :-1], all_logits=True, **self.pictures(images, idx))
            # a picture's placeholder (one past the vocabulary) is never a target of the answer: clamped, not read
            targets = seq[:, 1:, None].clamp(max=logits.shape[-1] - 1)
            logp = logits.float().log_softmax(-1).gather(2, targets)[..., 0].cpu()
            for k, j in enumerate(idx):
                out[j] = logp[k, starts[j] - 1:].sum()
        return out

    @torch.no_grad()
    def complete(self, prompts, steps, images=None, batch_size=500):
        """What greedy decoding writes after each prompt, unconstrained, up to the '.' that ends an answer (None
        when no '.' comes within `steps` characters). Prompts of one length are decoded together."""
        rows = self.ids(prompts)
        answers = [None] * len(rows)
        dot = self.meta['stoi']['.']
        for idx in by_length(rows, batch_size):
            p = torch.tensor([rows[j] for j in idx], device=self.device)
            seq = self.model.generate(p, steps, temperature=0, stop=dot, **self.pictures(images, idx))[:, p.shape[1]:]
            for j, row in zip(idx, seq.cpu().tolist()):
                answers[j] = decode(row, self.meta['itos']).split('.')[0] if dot in row else None
        return answers

    @torch.no_grad()
    def draw(self, prompts, *, temperature=1.0, top_k=None, guidance=GUIDANCE, constrained=True, seed=None,
             use_cache=True, batch_size=1000):
        """The image letters the model writes after each prompt: codes (N, T), -1 where it wrote a character that
        is not an image letter.

        guidance > 0 steers the prompt away from the model's unconditional image stream, 'image:'
        continued, which it learned from the reading form (classifier-free guidance without extra
        training). constrained=True masks every character but the image letters. Prompts of one length
        are decoded together (all of them, for digits).
        """
        meta, rows = self.meta, self.ids(prompts)
        T = meta['tokens_per_image']
        img = torch.tensor(image_ids(meta))
        mask = torch.zeros(meta['vocab_size'], dtype=torch.bool)
        mask[img] = True
        to_code = torch.full((meta['vocab_size'],), -1, dtype=torch.long)
        to_code[img] = torch.arange(len(img))
        gen = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        free = torch.tensor([encode(IMAGE_PREFIX, meta['stoi'])], device=self.device)
        codes = np.zeros((len(rows), T), dtype=np.int64)
        for idx in by_length(rows, batch_size):
            p = torch.tensor([rows[j] for j in idx], device=self.device)
            seq = self.model.generate(p, T, temperature=temperature, top_k=top_k, use_cache=use_cache, generator=gen,
                                      allowed=(lambda step: mask) if constrained else None,
                                      guidance=guidance, uncond=free.expand(len(p), -1) if guidance else None)
            codes[idx] = to_code[seq[:, p.shape[1]:].cpu()].numpy()
        return codes

    def see(self, pictures):
        """What the run reads of uint8 pictures (N, S, S[, 3]): their letters, or its encoder's vectors (vlm.see)."""
        return self.model.see(pictures)

    def look(self, codes):
        """Drawn codes (N, T) as the run sees any picture: decoded by its tokenizer, then its letters again, or
        its encoder's vectors. How a run reads its own drawings."""
        return self.see(self.model.decode(codes)[0])

    @torch.no_grad()
    def loss(self, rows):
        """The mean next-token loss over rows (N, L) of ids, every target counted."""
        rows = rows.to(self.device)
        _, loss = self.model(rows[:, :-1], rows[:, 1:])
        return loss.item()
