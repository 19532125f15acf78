"""Pixel inputs (nanogpt/vision.py, read by the VLM): where the vectors go, what they may not leak, how a run is
saved."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from data.records.prepare import build_meta
from nanogpt.batches import (Batches, answer_mask, forward_backward, make_targets, picture_places, pictures_shown,
                             pixel_form)
from nanogpt.model import GPT, GPTConfig
from nanogpt.vision import IMAGE_INPUTS, ImageEncoder, erase_squares, flip_images, pixel_draws, shift_images
from nanogpt.vlm import VLM
from tasks.base import IMAGE_PREFIX
from tasks.draw import DRAW
from tasks.question import QUESTION
from tasks.read import READ
from tasks.vocab import decode, encode, image_token_id, letters, load_meta
from tests.conftest import run
from vqvae.model import VQVAE, VQVAEConfig

META = build_meta('read,draw', 40, 16)


def tokenizer():
    vq = VQVAE(VQVAEConfig(hidden=32, code_dim=8, num_codes=40))
    vq.dataset = 'mnist'
    return vq


def pixel_vlm(mode, meta=META, vectors=0, seed=0):
    """A small VLM that reads pixels through `mode`, with an untrained tokenizer of the meta's letters."""
    torch.manual_seed(seed)
    gpt = GPT(GPTConfig(block_size=meta['seq_len'] - 1, vocab_size=meta['vocab_size'], n_layer=2, n_head=2, n_embd=32))
    vq = tokenizer()
    encoder = ImageEncoder.from_vqvae(vq, 32, vectors) if mode == 'frozen' else \
        ImageEncoder(mode, 32, meta['tokens_per_image'], width=16, vectors=vectors)
    return VLM(gpt, vq, meta, encoder).eval()


def pictures(n, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8))


def ids(texts, meta):
    return torch.tensor([encode(t.ljust(len(texts[0]), meta['pad_char']), meta['stoi']) for t in texts])


@pytest.mark.parametrize('mode', ['patches', 'cnn', 'frozen'])
@pytest.mark.parametrize('tokens', [16, 49])
def test_every_encoder_writes_one_vector_per_letter_of_the_grid(mode, tokens):
    vq = dict(vars(VQVAEConfig(hidden=32, code_dim=8, tokens_per_image=tokens))) if mode == 'frozen' else None
    enc = ImageEncoder(mode, 24, tokens, width=16, vq_args=vq)
    assert enc(pictures(3)).shape == (3, tokens, 24) and enc.per_picture == tokens


@pytest.mark.parametrize('mode', ['patches', 'cnn', 'frozen'])
@pytest.mark.parametrize('vectors', [0, 1])
def test_every_encoder_reads_colour_pictures_of_their_own_side(mode, vectors):
    vq = dict(vars(VQVAEConfig(hidden=32, code_dim=8, tokens_per_image=64, side=32, channels=3)))
    enc = ImageEncoder(mode, 24, 64, width=16, vq_args=vq if mode == 'frozen' else None, vectors=vectors, side=32,
                       channels=3)
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8))
    out = enc(x)
    assert out.shape == (3, 1 if vectors else 64, 24)
    with pytest.raises(ValueError, match='reads 32x32 RGB pictures, not 28x28 grey'):
        enc(pictures(3))


@pytest.mark.parametrize('vectors', [0, 1])
def test_a_deeper_cnn_adds_convolutions_at_a_quarter_of_the_side_and_says_so_only_when_deeper(vectors):
    convs = {}
    for depth in (0, 2):
        enc = ImageEncoder.for_run('cnn', 24, 16, tokenizer(), width=16, vectors=vectors, depth=depth)
        assert enc(pictures(3)).shape == (3, 1 if vectors else 16, 24)
        convs[depth] = [m for m in enc.net if isinstance(m, torch.nn.Conv2d)]
        assert ('depth' in enc.args) == bool(depth)  # a run saved before the knob existed keeps its encoder_args
    assert len(convs[2]) == len(convs[0]) + 2
    strides = [m.stride[0] for m in convs[2]]
    assert strides == [2, 1, 2, 1, 1, 2]  # the two added after the map reaches 7x7, before the last step to 4x4
    for mode in ('patches', 'frozen'):
        with pytest.raises(SystemExit, match=f"encoder_depth=1 deepens the 'cnn' encoder; image_input='{mode}'"):
            ImageEncoder.for_run(mode, 24, 16, tokenizer(), depth=1)


