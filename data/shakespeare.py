"""The text reader: Tiny Shakespeare, nanoGPT's shakespeare_char text.

Read from TINYSHAKESPEARE_DIR/input.txt when the variable is set (no network),
else from data/tinyshakespeare/input.txt, downloaded there from char-rnn's public
copy when missing. The SHA-256 of the file is checked either way, so a truncated
or edited copy ends in one line naming the file and the fix.
"""
import hashlib
import os
import urllib.request

from common.files import atomic_write

URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt'
SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed'
ENV = 'TINYSHAKESPEARE_DIR'
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tinyshakespeare')
TEXTS = ('shakespeare',)


def text_path():
    return os.path.join(os.environ.get(ENV) or DEFAULT_DIR, 'input.txt')


def _download(path):
    try:
        with urllib.request.urlopen(URL, timeout=30) as r:
            raw = r.read()
    except Exception as e:  # any network failure: say how to go on without it
        raise SystemExit(f"error: could not download {URL} ({e}); connect to the internet, or set "
                         f"{ENV}=/path/to/folder holding input.txt")
    if hashlib.sha256(raw).hexdigest() != SHA256:
        raise SystemExit(f"error: {URL} served a file whose SHA-256 is not Tiny Shakespeare's; try again later, or "
                         f"set {ENV} to a local copy")
    atomic_write(path, lambda f: f.write(raw))


def load_text(name='shakespeare'):
    """The whole text as a string, checked against its SHA-256."""
    if name not in TEXTS:
        raise SystemExit(f"error: unknown text {name!r}; use one of {', '.join(TEXTS)} (or '' for none)")
    path = text_path()
    if not os.path.exists(path):
        if os.environ.get(ENV):
            raise SystemExit(f"error: {path} not found; point {ENV} at the folder holding Tiny Shakespeare's "
                             "input.txt, or unset it to download it")
        _download(path)
    with open(path, 'rb') as f:
        raw = f.read()
    if hashlib.sha256(raw).hexdigest() != SHA256:
        raise SystemExit(f"error: {path} is not Tiny Shakespeare (its SHA-256 differs: truncated or edited); "
                         "delete it to download it again, or restore the original")
    return raw.decode('utf-8')


def split_text(text):
    """nanoGPT's shakespeare_char split: the first 90% to train on, the last 10% held out."""
    n = int(len(text) * 0.9)
    return text[:n], text[n:]
