"""The text format shared by data preparation, training and evaluation.

Two task forms, padded with '#' to one length:
    image:ABCDEFGHIJKLMNOP, number:7.   (classification)
    number:7, image:ABCDEFGHIJKLMNOP.   (generation)
"""
import json
import os

import numpy as np

PAD = '#'
CLS_PREFIX, GEN_PREFIX = 'image:', 'number:'
DIGITS = '0123456789'


def image_alphabet(num_codes):
    """A-Z, then a contiguous run of further Unicode letters (from U+0100) for larger codebooks."""
    return ''.join(chr(ord('A') + i) if i < 26 else chr(0x100 + i - 26) for i in range(num_codes))


def classification_text(letters, label):
    return f"{CLS_PREFIX}{letters}, {GEN_PREFIX}{label}."


def generation_text(letters, label):
    return f"{GEN_PREFIX}{label}, {CLS_PREFIX}{letters}."


def make_meta(num_codes, tokens_per_image):
    """The vocabulary (every character either form can hold, in a fixed order) and the layout."""
    alphabet = image_alphabet(num_codes)
    chars = sorted(set(PAD + DIGITS + '., ' + CLS_PREFIX + GEN_PREFIX)) + list(alphabet)
    seq_len = len(classification_text('A' * tokens_per_image, 0))
    assert seq_len == len(generation_text('A' * tokens_per_image, 0))
    return dict(vocab_size=len(chars), stoi={c: i for i, c in enumerate(chars)}, itos=dict(enumerate(chars)),
                seq_len=seq_len, pad_char=PAD, image_alphabet=alphabet, tokens_per_image=tokens_per_image,
                num_codes=num_codes)


def load_meta(data_dir):
    """Read meta.json (never the pickle: opening someone's data must not run their code)."""
    path = os.path.join(data_dir, 'meta.json')
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
        meta['itos'] = {int(i): c for i, c in meta['itos'].items()}
        meta['stoi'] = {c: int(i) for c, i in meta['stoi'].items()}
    except FileNotFoundError:
        raise SystemExit(f"error: {path} not found; prepare the data first with `make data`")
    except (ValueError, KeyError, AttributeError) as e:
        raise SystemExit(f"error: {path} is corrupt ({type(e).__name__}); rebuild it with `make data`")
    return meta


def encode(text, stoi):
    """Characters -> ids, refusing any character outside the vocabulary with one clear line."""
    bad = sorted(set(text) - set(stoi))
    if bad:
        raise SystemExit(f"error: characters {''.join(bad)!r} are not in the vocabulary; "
                         f"use only {''.join(sorted(stoi))!r}")
    return [stoi[c] for c in text]


def classification_prompts(codes, meta):
    """Token ids (N, T) -> prompt ids 'image:<letters>, number:' (N, P)."""
    stoi = meta['stoi']
    image = np.array([stoi[c] for c in meta['image_alphabet']])[np.asarray(codes, dtype=np.int64)]
    head = np.array(encode(CLS_PREFIX, stoi))
    tail = np.array(encode(', ' + GEN_PREFIX, stoi))
    n = len(image)
    return np.concatenate([np.tile(head, (n, 1)), image, np.tile(tail, (n, 1))], axis=1)


def generation_prompts(labels, meta):
    """Digits (N,) -> prompt ids 'number:<d>, image:' (N, P)."""
    stoi = meta['stoi']
    return np.array([encode(f"{GEN_PREFIX}{d}, {CLS_PREFIX}", stoi) for d in labels]).reshape(len(labels), -1)


def digit_ids(meta):
    return [meta['stoi'][d] for d in DIGITS]


def image_ids(meta):
    return [meta['stoi'][c] for c in meta['image_alphabet']]