def test_a_cnn_of_one_vector_per_picture_may_end_on_a_smaller_map_and_says_so_only_then():
    # Fashion-MNIST's letters are a 7x7 grid: encoder_grid=4 takes the map one stride-2 layer further, as the anchor's
    seven = ImageEncoder('cnn', 24, 49, width=16, vectors=1)
    four = ImageEncoder('cnn', 24, 49, width=16, vectors=1, grid=4)
    assert four(pictures(3)).shape == seven(pictures(3)).shape == (3, 1, 24)
    strides = [[m.stride[0] for m in e.net if isinstance(m, torch.nn.Conv2d)] for e in (seven, four)]
    assert strides == [[2, 1, 2], [2, 1, 2, 2]]
    assert four.proj[1].in_features == 16 * 16 and seven.proj[1].in_features == 16 * 49
    assert four.args['grid'] == 4 and 'grid' not in seven.args  # runs saved before the knob load as they were
    for kw, words in [(dict(grid=5, vectors=1), '4 or 7 of 28x28 pictures, not 5'),
                      (dict(grid=4, vectors=0), 'image_vectors=0 writes one per cell')]:
        with pytest.raises(SystemExit, match=words):
            ImageEncoder('cnn', 24, 49, **kw)
    for mode in ('letters', 'patches', 'frozen'):
        with pytest.raises(SystemExit, match=f"encoder_grid=4 sets the last map of the 'cnn' encoder; "
                                             f"image_input='{mode}' has none"):
            ImageEncoder.for_run(mode, 24, 16, tokenizer(), vectors=1, grid=4)


@pytest.mark.parametrize('vectors', [0, 1])
def test_an_encoder_of_views_reads_the_mean_of_its_vectors_over_the_picture_moved_a_pixel(vectors):
    torch.manual_seed(0)
    one = ImageEncoder('cnn', 24, 16, width=8, vectors=vectors).eval()
    five = ImageEncoder('cnn', 24, 16, width=8, vectors=vectors, views=5).eval()
    five.load_state_dict(one.state_dict())
    x = pictures(3)
    moves = torch.tensor([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])
    mean = torch.stack([one(shift_images(x, m.expand(3, 2))) for m in moves]).mean(0)
    assert torch.allclose(five(x), mean, atol=1e-5) and not torch.allclose(five(x), one(x), atol=1e-3)
    assert torch.allclose(five.train()(x), one.train()(x))  # training reads each picture once, as it comes
    assert five.args['views'] == 5 and 'views' not in one.args  # runs saved before the knob load as they were
    with pytest.raises(SystemExit, match='encoder_views=3: use 1'):
        ImageEncoder('cnn', 24, 16, views=3)


def test_shifts_and_flips_move_colour_pictures_as_grey_ones():
    grey = pictures(4)
    colour = grey[..., None].expand(-1, -1, -1, 3).contiguous()
    shifts = torch.tensor([[1, -2], [0, 0], [-1, 1], [2, 2]])
    assert torch.equal(shift_images(colour, shifts), shift_images(grey, shifts)[..., None].expand(-1, -1, -1, 3))
    flips = torch.tensor([True, False, True, False])
    assert torch.equal(flip_images(colour[:, None], flips)[:, 0], flip_images(grey[:, None], flips)[:, 0][..., None]
                       .expand(-1, -1, -1, 3))
    assert torch.equal(flip_images(grey[:, None], flips)[0, 0], grey[0].flip(-1))


