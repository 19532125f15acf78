import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from common.stats import wilson_interval
from data.mnist_vlm.decode import Sample
from data.mnist_vlm.format import PAD
from data.mnist_vlm.grounded import Pool
from data.mnist_vlm.tasks import DRAW, READ, TASKS, TEXT, build_meta, get_tasks
from nanogpt.dataloader import answer_mask
from nanogpt.model import GPT, GPTConfig

SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


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
    assert text(READ.prompt_ids(np.zeros((2, 16), dtype=np.uint16), meta)[0], meta) == 'image:' + 'Ā' * 16 + ', number:'
    assert text(DRAW.prompt_ids(np.array([3, 9]), meta)[1], meta) == 'number:9, image:'
    words = build_meta('read,draw', 26, 16, dataset='fashion_mnist', labels='words')
    assert words['seq_len'] == len('image:ABCDEFGHIJKLMNOP, word:T-shirt/top.')
    assert text(DRAW.prompt_ids(np.array([9]), words)[0], words) == 'word:ankle boot, image:'
    assert build_meta('draw', 26, 16)['vocab_size'] == meta['vocab_size']  # the same characters in either form
    for bad in ('read,speak', ''):
        with pytest.raises(SystemExit, match='known tasks: read, draw'):
            get_tasks(bad)


def test_the_answer_weight_marks_written_answers_only():
    for labels, answer in (('digits', '7'), ('words', 'seven')):
        meta = build_meta('read,draw', 26, 4, labels=labels)
        image = meta['image_alphabet'][:4]
        pairs = [(t, p, a) for t, d in ((READ, 7), (DRAW, 3), (READ, 1)) for p, a in t.records(Sample(image, d), meta)]
        records = torch.tensor([[meta['stoi'][c] for c in (p + a + '.').ljust(meta['seq_len'], PAD)]
                                for _, p, a in pairs])
        layout = torch.tensor([[meta['tasks'].index(t.name), len(p), len(p) + len(a)] for t, p, a in pairs])
        mask = answer_mask(layout, meta['seq_len'], [t.weighted for t in get_tasks(meta['tasks'])])
        assert mask.shape == (3, meta['seq_len'] - 1)
        # the targets marked in a reading record are its answer; the drawing record's given label is not marked
        assert text(records[0, 1:][mask[0]], meta) == answer and not mask[1].any()
        assert text(records[2, 1:][mask[2]], meta) == meta['labels'][1]


def test_word_answers_are_scored_as_whole_strings():
    """The cached, prefix-shared scores equal each label's log-likelihood from a plain forward pass."""
    meta = build_meta('read,draw', 26, 4, dataset='fashion_mnist', labels='words')
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=meta['seq_len'], vocab_size=meta['vocab_size'], n_layer=2, n_head=2,
                          n_embd=16)).eval()
    codes = np.random.default_rng(0).integers(0, 26, (5, 4))
    scores = READ.answer_scores(model, codes, meta, batch_size=3)
    prompts = READ.prompt_ids(codes, meta)
    for j, label in enumerate(meta['labels']):
        ids = [meta['stoi'][c] for c in label]
        seq = torch.from_numpy(np.concatenate([prompts, np.tile(ids, (5, 1))], 1))
        logits, _ = model(seq[:, :-1], all_logits=True)
        logp = logits.log_softmax(-1)[:, prompts.shape[1] - 1:].gather(2, seq[:, prompts.shape[1]:, None])
        assert torch.allclose(scores[:, j], logp.sum((1, 2)), atol=1e-4)
    assert set(READ.parse(scores)) <= set(range(10))
    free = READ.free_answers(model, codes, meta)
    assert len(free) == 5 and all(a is None or isinstance(a, str) for a in free)


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
    scores = READ.answer_scores(model, codes, meta)
    assert set(READ.parse(scores)) <= set(range(10)) and scores.shape == (10, 10)
    words = build_meta('read,draw', 26, 16, labels='words')
    model = GPT(GPTConfig(block_size=40, vocab_size=words['vocab_size'], n_layer=1, n_head=1, n_embd=8)).eval()
    codes = DRAW.generate(model, np.array([1, 7, 7, 3]), words, temperature=1.5, seed=0)  # prompts of 3 lengths
    assert codes.shape == (4, 16) and (codes >= 0).all()


def test_every_task_writes_records_in_its_vocabulary():
    meta = build_meta(','.join(TASKS), 256, 16)
    meta['attribute_cuts'] = {a: [1.0, 2.0] for a in meta['attributes']}
    rng = np.random.default_rng(0)
    samples = [Sample(meta['image_alphabet'][200 + d:216 + d], d, {a: d % 3 for a in meta['attributes']})
               for d in range(10)]
    for task in TASKS.values():
        for _ in range(20):
            for p, a, *_ in task.records(samples[5], meta, rng=rng, pool=Pool(samples)):
                line = p + a + '.'
                assert len(line) <= meta['seq_len'] and set(line) <= set(meta['stoi'])


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
    assert build_meta('read,draw', 26, 16, text='To be')['vocab_size'] > build_meta('read,draw', 26, 16)['vocab_size']


def test_text_windows_and_bits_per_char():
    ids = torch.arange(100) % 7
    win = TEXT.windows(ids, torch.tensor([0, 5]), 10)
    assert win.tolist()[1] == [(5 + i) % 7 for i in range(10)]
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=9, vocab_size=7, n_layer=1, n_head=1, n_embd=8)).eval()
    bpc = TEXT.bits_per_char(model, ids, 10, batch_size=4)
    assert 2.0 < bpc < 4.0  # an untrained model is near log2(7) = 2.81 bits
