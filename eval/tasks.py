"""The two tasks asked of a trained model: read a digit, draw a digit. Batched and constrained."""
import numpy as np
import torch

from data.mnist_vlm.format import CLS_PREFIX, classification_prompts, digit_ids, encode, generation_prompts, image_ids


@torch.no_grad()
def answer_logits(model, codes, meta, device='cpu', batch_size=2000):
    """Logits (N, vocab) of the character after 'image:<tokens>, number:', one batched forward pass."""
    prompts = torch.from_numpy(classification_prompts(codes, meta))
    out = [model(prompts[i:i + batch_size].to(device))[0][:, -1].float().cpu()
           for i in range(0, len(prompts), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, meta['vocab_size'])


def read_digits(logits, meta):
    """The most likely of the ten digit characters: constrained, so always a digit 0-9."""
    return logits[:, digit_ids(meta)].argmax(1).numpy()


def classify(model, codes, meta, device='cpu', batch_size=2000):
    """The most likely digit (0-9) for each image's tokens: deterministic, one forward pass per batch."""
    return read_digits(answer_logits(model, codes, meta, device, batch_size), meta)


@torch.no_grad()
def generate_codes(model, labels, meta, device='cpu', temperature=1.0, top_k=None, constrained=True,
                   batch_size=1000, seed=None, use_cache=True, guidance=0.0):
    """Draw one image per label: returns codes (N, T) (-1 where the model wrote a non-image character).
    guidance > 0 guides 'number:d, image:' away from the model's unconditional 'image:' stream, which
    it learned from the reading form (classifier-free guidance, no extra training)."""
    T = meta['tokens_per_image']
    img = torch.tensor(image_ids(meta))
    mask = torch.zeros(meta['vocab_size'], dtype=torch.bool)
    mask[img] = True
    allowed = (lambda step: mask) if constrained else None
    gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    lookup = torch.full((meta['vocab_size'],), -1, dtype=torch.long)
    lookup[img] = torch.arange(len(img))
    prompts = torch.from_numpy(generation_prompts(labels, meta))
    free = torch.tensor([encode(CLS_PREFIX, meta['stoi'])], device=device) if guidance else None
    out = []
    for i in range(0, len(prompts), batch_size):
        p = prompts[i:i + batch_size].to(device)
        seq = model.generate(p, T, temperature=temperature, top_k=top_k, allowed=allowed, use_cache=use_cache,
                             generator=gen, guidance=guidance, uncond=None if free is None else free.expand(len(p), -1))
        out.append(lookup[seq[:, p.shape[1]:].cpu()])
    return torch.cat(out).numpy() if out else np.zeros((0, T), dtype=np.int64)