def test_an_encoder_for_another_grid_or_name_is_one_line():
    with pytest.raises(SystemExit, match='4x4 or 7x7'):
        ImageEncoder('cnn', 24, 8)
    with pytest.raises(SystemExit, match='unknown.*letters, patches, cnn, frozen'):
        ImageEncoder('vit', 24, 16)
    with pytest.raises(ValueError, match='28x28'):
        ImageEncoder('cnn', 24, 16)(torch.zeros(2, 32, 32, dtype=torch.uint8))
    assert IMAGE_INPUTS == ('letters', 'patches', 'cnn', 'frozen')


def test_pixels_reach_only_the_chosen_rows_and_only_from_the_picture_on():
    model = pixel_vlm('cnn')
    as_pixels = READ.prompt(META['image_token'] * 16, META)  # 'image:□□..., number:'
    as_letters = READ.prompt(META['image_alphabet'][0] * 16, META)
    records = ids([as_pixels] * 2 + [as_letters] * 2, META)
    a, b = pictures(4, 0), pictures(4, 1)
    rows = torch.tensor([1, 1, 0, 0])  # how many pictures each row reads: the last two read letters
    la, _ = model(records, images=a, image_rows=rows, all_logits=True)
    lb, _ = model(records, images=b, image_rows=rows, all_logits=True)
    plain, _ = model.gpt(records[2:], all_logits=True)
    slot = len(IMAGE_PREFIX)
    assert torch.allclose(la[:, :slot], lb[:, :slot])  # causal: nothing before the picture sees it
    assert not torch.allclose(la[:2, slot:], lb[:2, slot:])  # the rows that see pixels read them
    assert torch.allclose(la[2:], plain, atol=1e-6) and torch.allclose(lb[2:], plain, atol=1e-6)
    # placeholders and pictures must agree: too few pictures, or placeholders with none, are refused
    with pytest.raises(ValueError, match='32 placeholders in the rows, but 1 pictures'):
        model(records, images=a, image_rows=torch.tensor([1, 0, 0, 0]))
    with pytest.raises(ValueError, match='no pictures'):
        VLM(model.gpt, model.tokenizer, META).embed(records, a)


def test_cached_reading_equals_one_full_pass():
    model = pixel_vlm('patches')
    images = pictures(5).numpy()
    scores = model.read_scores(images)
    seen = model.see(images)
    # each picture encoded once, in evaluation: the encoder's vectors of it, which the model reads as it reads pixels
    with torch.no_grad():
        want = model.encoder(torch.from_numpy(images))
    assert seen.texts == [META['image_token'] * 16] * 5 and seen.images.shape == (5, 16, 32)
    assert torch.allclose(torch.from_numpy(seen.images), want, atol=1e-6)
    prompts = ids([READ.prompt(t, META) for t in seen.texts], META)
    full, _ = model(prompts, images=torch.from_numpy(images), all_logits=True)
    given, _ = model(prompts, images=torch.from_numpy(seen.images), all_logits=True)
    assert torch.allclose(given, full, atol=1e-5)
    digits = [META['stoi'][d] for d in META['labels']]
    assert torch.allclose(scores, full[:, -1].log_softmax(-1)[:, digits], atol=1e-5)
    assert np.array_equal(model.read(images), scores.argmax(1).numpy())
    free = READ.free_answers(model.engine(), seen)
    assert len(free) == 5


@pytest.mark.parametrize('vectors', [0, 1])
def test_questions_of_two_pictures_read_their_vectors_as_their_pixels(vectors):
    meta = build_meta('read,draw,question', 40, 16)
    model = pixel_vlm('cnn', meta, vectors)
    images = pictures(6).numpy()
    seen = model.see(images)
    ph = meta['image_token'] * model.encoder.per_picture
    prompts = ids([QUESTION.prompt([ph, ph], 'what is their sum?')] * 3, meta)
    pairs = [[0, 5], [3, 3], [4, 1]]  # a picture may be shown twice, and in any order
    pix, _ = model(prompts, images=torch.from_numpy(images[pairs]), all_logits=True)
    vec, _ = model(prompts, images=torch.from_numpy(seen.images[pairs]), all_logits=True)
    assert torch.allclose(vec, pix, atol=1e-5)
    said = model.engine().complete([QUESTION.prompt([ph, ph], 'what is their sum?')] * 3, 3, seen.images[pairs])
    assert said == model.engine().complete([QUESTION.prompt([ph, ph], 'what is their sum?')] * 3, 3, images[pairs])


