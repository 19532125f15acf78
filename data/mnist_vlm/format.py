"""The vocabulary of the text datasets: image letters, padding, meta.json.

Every record is one line of text padded with '#' to the dataset's seq_len; the
tasks (data/mnist_vlm/tasks.py) say what the lines hold. Image codes are written
as letters of a block of their own, a contiguous run of Unicode letters from
U+0100 (Ā ā Ă ...), that no text of the project uses: the words of the labels
and Shakespeare are ASCII, so a character is an image code exactly when it lies
in that block, and text mixed in can never be read as a picture.
"""
import json
import os

PAD = '#'
IMAGE_BLOCK = 0x100  # image code i is written chr(IMAGE_BLOCK + i)


def image_alphabet(num_codes):
    """The letters of image codes 0..num_codes-1: U+0100 onwards (Latin Extended-A and -B, then IPA)."""
    alphabet = ''.join(chr(IMAGE_BLOCK + i) for i in range(num_codes))
    if not alphabet.isalpha():
        raise SystemExit(f"error: a codebook of {num_codes} codes runs past the Unicode letters that follow "
                         f"U+{IMAGE_BLOCK:04X}; use a smaller codebook")
    return alphabet


def check_text(text_chars, alphabet, what):
    """Refuse text that holds the padding character or an image letter: it would be read as a picture."""
    clash = sorted(set(text_chars) & set(alphabet + PAD))
    if clash:
        raise SystemExit(f"error: {what} holds {''.join(clash)!r}, the padding character or image letters "
                         f"(U+{IMAGE_BLOCK:04X}...); remove those characters from it")


def make_meta(text_chars, seq_len, num_codes, tokens_per_image):
    """The vocabulary: padding and the text characters (sorted), then the image letters."""
    alphabet = image_alphabet(num_codes)
    chars = sorted(set(PAD + text_chars)) + list(alphabet)
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
    if 'tasks' not in meta or 'labels' not in meta:
        raise SystemExit(f"error: {path} was written by an older version (no task or label list); rebuild it with "
                         "`make data`")
    return meta


def encode(text, stoi):
    """Characters -> ids, refusing any character outside the vocabulary with one clear line."""
    bad = sorted(set(text) - set(stoi))
    if bad:
        raise SystemExit(f"error: characters {''.join(bad)!r} are not in the vocabulary; "
                         f"use only {''.join(sorted(stoi))!r}")
    return [stoi[c] for c in text]


def image_ids(meta):
    return [meta['stoi'][c] for c in meta['image_alphabet']]


def letters(codes, meta):
    """A row of image codes as its letters."""
    return ''.join(meta['image_alphabet'][c] for c in codes)
