"""read and draw (tasks/read.py, tasks/draw.py): their scores, which targets weigh as an answer, and the model
calls through nanogpt/engine.py: cached scores equal a plain forward pass, constrained drawing is well formed."""
import numpy as np
import pytest
import torch

from common.stats import wilson_interval
from data.records.prepare import build_meta
from nanogpt.batches import answer_mask
from nanogpt.engine import Engine
from nanogpt.model import GPT, GPTConfig
from nanogpt.vlm import VLM, Seen
from tasks import get_tasks
from tasks.base import Sample
from tasks.draw import DRAW
from tasks.read import READ
from tasks.vocab import PAD, letters
from vqvae.model import VQVAE, VQVAEConfig


def text(ids, meta):
    return ''.join(meta['itos'][int(i)] for i in ids)


def seen(codes, meta):
    """What a model that reads letters sees of pictures given as codes."""
    return Seen([letters(row, meta) for row in codes], None)


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
    engine = Engine(model, meta)
    codes = np.random.default_rng(0).integers(0, 26, (5, 4))
    pictures = seen(codes, meta)
    prompts = [READ.prompt(p, meta) for p in pictures.texts]
    scores = engine.score(prompts, meta['labels'], batch_size=3)
    assert torch.allclose(scores, READ.scores(engine, pictures))  # batches of 3 or all at once: the same
    ids = torch.tensor([engine.ids([p])[0] for p in prompts])
    for j, label in enumerate(meta['labels']):
        answer = [meta['stoi'][c] for c in label]
        seq = torch.cat([ids, torch.tensor(answer).expand(5, -1)], 1)
        logits, _ = model(seq[:, :-1], all_logits=True)
        logp = logits.log_softmax(-1)[:, ids.shape[1] - 1:].gather(2, seq[:, ids.shape[1]:, None])
        assert torch.allclose(scores[:, j], logp.sum((1, 2)), atol=1e-4)
    pred = READ.predict(engine, pictures)
    assert set(pred) <= set(range(10)) and np.array_equal(pred, scores.argmax(1).numpy())
    free = READ.free_answers(engine, pictures)
    assert len(free) == 5 and all(a is None or isinstance(a, str) for a in free)


def test_constrained_decoding_is_well_formed_even_untrained():
    meta = build_meta('read,draw', 26, 16)
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=meta['vocab_size'], n_layer=1, n_head=1, n_embd=8)).eval()
    engine = Engine(model, meta)
    codes = DRAW.generate(engine, np.arange(10), temperature=1.5, seed=0)
    assert codes.shape == (10, 16) and (codes >= 0).all()
    free = DRAW.generate(engine, np.arange(10).repeat(5), temperature=1.5, constrained=False, seed=0)
    assert (free < 0).any()  # free decoding of a random model writes non-image characters; the mask is what helps
    again = DRAW.generate(engine, np.arange(10), temperature=1.5, seed=0)
    assert np.array_equal(codes, again)  # seeded sampling is reproducible
    scores = READ.scores(engine, seen(codes, meta))
    assert set(READ.predict(engine, seen(codes, meta))) <= set(range(10)) and scores.shape == (10, 10)
    # the same GPT in a VLM (a tiny tokenizer beside it): its engine draws and reads alike
    vlm = VLM(model, VQVAE(VQVAEConfig(num_codes=26, hidden=16, code_dim=4)), meta).eval()
    assert np.array_equal(DRAW.generate(vlm.engine(), np.arange(10), temperature=1.5, seed=0), codes)
    assert torch.allclose(READ.scores(vlm.engine(), seen(codes, meta)), scores)
    words = build_meta('read,draw', 26, 16, labels='words')
    model = GPT(GPTConfig(block_size=40, vocab_size=words['vocab_size'], n_layer=1, n_head=1, n_embd=8)).eval()
    codes = DRAW.generate(Engine(model, words), np.array([1, 7, 7, 3]), temperature=1.5, seed=0)  # prompts of 2 lengths
    assert codes.shape == (4, 16) and (codes >= 0).all()


def test_guided_drawing_draws_again_until_the_run_reads_it_as_asked(pipeline):
    vlm = VLM.from_pretrained(pipeline['out'])  # the tiny trained run: it reads some of its drawings as asked
    engine, labels, meta = vlm.engine(), np.arange(10).repeat(10), vlm.vocab
    sampling = dict(temperature=1.5, guidance=1.0, seed=3)
    once = DRAW.generate(engine, labels, **sampling)

    def asked(codes):  # which drawings the run itself reads as asked, looking at the decoded pictures
        return READ.scores(engine, vlm.see(vlm.decode(codes)[0])).argmax(1).numpy() == labels

    first, kept, made, _ = DRAW.until_read(engine, labels, 6, sure=0, **sampling)  # sure=0: its reading alone
    assert np.array_equal(first, once)  # the first drawings are those of one try: tries=1 draws as before
    assert made.min() == 1 and made.max() <= 6 and (made[asked(first)] == 1).all() and (made > 1).any()
    assert np.array_equal(kept[made == 1], first[made == 1])  # a drawing read as asked is kept
    read_now = asked(kept)
    assert read_now.sum() > asked(first).sum() and (read_now | (made == 6)).all()  # the rest ran out of tries
    assert np.array_equal(DRAW.generate(engine, labels, 6, sure=0, **sampling), kept)  # seeded: the same again
    with pytest.raises(SystemExit, match='needs a run that reads'):
        DRAW.generate(Engine(vlm, dict(meta, tasks=['draw'])), labels, 2, seed=3)


def test_guided_drawing_draws_again_until_the_run_is_sure_of_it(pipeline):
    vlm = VLM.from_pretrained(pipeline['out'])
    engine, labels = vlm.engine(), np.arange(10).repeat(10)
    sampling = dict(temperature=1.5, guidance=1.0, seed=3)

    def sureness(codes):  # the probability the run gives the asked label, reading the decoded pictures
        reads = READ.scores(engine, vlm.see(vlm.decode(codes)[0])).float().log_softmax(1).exp().numpy()
        return reads[np.arange(len(labels)), labels]

    *_, made_argmax, _ = DRAW.until_read(engine, labels, 6, sure=0, **sampling)
    first, kept, made, _ = DRAW.until_read(engine, labels, 6, sure=0.9, **sampling)
    assert (made == 1).any() and (made > 1).any()  # some first drawings pass, some do not
    assert np.array_equal(made == 1, sureness(first) >= 0.9)  # a first drawing passes when the run is sure of it
    assert ((sureness(kept) >= 0.9) | (made == 6)).all()  # the others are drawn again until it is, or tries run out
    assert (made > 1).sum() >= (made_argmax > 1).sum()  # surer asks more of a drawing than its reading alone