@pytest.mark.parametrize('mode', ['patches', 'cnn', 'frozen'])
def test_one_vector_per_picture_reads_as_the_whole_record_would(mode):
    meta = build_meta('read,draw', 40, 16, labels='words')  # labels of several characters: cached passes after it
    model = pixel_vlm(mode, meta, vectors=1)
    assert model.encoder(pictures(3)).shape == (3, 1, 32) and model.encoder.per_picture == 1
    images = pictures(5).numpy()
    seen = model.see(images)
    prompts = ids([READ.prompt(t, meta) for t in seen.texts], meta)
    pix = torch.from_numpy(images)
    P = prompts.shape[1]
    assert P == len(READ.prompt(meta['image_token'], meta))  # one placeholder where 16 letters stood
    scores = model.read_scores(images)
    for j, label in enumerate(meta['labels']):  # each label scored in one uncached pass over the whole record
        answer = torch.tensor(encode(label, meta['stoi'])).expand(5, -1)
        full, _ = model(torch.cat([prompts, answer[:, :-1]], 1), images=pix, all_logits=True)
        want = full[:, P - 1:].log_softmax(-1).gather(2, answer[:, :, None]).sum((1, 2))
        assert torch.allclose(scores[:, j], want, atol=1e-4)

    # a record's pixel form holds one placeholder per vector; the rest moves up, its answer mask with it
    L, T = meta['seq_len'], meta['tokens_per_image']
    codes = np.random.default_rng(0).integers(0, 40, (5, T))
    labels = [0, 3, 7, 8, 2]
    texts = [READ.prompt(letters(c, meta), meta) + meta['labels'][d] + '.' for c, d in zip(codes, labels)]
    records = ids([t.ljust(L, meta['pad_char']) for t in texts], meta)
    starts = [len(READ.prompt(letters(c, meta), meta)) for c in codes]
    layout = torch.tensor([[0, s, s + len(meta['labels'][d])] for s, d in zip(starts, labels)])
    answer = answer_mask(layout, L, [True, False])
    shown = pictures_shown(records, meta)
    assert shown.tolist() == [1] * 5
    form, mask = pixel_form(records, answer, shown, meta, 1)
    token = image_token_id(meta)
    assert form.shape == records.shape and ((form == token).sum(1) == 1).all() and (form[:, 6] == token).all()
    for r, (t, d) in enumerate(zip(texts, labels)):
        assert decode([i for i in form[r].tolist() if i != token], meta['itos']) == \
            (t[:6] + t[6 + T:]).ljust(L - 1, meta['pad_char'])
        # the mask marks the same characters, the answer, in both forms
        assert decode(form[r, 1:][mask[r]].tolist(), meta['itos']) == meta['labels'][d] == \
            decode(records[r, 1:][answer[r]].tolist(), meta['itos'])
    # VLM.forward on the pixel form is the GPT on its embeddings with the picture's vector put in by hand
    x = form[:, :-1]
    by_hand = model.gpt.transformer.wte(x.masked_fill(x == token, 0)).clone()
    by_hand[:, 6] = model.encoder(pix)[:, 0]
    want, _ = model.gpt(x, embeds=by_hand, all_logits=True)
    got, _ = model(x, images=pix, all_logits=True)
    last, _ = model(x, images=pix)
    assert torch.allclose(got, want, atol=1e-5) and torch.allclose(last[:, -1], want[:, -1], atol=1e-5)
    # rows that read pixels beside rows that keep their letters: each as if alone
    rows = torch.tensor([True, False, True, False, True])
    mixed, _ = model(torch.where(rows[:, None], form, records)[:, :-1], images=pix, image_rows=rows.long(),
                     all_logits=True)
    assert torch.allclose(mixed[rows], want[rows], atol=1e-5)
    assert torch.allclose(mixed[~rows], model.gpt(records[~rows, :-1], all_logits=True)[0], atol=1e-5)

    out = model.generate(prompts, 4, images=pix, temperature=0)
    assert out.shape == (5, P + 4) and torch.equal(out[:, :P], prompts)
    with pytest.raises(SystemExit, match='image_vectors'):
        ImageEncoder('cnn', 24, 16, vectors=4)


