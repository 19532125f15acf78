"""The vocabulary of the text datasets: image letters, padding, meta.json.

Every record is one line of text padded with '#' to the dataset's seq_len; the
tasks (data/mnist_vlm/tasks.py) say what the lines hold. Image codes are written
as letters: A-Z, then a contiguous run of Unicode letters from U+0100 for
codebooks larger than 26.
"""
import json
import os

PAD = '#'


def image_alphabet(num_codes):
    """A-Z, then a contiguous run of further Unicode letters (from U+0100) for larger codebooks."""
    return ''.join(chr(ord('A') + i) if i < 26 else chr(0x100 + i - 26) for i in range(num_codes))


def make_meta(text_chars, seq_len, num_codes, tokens_per_image):
    """The vocabulary: padding and the tasks' own characters (sorted), then the image letters."""
    alphabet = image_alphabet(num_codes)
    clash = set(text_chars) & set(alphabet)
    assert not clash, f"task text uses image letters {sorted(clash)}: they would be read as image codes"
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
    if 'tasks' not in meta:
        raise SystemExit(f"error: {path} was written by an older version (no task list); rebuild it with `make data`")
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
