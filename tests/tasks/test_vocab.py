"""The record format (tasks/vocab.py): image letters of a block of their own, a vocabulary holding every
character any task writes, text that can never be read as a picture, and one clear line for what is refused."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.records import prepare
from data.records.prepare import build_meta
from tasks import TASKS, get_tasks
from tasks.base import Pool, Sample
from tasks.describe import DESCRIBE
from tasks.describe_draw import DESCRIBE_DRAW
from tasks.draw import DRAW
from tasks.read import READ
from tasks.vocab import (IMAGE_TOKEN, PAD, check_text, decode, encode, encode_array, image_alphabet, image_ids,
                         image_token_id, letters, load_meta, make_vocab, read_vocab)

SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def test_alphabet_is_a_contiguous_run_of_letters_outside_ascii():
    big = image_alphabet(256)
    assert big[:26] == image_alphabet(26) and len(set(big)) == 256 and big.isalpha()
    assert [ord(c) for c in big] == list(range(0x100, 0x100 + 256))
    with pytest.raises(SystemExit, match='runs past the Unicode letters'):
        image_alphabet(100000)


def test_the_vocabulary_puts_the_placeholder_past_the_gpts_tokens():
    meta = make_vocab('number:0123456789, image', 26, 16)
    assert max(meta['stoi'][c] for c in PAD + 'number:') < min(image_ids(meta))  # text first, then the letters
    assert image_token_id(meta) == meta['vocab_size']  # the placeholder: one past the GPT's vocab_size
    assert image_ids(meta) == list(range(meta['vocab_size'] - 26, meta['vocab_size']))
    assert letters(np.array([0, 25, 1]), meta) == '\u0100\u0119\u0101'
    assert decode(encode('image:' + letters([3, 4], meta), meta['stoi']), meta['itos']) == 'image:\u0103\u0104'
    with pytest.raises(SystemExit, match='the padding character, the picture placeholder or image letters'):
        check_text('a picture: ' + IMAGE_TOKEN, meta['image_alphabet'], 'the prompt')


def test_a_long_text_encodes_at_once_as_one_character_at_a_time_and_refuses_the_same_characters():
    meta = build_meta('read,draw', 40, 16)
    text = ''.join(READ.prompt(letters(np.arange(i, i + 16) % 40, meta), meta) + '7.' for i in range(30))
    ids = encode_array(text, meta['stoi'])
    assert ids.dtype == np.uint16 and ids.tolist() == encode(text, meta['stoi']) and decode(ids, meta['itos']) == text
    assert len(encode_array('', meta['stoi'])) == 0
    for bad in ('number:7~', 'number:\u4e007'):  # below the letters, and above every character of the vocabulary
        with pytest.raises(SystemExit) as e:
            encode_array(bad, meta['stoi'])
        assert str(e.value).startswith(f"error: characters {bad[-2] if bad[-1] == '7' else bad[-1]!r}")


def test_meta_json_round_trips_and_an_older_or_broken_one_is_one_line(tmp_path):
    meta = build_meta('read,draw', 26, 16)
    (tmp_path / 'meta.json').write_text(json.dumps(meta, ensure_ascii=False), encoding='utf-8')
    assert load_meta(str(tmp_path)) == meta  # ids come back as ints
    old = {k: v for k, v in meta.items() if k != 'tasks'}
    (tmp_path / 'old.json').write_text(json.dumps(old), encoding='utf-8')
    for name, message in (('old.json', 'written by an older version (no tasks)'), ('none.json', 'not found')):
        with pytest.raises(SystemExit) as e:
            read_vocab(str(tmp_path / name), 'make data')
        assert message in str(e.value) and str(e.value).endswith('make data') and '\n' not in str(e.value)
    (tmp_path / 'bad.json').write_text('{"itos": [1, 2]', encoding='utf-8')
    with pytest.raises(SystemExit, match='is corrupt'):
        read_vocab(str(tmp_path / 'bad.json'), 'make data')


def test_meta_holds_every_task_character_and_prompts_line_up():
    meta = build_meta('read,draw', 26, 16)
    assert meta['seq_len'] == len('image:ABCDEFGHIJKLMNOP, number:7.') and meta['tasks'] == ['read', 'draw']
    picture = letters(np.zeros(16, dtype=np.int64), meta)
    assert READ.prompt(picture, meta) == 'image:' + 'Ā' * 16 + ', number:'
    assert DRAW.prompt(9, meta) == 'number:9, image:'
    words = build_meta('read,draw', 26, 16, dataset='fashion_mnist', labels='words')
    assert words['seq_len'] == len('image:ABCDEFGHIJKLMNOP, word:T-shirt/top.')
    assert DRAW.prompt(9, words) == 'word:ankle boot, image:'
    for m in (meta, words):  # every prompt is in its vocabulary
        for d in range(10):
            encode(READ.prompt(picture, m) + DRAW.prompt(d, m), m['stoi'])
    assert build_meta('draw', 26, 16)['vocab_size'] == meta['vocab_size']  # the same characters in either form
    for bad in ('read,speak', ''):
        with pytest.raises(SystemExit, match='known tasks: read, draw'):
            get_tasks(bad)


def test_every_task_writes_records_in_its_vocabulary(monkeypatch):
    captions = ['a small red circle at the top left on green', "a cat (grey); it's big!", 'x']
    monkeypatch.setattr(prepare, 'captions', lambda split, dataset: captions)  # as a folder with captions.jsonl
    meta = build_meta(','.join(TASKS), 256, 16)
    meta['attribute_cuts'] = {a: [1.0, 2.0] for a in meta['attributes']}
    rng = np.random.default_rng(0)
    samples = [Sample(meta['image_alphabet'][200 + d:216 + d], d, {a: d % 3 for a in meta['attributes']})
               for d in range(10)]
    for task in TASKS.values():
        for text in captions:
            for p, a, *_ in task.records(samples[5]._replace(text=text), meta, rng=rng, pool=Pool(samples)):
                line = p + a + '.'
                assert len(line) <= meta['seq_len'] and set(line) <= set(meta['stoi'])
    assert ''.join(DESCRIBE.records(samples[5]._replace(text=captions[1]), meta)[0]) == \
        f"image:{samples[5].picture}, describe: {captions[1]}"
    assert DESCRIBE.records(samples[5], meta) == DESCRIBE_DRAW.records(samples[5], meta) == []  # no caption, no record
    monkeypatch.setattr(prepare, 'captions', lambda split, dataset: None)
    with pytest.raises(SystemExit, match='the describe tasks write a folder.s own captions, and mnist has none'):
        build_meta('read,describe', 256, 16)


@settings(max_examples=60, deadline=None)
@given(codes=st.lists(st.integers(0, 255), min_size=16, max_size=16), label=st.integers(0, 9),
       dataset=st.sampled_from(['mnist', 'fashion_mnist']), labels=st.sampled_from(['digits', 'words']))
def test_image_and_text_can_always_be_told_apart(codes, label, dataset, labels):
    """With Shakespeare in the vocabulary, a character is an image letter exactly where the image lies."""
    meta = build_meta('read,draw', 256, 16, dataset=dataset, labels=labels, text=SHAKESPEARE_CHARS)
    assert not set(SHAKESPEARE_CHARS + PAD + ''.join(meta['labels'])) & set(meta['image_alphabet'])
    image = ''.join(meta['image_alphabet'][c] for c in codes)
    for task in (READ, DRAW):
        line = ''.join(task.records(Sample(image, label), meta)[0]) + '.'
        in_image = [c in meta['image_alphabet'] for c in line]
        start = line.index(image)
        assert in_image == [start <= i < start + 16 for i in range(len(line))]
        assert line.replace(image, '') == line[:start] + line[start + 16:] and set(line) <= set(meta['stoi'])


def test_text_that_collides_with_image_letters_is_refused():
    with pytest.raises(SystemExit, match=r"the text to mix in holds '#Ā'"):
        build_meta('read,draw', 26, 16, text='To be, or not to be: #Ā')
    with pytest.raises(SystemExit, match=r"the text to mix in holds '□'"):
        build_meta('read,draw', 26, 16, text='To be □')
    assert build_meta('read,draw', 26, 16, text='To be')['vocab_size'] > build_meta('read,draw', 26, 16)['vocab_size']


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_prompt_encodes_or_names_the_bad_characters(text):
    meta = build_meta('read,draw', 26, 16)
    try:
        ids = encode(text, meta['stoi'])
    except SystemExit as e:
        assert 'not in the vocabulary' in str(e) and '\n' not in str(e)
        assert set(text) - set(meta['stoi'])
    else:
        assert ''.join(meta['itos'][i] for i in ids) == text
