"""The record format every stage shares: characters, image letters, the picture placeholder, the vocabulary.

Every record is one line of text padded with '#' to the data's seq_len; each task (tasks/*.py) says
what its lines hold. A picture is written as letters of a block of their own, a contiguous run of
Unicode letters from U+0100 (Ā ā Ă ...), that no text of the project uses: the words of the labels
and Shakespeare are ASCII, so a character is an image code exactly when it lies in that block, and
text mixed in can never be read as a picture.

A model that reads pixels (nanogpt/vision.py) sees the placeholder '□' where a picture stands, one
per vector its encoder writes: 'image:□, number:5.' The placeholder is not one of the GPT's tokens
(its id is vocab_size, one past them): it is never read as a character or written, and the VLM puts
an image vector in its place, as nanoVLM does with its image token.
"""
import json
import os

import numpy as np

PAD = '#'
IMAGE_BLOCK = 0x100  # image code i is written chr(IMAGE_BLOCK + i)
IMAGE_TOKEN = '\u25a1'  # '□': where an image encoder's vector goes


def image_alphabet(num_codes):
    """The letters of image codes 0..num_codes-1: U+0100 onwards (Latin Extended-A and -B, then IPA)."""
    alphabet = ''.join(chr(IMAGE_BLOCK + i) for i in range(num_codes))
    if not alphabet.isalpha():
        raise SystemExit(f"error: a codebook of {num_codes} codes runs past the Unicode letters that follow "
                         f"U+{IMAGE_BLOCK:04X}; use a smaller codebook")
    return alphabet


def check_text(text_chars, alphabet, what):
    """Refuse text that holds the padding, the placeholder or an image letter: it would be read as a picture."""
    clash = sorted(set(text_chars) & set(alphabet + PAD + IMAGE_TOKEN))
    if clash:
        raise SystemExit(f"error: {what} holds {''.join(clash)!r}, the padding character, the picture placeholder "
                         f"or image letters (U+{IMAGE_BLOCK:04X}...); remove those characters from it")


def make_vocab(text_chars, num_codes, tokens_per_image):
    """The vocabulary: padding and the text characters (sorted), then the image letters; the placeholder
    after them, outside the GPT's vocab_size."""
    alphabet = image_alphabet(num_codes)
    chars = sorted(set(PAD + text_chars)) + list(alphabet)
    stoi = {c: i for i, c in enumerate(chars)}
    stoi[IMAGE_TOKEN] = len(chars)
    return dict(vocab_size=len(chars), stoi=stoi, itos={i: c for c, i in stoi.items()}, pad_char=PAD,
                image_alphabet=alphabet, image_token=IMAGE_TOKEN, tokens_per_image=tokens_per_image,
                num_codes=num_codes)


def read_vocab(path, fix):
    """A vocabulary from JSON (never a pickle: opening someone's data must not run their code), or one line."""
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
        meta['itos'] = {int(i): c for i, c in meta['itos'].items()}
        meta['stoi'] = {c: int(i) for c, i in meta['stoi'].items()}
    except FileNotFoundError:
        raise SystemExit(f"error: {path} not found; {fix}")
    except (ValueError, KeyError, AttributeError, TypeError) as e:
        raise SystemExit(f"error: {path} is corrupt ({type(e).__name__}); {fix}")
    missing = [k for k in ('tasks', 'labels', 'image_token', 'seq_len', 'vocab_size') if k not in meta]
    if missing:
        raise SystemExit(f"error: {path} was written by an older version (no {', '.join(missing)}); {fix}")
    return meta


def load_meta(data_dir):
    """The meta.json of a prepared data folder."""
    return read_vocab(os.path.join(data_dir, 'meta.json'), 'prepare the data first with `make data`')


def encode(text, stoi):
    """Characters -> ids, refusing any character outside the vocabulary with one clear line."""
    bad = sorted(set(text) - set(stoi))
    if bad:
        raise SystemExit(f"error: characters {''.join(bad)!r} are not in the vocabulary; "
                         f"use only {''.join(sorted(stoi))!r}")
    return [stoi[c] for c in text]


def encode_array(text, stoi):
    """encode() of a long text at once (a data file's millions of characters), as uint16 ids: each character's code
    point looked up in a table."""
    points = np.frombuffer(text.encode('utf-32-le'), dtype=np.uint32)
    table = np.full(max(map(ord, stoi)) + 2, -1, dtype=np.int64)  # its last slot stands for every character above
    table[[ord(c) for c in stoi]] = list(stoi.values())
    ids = table[np.minimum(points, len(table) - 1)]
    if (ids < 0).any():
        encode(text, stoi)  # the one line naming the characters outside the vocabulary
    return ids.astype(np.uint16)


def decode(ids, itos):
    return ''.join(itos[i] for i in ids)


def image_ids(meta):
    return [meta['stoi'][c] for c in meta['image_alphabet']]


def image_token_id(meta):
    return meta['stoi'][meta['image_token']]


def letters(codes, meta):
    """A row of image codes as its letters."""
    return ''.join(meta['image_alphabet'][c] for c in codes)