@pytest.mark.parametrize('vectors', [0, 1])
def test_a_question_of_two_pictures_reads_both_where_they_stand(vectors):
    meta = build_meta('read,draw,question', 40, 16)
    model = pixel_vlm('cnn', meta, vectors)
    per, T, L, token = vectors or 16, meta['tokens_per_image'], meta['seq_len'], image_token_id(meta)
    ph, sq = meta['image_alphabet'][0] * T, meta['image_token'] * per
    ask = 'what is their sum?'
    prompts = [QUESTION.prompt([ph, ph], ask), READ.prompt(ph, meta), 'number:7, image:']
    answers = ['12', '7', ph]
    texts = [p + a + '.' for p, a in zip(prompts, answers)]
    records = ids([t.ljust(L, '#') for t in texts], meta)
    layout = torch.tensor([[task, len(p), len(p) + len(a)] for task, p, a in zip((2, 0, 1), prompts, answers)])
    answer = answer_mask(layout, L, [t.weighted for t in (READ, DRAW, QUESTION)])
    assert pictures_shown(records, meta).tolist() == [2, 1, 0]
    second = picture_places(meta, 2)[1]
    assert texts[0][second - len('image:'):second] == 'image:' and texts[0][second + T:second + T + 2] == ', '
    form, mask = pixel_form(records, answer, pictures_shown(records, meta), meta, per)
    as_text = [decode(r, meta['itos']).rstrip('#') for r in form.tolist()]
    assert as_text == [QUESTION.prompt([sq, sq], ask) + '12.', READ.prompt(sq, meta) + '7.', texts[2]]
    assert [decode(form[r, 1:][mask[r]].tolist(), meta['itos']) for r in range(3)] == ['12', '7', '']

    at = second - (T - per)  # where the second picture's placeholders stand in the pixel form
    a, b = pictures(2, 0), pictures(2, 1)
    two = torch.stack([a, b], 1)[:1]  # the question's first picture a[0], its second b[0]
    other = torch.stack([a, pictures(2, 2)], 1)[:1]  # the same but for the second picture
    x = form[:1, :-1]
    la, _ = model(x, images=two, all_logits=True)
    lb, _ = model(x, images=other, all_logits=True)
    assert torch.allclose(la[:, :at], lb[:, :at]) and not torch.allclose(la[:, at + per:], lb[:, at + per:])
    prompt = x[:, :len(QUESTION.prompt([sq, sq], ask))]
    out = model.generate(prompt, 3, images=two, temperature=0)
    step, _ = model(torch.cat([prompt, out[:, -3:-1]], 1), images=two, all_logits=True)
    assert torch.equal(step[:, -3:].argmax(-1), out[:, -3:])  # cached generation is the whole pass's greedy choice
    # the placeholders are never targets; the text between and after them is
    y = make_targets(form, meta['stoi']['#'], ignore=(token,))
    masked = y == -1
    assert masked[0, 5:5 + per].all() and masked[0, at - 1:at - 1 + per].all() and masked[1, 5:5 + per].all()
    assert not masked[0, 5 + per:at - 1].any() and not masked[0, at - 1 + per:len(as_text[0]) - 1].any()
    assert not masked[1, 5 + per:len(as_text[1]) - 1].any()
    assert torch.equal(y[2], make_targets(records[2:], meta['stoi']['#'])[0])  # drawing: letters, as written


