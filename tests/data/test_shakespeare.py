"""data/shakespeare.py: Tiny Shakespeare read only when its SHA-256 is right, split as nanoGPT splits it, and every
problem one line naming the fix."""
import hashlib
import io

import pytest

from data import shakespeare


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_the_text_is_checked_and_split_ninety_ten(tmp_path, monkeypatch):
    text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n'
    (tmp_path / 'input.txt').write_text(text)
    monkeypatch.setenv(shakespeare.ENV, str(tmp_path))
    with pytest.raises(SystemExit, match="its SHA-256 differs: truncated or edited"):
        shakespeare.load_text()
    monkeypatch.setattr(shakespeare, 'SHA256', hashlib.sha256(text.encode()).hexdigest())
    assert shakespeare.load_text('shakespeare') == text
    train, val = shakespeare.split_text(text)
    assert train + val == text and len(train) == int(len(text) * 0.9)
    with pytest.raises(SystemExit, match=r"unknown text 'poems'; use one of shakespeare"):
        shakespeare.load_text('poems')


def test_a_missing_copy_names_the_variable_and_a_download_checks_its_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv(shakespeare.ENV, str(tmp_path / 'none'))
    with pytest.raises(SystemExit, match=f'not found; point {shakespeare.ENV} at the folder'):
        shakespeare.load_text()
    monkeypatch.delenv(shakespeare.ENV)
    monkeypatch.setattr(shakespeare, 'DEFAULT_DIR', str(tmp_path / 'cache'))
    good = b'To be, or not to be\n'
    monkeypatch.setattr(shakespeare, 'SHA256', hashlib.sha256(good).hexdigest())

    def down(url, timeout):
        raise OSError('offline')
    monkeypatch.setattr(shakespeare.urllib.request, 'urlopen', down)
    with pytest.raises(SystemExit) as e:
        shakespeare.load_text()
    assert 'could not download' in str(e.value) and shakespeare.ENV in str(e.value) and '\n' not in str(e.value)
    monkeypatch.setattr(shakespeare.urllib.request, 'urlopen', lambda url, timeout: FakeResponse(b'edited'))
    with pytest.raises(SystemExit, match='SHA-256 is not Tiny Shakespeare'):
        shakespeare.load_text()
    assert not (tmp_path / 'cache' / 'input.txt').exists()  # bad bytes are never kept
    monkeypatch.setattr(shakespeare.urllib.request, 'urlopen', lambda url, timeout: FakeResponse(good))
    assert shakespeare.load_text() == good.decode() and (tmp_path / 'cache' / 'input.txt').read_bytes() == good
