"""A GPT language model in the shape of nanoGPT's: same modules, same parameter names.

A checkpoint's state dict therefore reads like nanoGPT's
(transformer.wte.weight, transformer.h.0.attn.c_attn.weight, lm_head.weight, ...)
and nanoGPT's tools open it. Added for this project: a key/value cache and
constrained decoding for fast, well-formed generation.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F



@dataclass
class GPTConfig:
    block_size: int = 32
    vocab_size: int = 50
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True


class LayerNorm(nn.Module):
    """LayerNorm whose bias can be switched off (nn.LayerNorm's cannot, in older torch)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.block_size = config.n_head, config.n_embd, config.block_size

    def forward(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            # cache holds the keys and values of earlier positions, and how many: buffers written in place and
            # doubled when full (a torch.cat per new letter copied the whole cache each time); new queries see all
            # of them. A copy of the list (engine.score's answers) goes on from the same positions, over the last
            # copy's: one after another, never two at once
            keys, values, n = cache or (None, None, 0)
            if keys is None or n + T > keys.shape[2]:
                shape = (B, self.n_head, min(self.block_size, 2 * (n + T)), C // self.n_head)
                grown = k.new_empty(shape), v.new_empty(shape)
                if n:
                    grown[0][:, :, :n], grown[1][:, :, :n] = keys[:, :, :n], values[:, :, :n]
                keys, values = grown
            keys[:, :, n:n + T], values[:, :, n:n + T] = k, v
            cache[:] = [keys, values, n + T]
            k, v = keys[:, :, :n + T], values[:, :, :n + T]
        S = k.shape[2]
        causal = T > 1 and S == T
        # several new positions after cached ones: each sees every cached key and the new ones up to itself
        mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T) if 1 < T < S else None
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                           dropout_p=self.attn_dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying, as in GPT-2
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections keeps the residual stream's variance flat
        for name, p in self.named_parameters():
            if name.endswith('c_proj.weight'):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding=True):
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None, caches=None, pos0=0, all_logits=False, embeds=None):
        """Logits for every position when targets are given (or all_logits), else for the last one.

        Targets of -1 are ignored by the loss (padding). With `caches` (a list of
        per-layer lists, empty at first), positions start at pos0 and keys/values are kept for the next call.
        embeds (B, T, n_embd), when given, stand in for the token embeddings of idx (patch: an image
        encoder's vectors where a picture goes, nanogpt/vision.py).
        """
        B, T = idx.shape
        if pos0 + T > self.config.block_size:
            raise ValueError(f"sequence of {pos0 + T} tokens exceeds block_size {self.config.block_size}")
        pos = torch.arange(pos0, pos0 + T, device=idx.device)
        tok = self.transformer.wte(idx) if embeds is None else embeds
        x = self.transformer.drop(tok + self.transformer.wpe(pos))
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if caches is None else caches[i])
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-1)
            return logits, loss
        return (self.lm_head(x) if all_logits else self.lm_head(x[:, [-1], :])), None

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        # decay the matrices (weights, embeddings), not the biases and norms
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{'params': [p for p in params if p.dim() >= 2], 'weight_decay': weight_decay},
                  {'params': [p for p in params if p.dim() < 2], 'weight_decay': 0.0}]
        extra = dict(fused=True) if device_type == 'cuda' else {}
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **extra)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, *, temperature=1.0, top_k=None, allowed=None, use_cache=True,
                 generator=None, guidance=0.0, uncond=None, embeds=None, stop=None):
        """Continue each row of idx by max_new_tokens tokens.

        allowed: optional function (step) -> bool mask over the vocabulary; tokens
        outside it are never drawn (constrained decoding). temperature 0 is greedy.
        guidance > 0 is classifier-free guidance: `uncond` holds the same rows without their
        condition (e.g. 'image:' for 'number:7, image:'), continued with the same tokens, and the
        next token is drawn from log p(x|c) + guidance * (log p(x|c) - log p(x)), then temperature.
        embeds: input embeddings of idx's positions (see forward), read in the first, cached, pass.
        stop: a token id; once every row has written it, the rows end there (an answer's '.'), shorter.
        """
        if embeds is not None and not use_cache:
            raise ValueError("input embeddings are read once, in the cached pass over the prompt: use_cache=True")
        streams = [idx, uncond] if guidance else [idx]
        caches = [[[] for _ in self.transformer.h] if use_cache else None for _ in streams]
        pos0, inputs = [0] * len(streams), list(streams)
        stopped = torch.zeros(idx.shape[0], dtype=torch.bool, device=idx.device)
        for step in range(max_new_tokens):
            last = []
            for i, seq in enumerate(streams):
                if use_cache:
                    given = embeds if step == 0 and i == 0 else None
                    logits, _ = self(inputs[i], caches=caches[i], pos0=pos0[i], embeds=given)
                    pos0[i] += inputs[i].shape[1]
                else:
                    logits, _ = self(seq[:, -self.config.block_size:])
                last.append(logits[:, -1, :].float())
            logits = last[0]
            if guidance:
                cond, free = last[0].log_softmax(-1), last[1].log_softmax(-1)
                logits = cond + guidance * (cond - free)
            if allowed is not None:
                logits = logits.masked_fill(~allowed(step).to(logits.device), float('-inf'))
            if temperature == 0:
                nxt = logits.argmax(-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits = logits.masked_fill(logits < v[:, [-1]], float('-inf'))
                nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
            streams = [torch.cat([seq, nxt], 1) for seq in streams]
            inputs = [nxt] * len(streams)
            if stop is not None:
                stopped |= nxt[:, 0] == stop
                if stopped.all():
                    break
        return streams[0]