@pytest.mark.parametrize('per', [16, 1])
def test_a_share_of_the_reading_rows_keeps_its_letters_and_the_others_read_pixels(pipeline, per):
    data = pipeline['data']
    meta = load_meta(data)
    batches = Batches(data, meta, batch_size=1000, image_input='cnn', per_picture=per, letters_share=0.25)
    draws = batches.step(torch.Generator().manual_seed(0), 1, 1)
    ix = draws[0][0, 0]
    keep, shifts, flips = (d[0, 0] for d in draws[2])
    assert (shifts == 0).all() and not flips.any()
    x, y, w, seen = batches.micro(draws, 0, 0)
    records = batches.records['train'][ix]
    reading = pictures_shown(records, meta) == 1  # drawing rows show no picture: never pixels
    assert 0.4 < reading.float().mean() < 0.6
    chosen = seen['image_rows'] > 0
    assert not chosen[~reading].any() and 0.70 < chosen[reading].float().mean() < 0.80
    assert torch.equal(chosen, reading & keep)
    assert torch.equal(seen['images'][:, 0], torch.from_numpy(batches.pictures['train'][ix.numpy()]))
    # the others are the records as written
    pad, token, T = meta['stoi']['#'], image_token_id(meta), meta['tokens_per_image']
    assert torch.equal(x[~chosen], records[~chosen, :-1])
    assert torch.equal(y[~chosen], make_targets(records, pad)[~chosen])
    assert torch.equal(w[~chosen], batches.answer['train'][ix][~chosen])
    # the chosen: the picture's letters become `per` placeholders, never targets; the answer stays a target
    whole = torch.cat([records[chosen, :6], torch.full((int(chosen.sum()), per), token), records[chosen, 6 + T:],
                       torch.full((int(chosen.sum()), T - per), pad)], 1)
    assert torch.equal(x[chosen], whole[:, :-1]) and torch.equal(y[chosen], make_targets(whole, pad, ignore=(token,)))
    assert (y[chosen, 5:5 + per] == -1).all() and (y[chosen, 5 + per:5 + per + 9] >= 0).all()
    labels = records[chosen, 1:][batches.answer['train'][ix][chosen]]
    assert torch.equal(whole[:, 1:][w[chosen]], labels) and len(labels) == int(chosen.sum())


def test_pixel_rows_run_apart_from_long_ones_with_the_same_loss_and_gradients(pipeline):
    data = pipeline['data']
    meta = load_meta(data)
    batches = Batches(data, meta, batch_size=24, image_input='patches', per_picture=1, letters_share=0.0)
    batch = batches.micro(batches.step(torch.Generator().manual_seed(1), 1, 1), 0, 0)
    assert 0 < int(batch[3]['image_rows'].sum()) < 24  # short pixel rows (18 long) beside drawing rows (33)
    model = pixel_vlm('patches', meta, vectors=1)
    grads = []
    for bucket in (False, True):
        model.zero_grad()
        loss = forward_backward(model, batch, answer_weight=3.0, bucket_lengths=bucket)
        grads.append((loss, [p.grad.clone() for p in model.parameters() if p.requires_grad]))
    (l0, g0), (l1, g1) = grads
    assert torch.allclose(l0, l1, atol=1e-5) and all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g0, g1))
    assert all(p.grad.abs().sum() > 0 for p in model.encoder.parameters())  # it learns from the rows that read pixels


def test_shift_moves_the_ink_and_leaves_black():
    img = torch.zeros(1, 28, 28, dtype=torch.uint8)
    img[0, 10, 12] = 255
    moved = shift_images(img, torch.tensor([[2, -3]]))
    assert moved[0, 12, 9] == 255 and int(moved.sum()) == 255


def test_erasing_blanks_one_square_in_half_the_pictures_and_nothing_when_off():
    pics = torch.full((2000, 28, 28), 200, dtype=torch.uint8)
    out = erase_squares(pics, 8, torch.Generator().manual_seed(0))
    blanked = (out == 0).flatten(1).sum(1)
    assert set(blanked.tolist()) == {0, 64} and 0.45 < (blanked > 0).float().mean() < 0.55
    for i in torch.nonzero(blanked)[:20, 0].tolist():  # one whole 8x8 square, inside the picture
        rows, cols = torch.nonzero(out[i] == 0).unbind(1)
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 7
    assert torch.equal(pics, torch.full((2000, 28, 28), 200, dtype=torch.uint8))  # a copy: the batch is untouched
    grey = erase_squares(pics[:50], 8, torch.Generator().manual_seed(0))
    colour = erase_squares(pics[:50, ..., None].expand(-1, -1, -1, 3), 8, torch.Generator().manual_seed(0))
    assert torch.equal(colour, grey[..., None].expand(-1, -1, -1, 3))  # every channel of the same square
    gen = torch.Generator().manual_seed(0)
    assert erase_squares(pics, 0, gen) is pics and torch.equal(gen.get_state(), torch.Generator().manual_seed(0).get_state())


