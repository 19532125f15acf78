"""Grounded captions and questions: every caption parses back to its facts, whatever the phrasing; every
question's answer follows from the labels; the blind answer is the commonest one."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from data.records.prepare import build_meta
from nanogpt.engine import Engine
from nanogpt.model import GPT, GPTConfig
from nanogpt.vlm import Seen
from tasks.attributes import LEVELS, measure, tercile_cuts
from tasks.base import Pool, Sample, placeholder
from tasks.caption import CAPTION, PHRASINGS, blind_level, find_one, measured_levels
from tasks.caption_draw import CAPTION_DRAW
from tasks.question import QUESTION, QUESTIONS
from tasks.vocab import letters
from tests.conftest import draw_digits


def meta_of(dataset='mnist'):
    return build_meta('read,draw,caption,caption_draw,question', 256, 16, dataset=dataset)


@pytest.mark.parametrize('dataset', ['mnist', 'fashion_mnist'])
def test_every_caption_parses_back_to_its_label_and_levels(dataset):
    meta = meta_of(dataset)
    seen = set()
    for label, attrs, k in CAPTION.every_caption(meta):
        caption = CAPTION.caption(label, attrs, meta, k)
        assert CAPTION.parse(caption, meta) == (label, attrs), caption
        seen.add(caption)
    assert len(seen) == 10 * 27 * len(PHRASINGS)  # no two facts share a caption


def test_words_are_found_only_whole_and_once():
    assert find_one('a large regular T-shirt/top, upright', ['T-shirt/top', 'shirt']) == 0
    assert find_one('a large regular shirt, upright', ['T-shirt/top', 'shirt']) == 1
    assert find_one('a thin thick seven', LEVELS['thickness']) == -1  # said twice: not an answer
    assert find_one(None, LEVELS['size']) == -1


def test_captions_are_scored_against_the_measured_levels_and_the_blind_level():
    meta = meta_of()
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=meta['seq_len'], vocab_size=meta['vocab_size'], n_layer=1, n_head=1,
                          n_embd=8)).eval()
    engine = Engine(model, meta)
    codes = np.random.default_rng(0).integers(0, 256, (6, 16))
    labels = np.arange(6)
    levels = {a: np.arange(6) % 3 for a in meta['attributes']}
    longest = max(len(t) for t in CAPTION.texts(meta)) - len(CAPTION.prompt(placeholder(meta, 0).picture))
    captions = engine.complete([CAPTION.prompt(letters(c, meta)) for c in codes], longest)
    res = CAPTION.score(captions, labels, levels, meta, blind={a: 0 for a in meta['attributes']})
    assert res['n'] == 6 and 0 <= res['label_accuracy'] <= 1 and res['exact_match'] <= res['label_accuracy']
    assert all(r['blind_accuracy'] == pytest.approx(1 / 3) for r in res['attributes'].values())
    # a caption that says it all is scored right on every count, the blind level where it is the truth
    said = [CAPTION.caption(int(d), {a: int(levels[a][i]) for a in meta['attributes']}, meta, i % len(PHRASINGS))
            for i, d in enumerate(labels)]
    right = CAPTION.score(said, labels, levels, meta, blind={a: 0 for a in meta['attributes']})
    assert right['label_accuracy'] == 1.0 and right['exact_match'] == 1.0 and right['unparsed_rate'] == 0.0


def test_caption_evaluates_every_picture_of_the_split_through_the_engine():
    """CAPTION.evaluate on an Evaluation's parts: greedy captions of the split, levels measured from its pixels,
    the blind level from the training pictures."""
    meta = meta_of()
    rng = np.random.default_rng(0)
    train, pictures = draw_digits(np.arange(60) % 10, rng), draw_digits(np.arange(8) % 10, rng)
    meta['attribute_cuts'] = tercile_cuts(measure(train, 'mnist'))
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=meta['seq_len'], vocab_size=meta['vocab_size'], n_layer=1, n_head=1,
                          n_embd=8)).eval()
    codes = rng.integers(0, 256, (8, 16))
    ev = SimpleNamespace(meta=meta, engine=Engine(model, meta), seen=Seen([letters(c, meta) for c in codes], None),
                         labels=np.arange(8) % 10, pictures=pictures, train_pictures=train)
    res = CAPTION.evaluate(ev)
    blind = blind_level(measured_levels(train, meta))
    assert res['n'] == 8 and res['blind_levels'] == {a: LEVELS[a][v] for a, v in blind.items()}
    truth = measured_levels(pictures, meta)
    for a, r in res['attributes'].items():
        assert r['blind_accuracy'] == pytest.approx(np.mean(truth[a] == blind[a]))
    assert [row[0] for row in CAPTION.rows(res)] == ['caption'] + [f'caption: {a}' for a in meta['attributes']]


def test_a_drawn_caption_is_scored_against_the_request_and_a_shuffled_one():
    asked = {'size': np.array([0, 1, 2, 0, 1, 2])}
    measured = {'size': np.array([0, 1, 2, 0, 1, 2])}
    res = CAPTION_DRAW.score(np.arange(6), np.arange(6), asked, measured, np.random.default_rng(0))
    assert res['label_accuracy'] == 1.0 and res['attributes']['size']['agreement'] == 1.0
    assert res['attributes']['size']['random_agreement'] < 1.0


def test_questions_answer_from_the_labels():
    t = {q.name: q for q in QUESTIONS['mnist']}
    assert t['even'].answer((4,), None) == 'yes' and t['more'].answer((4,), 4) == 'no'
    assert t['plus'].answer((9,), 3) == '12' and t['two_image_sum'].answer((9, 8), None) == '17'
    assert [t['two_image_larger'].answer(p, None) for p in ((3, 1), (1, 3), (2, 2))] == ['first', 'second', 'same']
    assert t['two_image_same'].answer((2, 2), None) == 'yes'
    f = {q.name: q for q in QUESTIONS['fashion_mnist']}
    assert f['footwear'].answer((9,), None) == 'yes' and f['top'].answer((1,), None) == 'no'


def test_two_image_records_show_two_pictures_and_same_is_asked_of_pairs_half_the_time():
    meta = meta_of()
    rng = np.random.default_rng(0)
    samples = [Sample(meta['image_alphabet'][d] * 16, d) for d in np.arange(500) % 10]
    pool = Pool(samples)
    same = [t for t in QUESTIONS['mnist'] if t.name == 'two_image_same'][0]
    answers = [same.answer(QUESTION.ask(same, s, pool, rng)[1], None) for s in samples]
    assert 0.5 < np.mean([a == 'yes' for a in answers]) < 0.62  # half asked of a pair, a tenth of the rest by chance
    prompt, labels, _, shown = QUESTION.ask([t for t in QUESTIONS['mnist'] if t.name == 'two_image_sum'][0], samples[3],
                                     pool, rng)
    first, second = prompt.split(', ')[:2]
    assert first == 'image:' + samples[3].picture and second.startswith('image:') and len(second) == 6 + 16
    assert labels == [3, meta['image_alphabet'].index(second[6])] and shown[0] is samples[3]


def test_questions_written_with_their_working_are_scored_by_the_answer_after_it():
    t = {q.name: q for q in QUESTIONS['mnist']}
    plain, work = meta_of(), dict(meta_of(), question_work=True)
    assert QUESTION.said(t['plus'], (9,), 3, plain) == '12' and QUESTION.said(t['plus'], (9,), 3, work) == '9+3=12'
    assert QUESTION.said(t['two_image_larger'], (2, 7), None, work) == '2,7: second'
    assert QUESTION.said(t['more'], (7,), 4, work) == '7: yes' and QUESTION.final('7: yes') == 'yes'
    assert QUESTION.said(t['even'], (4,), None, work) == 'yes'  # no working where the answer is one step
    assert [QUESTION.final(s) for s in ('9+3=12', '2,7: second', 'yes', None)] == ['12', 'second', 'yes', None]
    assert QUESTION.final('9+3=11') != t['plus'].answer((9,), 3)  # the answer, not the working, is scored
    built = build_meta('read,question', 256, 16, question_work=True)
    assert built['question_work'] and '+' in built['stoi'] and 'question_work' not in plain
    rng = np.random.default_rng(0)
    samples = [Sample('', d) for d in range(10)]
    _, answers, _, _ = QUESTION.asked(t['two_image_sum'], samples, rng)
    assert all(a.isdigit() for a in answers)  # the right answers compared are the final ones


def test_the_blind_answer_is_the_commonest_among_training_labels():
    even = [t for t in QUESTIONS['mnist'] if t.name == 'even'][0]
    assert QUESTION.blind_answers(even, np.array([1, 3, 5, 2]), np.random.default_rng(0)) == {None: 'no'}
    more = [t for t in QUESTIONS['mnist'] if t.name == 'more'][0]
    blind = QUESTION.blind_answers(more, np.arange(10), np.random.default_rng(0))
    assert blind[0] == 'yes' and blind[8] == 'no'
