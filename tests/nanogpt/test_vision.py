"""Pixel inputs (nanogpt/vision.py): where the vectors go, what they may not leak, how a run is saved."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from data.mnist_vlm.format import encode
from data.mnist_vlm.grounded import QUESTION
from data.mnist_vlm.tasks import READ, build_meta
from nanogpt.model import GPT, GPTConfig
from nanogpt.vision import (IMAGE_INPUTS, ImageEncoder, picture_places, pictures_shown, pixel_draws, see_pixels,
                            shift_images, weights, with_encoder)
from nanogpt.vlm import VLM
from tests.conftest import run
from vqvae.model import VQVAE, VQVAEConfig

META = build_meta('read,draw', 40, 16)


def pixel_gpt(mode, seed=0):
    torch.manual_seed(seed)
    gpt = GPT(GPTConfig(block_size=META['seq_len'] - 1, vocab_size=META['vocab_size'], n_layer=2, n_head=2, n_embd=32))
    vq = VQVAE(VQVAEConfig(hidden=32, code_dim=8, num_codes=40)) if mode == 'frozen' else None
    return with_encoder(gpt, mode, META, width=16, vq=vq).eval()


def pictures(n, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8))


@pytest.mark.parametrize('mode', ['patches', 'cnn', 'frozen'])
@pytest.mark.parametrize('tokens', [16, 49])
def test_every_encoder_writes_one_vector_per_letter_of_the_grid(mode, tokens):
    vq = dict(vars(VQVAEConfig(hidden=32, code_dim=8, tokens_per_image=tokens))) if mode == 'frozen' else None
    enc = ImageEncoder(mode, 24, tokens, width=16, vq_args=vq)
    assert enc(pictures(3)).shape == (3, tokens, 24)


def test_an_encoder_for_another_grid_or_name_is_one_line():
    with pytest.raises(SystemExit, match='4x4 or 7x7'):
        ImageEncoder('cnn', 24, 8)
    with pytest.raises(SystemExit, match='unknown.*letters, patches, cnn, frozen'):
        ImageEncoder('vit', 24, 16)
    with pytest.raises(ValueError, match='28x28'):
        ImageEncoder('cnn', 24, 16)(torch.zeros(2, 32, 32, dtype=torch.uint8))
    assert IMAGE_INPUTS == ('letters', 'patches', 'cnn', 'frozen')


def test_pixels_reach_only_the_chosen_rows_and_only_from_the_picture_on():
    model = pixel_gpt('cnn')
    records = torch.from_numpy(READ.prompt_ids(np.zeros((4, 16), np.int64), META))
    a, b = pictures(4, 0), pictures(4, 1)
    rows = torch.tensor([True, True, False, False])
    la, _ = model(records, images=a, image_rows=rows, all_logits=True)
    lb, _ = model(records, images=b, image_rows=rows, all_logits=True)
    plain, _ = model.gpt(records, all_logits=True)
    slot = len(READ.prefix)
    assert torch.allclose(la[:, :slot], lb[:, :slot])  # causal: nothing before the picture sees it
    assert not torch.allclose(la[:2, slot:], lb[:2, slot:])  # the rows that see pixels read them
    assert torch.allclose(la[2:], plain[2:], atol=1e-6) and torch.allclose(lb[2:], plain[2:], atol=1e-6)


def test_cached_reading_equals_one_full_pass():
    model = pixel_gpt('patches')
    images = pictures(5).numpy()
    scores = READ.answer_scores(model, images, META)
    prompts, pix = READ.prompts(model, images, META)
    full, _ = model(prompts, images=pix, all_logits=True)
    digits = [META['stoi'][d] for d in '0123456789']
    assert torch.allclose(scores, full[:, -1].log_softmax(-1)[:, digits], atol=1e-5)
    free = READ.free_answers(model, images, META)
    assert len(free) == 5


@pytest.mark.parametrize('mode', ['patches', 'cnn', 'frozen'])
def test_one_vector_per_picture_reads_as_the_whole_record_would(mode):
    meta = build_meta('read,draw', 40, 16, labels='words')  # labels of several characters: cached passes after it
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(block_size=meta['seq_len'] - 1, vocab_size=meta['vocab_size'], n_layer=2, n_head=2, n_embd=32))
    vq = VQVAE(VQVAEConfig(hidden=32, code_dim=8, num_codes=40)) if mode == 'frozen' else None
    model = with_encoder(gpt, mode, meta, width=16, vq=vq, vectors=1).eval()
    assert model.encoder(pictures(3)).shape == (3, 1, 32) and model.spare == 15
    images = pictures(5).numpy()
    prompts, pix = READ.prompts(model, images, meta)
    scores = READ.answer_scores(model, images, meta)
    P = prompts.shape[1]
    for j, label in enumerate(meta['labels']):  # each label scored in one uncached pass over the whole record
        ids = torch.tensor([meta['stoi'][c] for c in label]).expand(5, -1)
        full, _ = model(torch.cat([prompts, ids[:, :-1]], 1), images=pix, all_logits=True)
        want = full[:, P - 1:].log_softmax(-1).gather(2, ids[:, :, None]).sum((1, 2))
        assert torch.allclose(scores[:, j], want, atol=1e-4)
    # the squeezed rows run as the GPT alone would on the short record; the other rows as the GPT on the whole one
    rows = torch.tensor([True, False, True, False, True])
    logits, _ = model(prompts, images=pix, image_rows=rows, all_logits=True)
    short, kept = model.squeeze(prompts[rows])
    alone, _ = model.gpt(short, all_logits=True,
                         embeds=model.put(model.gpt.transformer.wte(short), torch.arange(3), pix[rows][:, None], 15))
    assert short.shape[1] == P - 15 and torch.allclose(logits[rows][:, kept], alone, atol=1e-5)
    assert torch.allclose(logits[~rows], model.gpt(prompts[~rows], all_logits=True)[0], atol=1e-5)
    last, _ = model(prompts, images=pix, image_rows=rows)  # the rows of one pass are padded to the longest
    assert last.shape == (5, 1, meta['vocab_size']) and torch.allclose(last[:, 0], logits[:, -1], atol=1e-5)
    out = model.generate(prompts, 4, images=pix, temperature=0)
    assert out.shape == (5, P + 4) and torch.equal(out[:, :P], prompts)
    with pytest.raises(SystemExit, match='image_vectors'):
        ImageEncoder('cnn', 24, 16, vectors=4)


@pytest.mark.parametrize('vectors', [0, 1])
def test_a_question_of_two_pictures_reads_both_where_they_stand(vectors):
    meta = build_meta('read,draw,question', 40, 16)
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(block_size=meta['seq_len'] - 1, vocab_size=meta['vocab_size'], n_layer=2, n_head=2, n_embd=32))
    model = with_encoder(gpt, 'cnn', meta, width=16, vectors=vectors).eval()
    ph = meta['image_alphabet'][0] * 16
    texts = [QUESTION.prompt([ph, ph], 'what is their sum? ') + '12.', 'image:' + ph + ', number:7.',
             'number:7, image:' + ph + '.']
    ids = torch.tensor([encode(t.ljust(meta['seq_len'], '#'), meta['stoi']) for t in texts])
    assert pictures_shown(ids, meta).tolist() == [2, 1, 0]
    second = picture_places(meta, 2)[1]
    assert texts[0][second - len('image:'):second] == 'image:' and texts[0][second + 16:second + 18] == ', '
    a, b = pictures(2, 0), pictures(2, 1)
    two = torch.stack([a, b], 1)[:1]  # the question's first picture a[0], its second b[0]
    other = torch.stack([a, pictures(2, 2)], 1)[:1]  # the same but for the second picture
    x = ids[:1, :-1]
    la, _ = model(x, images=two, all_logits=True)
    lb, _ = model(x, images=other, all_logits=True)
    assert torch.allclose(la[:, :second], lb[:, :second]) and not torch.allclose(la[:, second + 16:], lb[:, second + 16:])
    prompt = x[:, :len(QUESTION.prompt([ph, ph], 'what is their sum? '))]
    out = model.generate(prompt, 3, images=two, temperature=0)
    step, _ = model(torch.cat([prompt, out[:, -3:-1]], 1), images=two, all_logits=True)
    assert torch.equal(step[:, -3:].argmax(-1), out[:, -3:])  # cached generation is the whole pass's greedy choice
    y, seen = see_pixels(ids[:, 1:], torch.stack([a, b], 1)[[0, 1, 0]], pictures_shown(ids, meta), meta)
    masked = (y == -1)
    assert masked[0, 5:21].all() and masked[0, second - 1:second + 15].all() and masked[1, 5:21].all()
    assert not masked[1, second - 1:].any() and not masked[2].any()


def test_see_pixels_masks_the_letters_it_replaces_and_keeps_a_share_as_letters():
    y = torch.arange(33 - 1).repeat(1000, 1)
    rows = torch.ones(1000, dtype=torch.bool)
    rows[::2] = False  # drawing rows: never pixels
    keep, shifts, flips = pixel_draws((1000,), torch.Generator().manual_seed(0), 0.25, 0)
    assert (shifts == 0).all() and not flips.any()
    y2, seen = see_pixels(y, pictures(1000), rows, META, keep=keep)
    chosen = seen['image_rows'] > 0  # how many pictures each row reads: one or none here
    assert not chosen[::2].any() and 0.70 < chosen[1::2].float().mean() < 0.80
    cut = slice(len('image:') - 1, len('image:') - 1 + 16)
    assert (y2[chosen, cut] == -1).all() and torch.equal(y2[~chosen], y[~chosen])
    assert torch.equal(y2[chosen, cut.stop:], y[chosen, cut.stop:])  # the answer stays a target


def test_shift_moves_the_ink_and_leaves_black():
    img = torch.zeros(1, 28, 28, dtype=torch.uint8)
    img[0, 10, 12] = 255
    moved = shift_images(img, torch.tensor([[2, -3]]))
    assert moved[0, 12, 9] == 255 and int(moved.sum()) == 255


def test_flips_mirror_only_the_chosen_pictures_and_leave_the_stream_alone_when_off():
    gen = torch.Generator().manual_seed(0)
    keep, shifts, flips = pixel_draws((1000,), gen, 0.0, 0, pixel_flip=True)
    assert 0.45 < flips.float().mean() < 0.55
    off, on = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    pixel_draws((8,), off, 0.1, 1)
    pixel_draws((8,), on, 0.1, 1, pixel_flip=True)
    assert not torch.equal(off.get_state(), on.get_state())  # only a flipping run draws the flips
    pics = torch.zeros(2, 28, 28, dtype=torch.uint8)
    pics[:, 5, 3] = 255
    y = torch.zeros(2, 32, dtype=torch.long)
    _, seen = see_pixels(y, pics, torch.ones(2, dtype=torch.bool), META, flips=torch.tensor([True, False]))
    assert seen['images'][0, 5, 24] == 255 and seen['images'][1, 5, 3] == 255 and int(seen['images'].sum()) == 510


def test_the_checkpoint_keeps_nanogpts_model_dict_and_the_encoder_beside_it():
    model = pixel_gpt('frozen')
    w = weights(model)
    assert set(w) == {'model', 'encoder', 'encoder_args'} and w['encoder_args']['mode'] == 'frozen'
    plain = GPT(model.config)
    plain.load_state_dict(w['model'])  # nanoGPT's GPT loads the model dict as it is
    frozen = [p for p in model.encoder.net.parameters()]
    assert frozen and not any(p.requires_grad for p in frozen)
    assert all(p.requires_grad for p in model.encoder.proj.parameters())


def test_a_cnn_run_trains_reads_and_refuses_to_resume_as_another_input(pipeline, report, tmp_path):
    out = str(tmp_path / 'cnn')
    args = ('tests/configs/train_tiny.py', f"--dataset={pipeline['data']}", f'--out_dir={out}', '--max_iters=30',
            '--eval_interval=30', '--lr_decay_iters=30')
    p = run('nanogpt.train', *args, '--image_input=cnn', '--pixel_shift=1', env_extra=pipeline['env'])
    assert "pictures read as pixels through 'cnn'" in p.stdout
    ck = torch.load(os.path.join(out, 'ckpt.pt'), weights_only=True)
    assert ck['encoder_args']['mode'] == 'cnn' and ck['train_seconds'] > 0
    vlm = VLM.load(out)
    assert vlm.image_input == 'cnn'
    seen, labels = vlm.inputs('val')
    assert seen.shape[1:] == (28, 28) and len(vlm.read(seen)) == len(labels)
    Image.fromarray(seen[0]).save(tmp_path / 'digit.png')
    p = run('eval.ask', f"--image={tmp_path / 'digit.png'}", f'--out_dir={out}', env_extra=pipeline['env'])
    assert p.stdout.split()[0] in vlm.meta['labels'] and "read as pixels through 'cnn'" in p.stdout
    # head to head with the letters run: one row per image input, and the curves
    judge = json.load(open(os.path.join(report, 'results.json')))['judge']['path']
    res_path = tmp_path / 'heads.json'
    p = run('eval.compare', f"--runs={pipeline['out']},{out}", f'--judge_ckpt={judge}', '--n_per_digit=5',
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
    vlm = VLM.load(out)
    seen, labels = vlm.inputs('val')
    assert vlm.gpt.spare == vlm.meta['tokens_per_image'] - 1 and len(vlm.read(seen[:20])) == 20
    p = run('nanogpt.train', *args, '--init_from=resume', '--max_iters=20', env_extra=pipeline['env'], check=False)
    assert p.returncode == 1 and 'image_vectors=1' in p.stderr and len(p.stderr.strip().splitlines()) == 1


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