def test_flips_mirror_only_the_chosen_pictures_and_leave_the_stream_alone_when_off(pipeline):
    gen = torch.Generator().manual_seed(0)
    keep, shifts, flips = pixel_draws((1000,), gen, 0.0, 0, pixel_flip=True)
    assert 0.45 < flips.float().mean() < 0.55
    off, on = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    pixel_draws((8,), off, 0.1, 1)
    pixel_draws((8,), on, 0.1, 1, pixel_flip=True)
    assert not torch.equal(off.get_state(), on.get_state())  # only a flipping run draws the flips
    meta = load_meta(pipeline['data'])
    batches = Batches(pipeline['data'], meta, batch_size=2, image_input='cnn', per_picture=16, pixel_flip=True)
    ix = torch.nonzero(batches.shown['train'] == 1)[:2, 0]
    draws = (torch.ones(2, dtype=torch.bool), torch.zeros(2, 2, dtype=torch.long), torch.tensor([True, False]))
    _, _, _, seen = batches.get('train', ix, draws=draws)
    real = torch.from_numpy(batches.pictures['train'][ix.numpy()])
    assert torch.equal(seen['images'][0, 0], real[0].flip(-1)) and torch.equal(seen['images'][1, 0], real[1])
    assert not torch.equal(real[0], real[0].flip(-1))


def test_the_checkpoint_keeps_nanogpts_model_dict_and_the_encoder_beside_it():
    model = pixel_vlm('frozen')
    w = model.weights()
    assert set(w) == {'model', 'encoder', 'encoder_args'} and w['encoder_args']['mode'] == 'frozen'
    plain = GPT(model.config)
    plain.load_state_dict(w['model'])  # nanoGPT's GPT loads the model dict as it is
    frozen = [p for p in model.encoder.net.parameters()]
    assert frozen and not any(p.requires_grad for p in frozen)
    assert all(p.requires_grad for p in model.encoder.proj.parameters())
    # only the GPT and the projector are trained: neither the frozen encoder nor the tokenizer
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), 'cpu')
    trained = {id(p) for g in optimizer.param_groups for p in g['params']}
    assert trained == {id(p) for p in [*model.gpt.parameters(), *model.encoder.proj.parameters()]}
    # a VLM of the same shape loads the weights back; one that reads pictures another way refuses them in one line
    other = pixel_vlm('frozen', seed=1).load_weights(w, 'w.pt')
    for part in ('gpt', 'encoder'):
        theirs = getattr(other, part).state_dict()
        assert all(torch.equal(v, theirs[k]) for k, v in getattr(model, part).state_dict().items())
    with pytest.raises(SystemExit, match='w.pt does not hold this run.s model .*another way'):
        pixel_vlm('cnn').load_weights(w, 'w.pt')


