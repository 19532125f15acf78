import numpy as np
import pytest
import torch

from data.mnist_vlm.tasks import DRAW, READ, TASKS, build_meta, get_tasks, wilson_interval
from nanogpt.model import GPT, GPTConfig


def text(ids, meta):
    return ''.join(meta['itos'][int(i)] for i in ids)


def test_wilson_interval_and_reading_score():
    lo, hi = wilson_interval(950, 1000)
    assert 0.934 < lo < 0.935 and 0.961 < hi < 0.962
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    labels = np.array([4, 4, 9, 7, 1])
    pred = np.array([4, 9, 9, 9, 1])
    r = READ.score(pred, labels)
    assert r['accuracy'] == 0.6 and r['confusion'][4][9] == 1 and r['confusion'][7][9] == 1
    assert {(c['true'], c['pred']) for c in r['top_confusions']} == {(4, 9), (7, 9)}
    assert r['per_digit'][4] == 0.5 and np.isnan(r['per_digit'][0])


def test_meta_holds_every_task_character_and_prompts_line_up():
    meta = build_meta('read,draw', 26, 16)
    assert meta['seq_len'] == len('image:ABCDEFGHIJKLMNOP, number:7.') and meta['tasks'] == ['read', 'draw']
    assert text(READ.prompt_ids(np.zeros((2, 16), dtype=np.uint16), meta)[0], meta) == 'image:AAAAAAAAAAAAAAAA, number:'
    assert text(DRAW.prompt_ids(np.array([3, 9]), meta)[1], meta) == 'number:9, image:'
    assert build_meta('draw', 26, 16)['vocab_size'] == meta['vocab_size']  # the same characters in either form
    for bad in ('read,speak', ''):
        with pytest.raises(SystemExit, match='known tasks: read, draw'):
            get_tasks(bad)


def test_the_answer_weight_marks_the_reading_digit_only():
    meta = build_meta('read,draw', 26, 4)
    lines = READ.records('ABCD', 7) + DRAW.records('ABCD', 3)
    records = torch.tensor([[meta['stoi'][c] for c in line] for line in lines])
    mask = READ.answer_mask(records, meta)
    assert mask.shape == (2, meta['seq_len'] - 1) and mask.sum() == 1
    # the target marked in the reading record is its answer digit; the drawing record's given digit is not marked
    assert meta['itos'][int(records[0, 1:][mask[0]])] == '7' and not mask[1].any()


def test_constrained_decoding_is_well_formed_even_untrained():
    meta = build_meta('read,draw', 26, 16)
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=meta['vocab_size'], n_layer=1, n_head=1, n_embd=8)).eval()
    codes = DRAW.generate(model, np.arange(10), meta, temperature=1.5, seed=0)
    assert codes.shape == (10, 16) and (codes >= 0).all()
    free = DRAW.generate(model, np.arange(10).repeat(5), meta, temperature=1.5, constrained=False, seed=0)
    assert (free < 0).any()  # free decoding of a random model writes non-image characters; the mask is what helps
    again = DRAW.generate(model, np.arange(10), meta, temperature=1.5, seed=0)
    assert np.array_equal(codes, again)  # seeded sampling is reproducible
    logits = READ.answer_logits(model, codes, meta)
    assert set(READ.parse(logits, meta)) <= set(range(10)) and logits.shape == (10, meta['vocab_size'])


def test_every_task_writes_records_in_its_vocabulary():
    meta = build_meta(','.join(TASKS), 256, 16)
    for task in TASKS.values():
        for line in task.records(meta['image_alphabet'][200:216], 5):
            assert len(line) <= meta['seq_len'] and set(line) <= set(meta['stoi'])