def test_a_cnn_run_trains_reads_and_refuses_to_resume_as_another_input(pipeline, tmp_path):
    out = str(tmp_path / 'cnn')
    args = ('tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}', '--max_iters=30',
            '--eval_interval=30', '--lr_decay_iters=30')
    p = run('nanogpt.train', *args, '--image_input=cnn', '--pixel_shift=1', env_extra=pipeline['env'])
    assert "pictures read as pixels through 'cnn'" in p.stdout
    ck = torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)
    assert ck['encoder_args']['mode'] == 'cnn' and ck['train_seconds'] > 0
    vlm = VLM.from_pretrained(out)
    assert vlm.image_input == 'cnn'
    val = np.load(os.path.join(pipeline['data'], 'val.npz'))
    images, labels = val['images'], val['labels']
    assert images.shape[1:] == (28, 28) and len(vlm.read(images)) == len(labels)
    Image.fromarray(images[0]).save(tmp_path / 'digit.png')
    p = run('eval.ask', f"--image={tmp_path / 'digit.png'}", f'--out_dir={out}', env_extra=pipeline['env'])
    assert p.stdout.split()[0] in vlm.vocab['labels'] and "read as pixels through 'cnn'" in p.stdout
    # head to head with the letters run: one row per image input, and the curves (the judge: trained on first use)
    judge = tmp_path / 'judge.pt'
    res_path = tmp_path / 'heads.json'
    p = run('sweeps.compare', f"--runs={pipeline['out']},{out}", f'--judge_ckpt={judge}', '--n_per_digit=5',
            f'--out={res_path}', env_extra=pipeline['env'])
    res = json.load(open(res_path))
    assert list(res['by_image_input']) == ['letters', 'cnn'] and '| cnn | 1 |' in p.stdout
    assert res['runs'][1]['parameters']['encoder'] > 0 and (tmp_path / 'heads_curves.png').exists()
    p = run('nanogpt.train', *args, '--image_input=patches', '--init_from=resume', '--max_iters=90',
            env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and "reads images as 'cnn'" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_a_run_of_one_vector_per_picture_trains_and_resumes_only_as_one(pipeline, tmp_path):
    out = str(tmp_path / 'one')
    args = ('tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}', '--max_iters=10',
            '--eval_interval=10', '--lr_decay_iters=10', '--image_input=cnn')
    run('nanogpt.train', *args, '--image_vectors=1', env_extra=pipeline['env'])
    vlm = VLM.from_pretrained(out)
    images = np.load(os.path.join(pipeline['data'], 'val.npz'))['images']
    assert vlm.encoder.per_picture == 1 and vlm.see(images[:2]).texts == [vlm.vocab['image_token']] * 2
    assert len(vlm.read(images[:20])) == 20
    p = run('nanogpt.train', *args, '--init_from=resume', '--max_iters=20', env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and 'image_vectors=1' in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_a_deeper_cnn_run_trains_loads_and_resumes_only_as_deep(pipeline, tmp_path):
    out = str(tmp_path / 'deep')
    args = ('tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}', '--max_iters=10',
            '--eval_interval=10', '--lr_decay_iters=10', '--image_input=cnn', '--image_vectors=1')
    run('nanogpt.train', *args, '--encoder_depth=1', env_extra=pipeline['env'])
    vlm = VLM.from_pretrained(out)
    assert vlm.encoder.args['depth'] == 1 and len(vlm.read(np.load(os.path.join(pipeline['data'], 'val.npz'))
                                                             ['images'][:10])) == 10
    before = open(os.path.join(out, 'last.pt'), 'rb').read()
    p = run('nanogpt.train', *args, '--init_from=resume', '--max_iters=20', env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and 'encoder_depth' in p.stderr
    p = run('nanogpt.train', *args, '--encoder_depth=1', '--encoder_grid=7', '--init_from=resume', '--max_iters=20',
            env_extra=pipeline['env'], check=False)  # its 4x4 map asked to end at 7x7
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and 'encoder_grid=0 (asked' in p.stderr \
        and ', 1, 7)' in p.stderr
    assert open(os.path.join(out, 'last.pt'), 'rb').read() == before


def test_frozen_without_its_tokenizer_is_one_line(pipeline, tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    for name in os.listdir(pipeline['data']):  # the same data, its meta.json naming a tokenizer that is gone
        if name != 'meta.json':
            os.symlink(os.path.join(pipeline['data'], name), data / name)
    with open(os.path.join(pipeline['data'], 'meta.json'), encoding='utf-8') as f:
        meta = json.load(f)
    meta['vqvae']['path'] = str(tmp_path / 'gone' / 'ckpt.pt')
    (data / 'meta.json').write_text(json.dumps(meta), encoding='utf-8')
    p = run('nanogpt.train', 'tests/configs/train_tiny.py', f'--dataset={data}', f"--out_dir={tmp_path / 'f'}",
            '--image_input=frozen', '--max_iters=2', env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and 'VQ-VAE' in p.stderr and len(p.stderr.strip().splitlines()) == 1
