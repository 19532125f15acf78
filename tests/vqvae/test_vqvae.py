import os
import shutil

import numpy as np
import pytest
import torch

from tests.conftest import draw_digits, run
from vqvae.model import VQVAE, VQVAEConfig, load_vqvae, moved


def test_encode_decode_shapes_and_grid_sizes():
    for enc, t in (('conv', 16), ('conv', 49), ('mlp', 8)):
        m = VQVAE(VQVAEConfig(encoder=enc, tokens_per_image=t, num_codes=26, hidden=16, code_dim=4)).eval()
        ids = m.encode(torch.zeros(3, 28, 28, dtype=torch.uint8))
        assert ids.shape == (3, t) and ids.dtype == torch.int64 and ids.max() < 26
        img = m.decode(ids)
        assert img.shape == (3, 28, 28) and 0 <= img.min() and img.max() <= 1
    with pytest.raises(ValueError, match='16 or 49'):
        VQVAE(VQVAEConfig(tokens_per_image=8))


@pytest.mark.parametrize('side, channels, tokens', [(32, 3, 64), (32, 3, 16), (32, 1, 64), (64, 3, 16), (16, 3, 16)])
def test_a_tokenizer_of_other_sides_and_colour_writes_and_draws_their_pictures(side, channels, tokens):
    for enc in ('conv', 'mlp'):
        m = VQVAE(VQVAEConfig(encoder=enc, tokens_per_image=tokens, hidden=16, code_dim=4, side=side,
                              channels=channels)).eval()
        shape = (side, side) if channels == 1 else (side, side, channels)
        x = torch.randint(0, 256, (2, *shape), dtype=torch.uint8)
        logits, ids, _, grid = m(x.float() / 255)
        assert logits.shape == x.shape and ids.shape == (2, tokens) and m.picture_shape == shape
        assert grid.shape == (2, tokens * 4)  # the quantized codes a label term reads
        assert m.decode(m.encode(x)).shape == x.shape
    with pytest.raises(ValueError, match='4x4 or 8x8 of 32x32 pictures: tokens_per_image must be 16 or 64, not 49'):
        VQVAE(VQVAEConfig(tokens_per_image=49, side=32, channels=3))


def test_codebook_state_lives_in_buffers_and_survives_reload(tmp_path):
    torch.manual_seed(0)
    m = VQVAE(VQVAEConfig(hidden=16, code_dim=4))
    x = torch.from_numpy(draw_digits(np.arange(64) % 10, np.random.default_rng(0))).float() / 255
    m(x)  # the first training batch runs k-means
    names = dict(m.named_buffers())
    for b in ('quantizer.codebook', 'quantizer.ema_count', 'quantizer.ema_sum', 'quantizer.initialized'):
        assert b in names
    assert bool(m.quantizer.initialized)
    m2 = VQVAE(VQVAEConfig(hidden=16, code_dim=4))
    m2.load_state_dict(m.state_dict())
    m2.quantizer._ema_update = lambda z, idx: None  # look at initialisation alone
    before = m2.quantizer.codebook.clone()
    m2(x)  # a training-mode forward of the reloaded model must not re-run k-means
    assert torch.equal(before, m2.quantizer.codebook)
    assert torch.equal(m.encode(x), m2.encode(x))


def test_under_bf16_autocast_the_convolutions_run_in_bf16_and_the_codebook_in_float32():
    torch.manual_seed(0)
    m = VQVAE(VQVAEConfig(hidden=16, code_dim=4))
    x = torch.from_numpy(draw_digits(np.arange(64) % 10, np.random.default_rng(0))).float() / 255
    m(x)  # k-means: the codebook where the latents are
    m.eval()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits, idx, commit, grid = m(x)
        z = m._latents(x)
    assert logits.dtype == z.dtype == torch.bfloat16
    assert grid.dtype == commit.dtype == m.quantizer.codebook.dtype == torch.float32
    # the nearest codes of the bf16 latents, looked up in float32 as training does
    assert torch.equal(idx.flatten(), m.quantizer.lookup(z.float()))


def test_a_tokenizer_trains_under_bf16_and_refuses_float16_in_one_line(pipeline, tmp_path):
    vq = str(tmp_path / 'vq')
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=20', '--eval_interval=10',
            '--dtype=bfloat16', env_extra=pipeline['env'])
    ckpt = torch.load(f'{vq}/ckpt.pt', weights_only=True)
    assert '(bfloat16)' in p.stdout and ckpt['config']['dtype'] == 'bfloat16' and np.isfinite(ckpt['val']['bce'])
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f"--out_dir={tmp_path / 'half'}", '--dtype=float16',
            env_extra=pipeline['env'], check=False)
    said = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(said) == 1 and "dtype='float16'" in said[0]
    assert not os.path.exists(tmp_path / 'half')


def test_dead_codes_are_restarted_on_encoder_outputs():
    q = VQVAE(VQVAEConfig(hidden=16, code_dim=4, num_codes=8)).quantizer
    z = torch.randn(256, 4)
    q._kmeans_init(z)
    q.codebook[3] = 1e6  # a code nothing will ever pick
    q.ema_sum[3] = 1e6
    q.ema_count[3] = 0.0
    q._ema_update(z, q.lookup(z))
    assert q.codebook[3].abs().max() < 100 and q.ema_count[3] == 1.0


def test_training_learns_and_checkpoint_loads(pipeline):
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', '--max_iters=0', '--out_dir=/nonexistent/x',
            '--no_such_key=1', env_extra=pipeline['env'], check=False)
    assert p.returncode != 0 and "unknown config key 'no_such_key'" in p.stderr and 'Traceback' not in p.stderr
    vq = load_vqvae(f"{pipeline['vqvae']}/ckpt.pt")
    ckpt = torch.load(f"{pipeline['vqvae']}/ckpt.pt", weights_only=True)
    assert ckpt['val']['bce'] < 0.25 and ckpt['val']['codes_used'] >= 8
    x = torch.from_numpy(draw_digits(np.arange(20) % 10, np.random.default_rng(1)))
    err = ((vq.decode(vq.encode(x)) - x.float() / 255) ** 2).mean()
    assert err < 0.7 * ((x.float() / 255 - (x.float() / 255).mean()) ** 2).mean()  # better than a flat grey guess


def test_missing_or_foreign_checkpoint_is_one_clear_error(tmp_path):
    with pytest.raises(SystemExit, match='make vqvae'):
        load_vqvae(str(tmp_path / 'missing.pt'))
    (tmp_path / 'junk.pt').write_bytes(b'not a checkpoint')
    with pytest.raises(SystemExit, match='not a readable'):
        load_vqvae(str(tmp_path / 'junk.pt'))


def test_a_finished_tokenizer_is_kept_unless_forced(pipeline, tmp_path):
    vq = str(tmp_path / 'vq')
    shutil.copytree(pipeline['vqvae'], vq)
    before = open(f'{vq}/ckpt.pt', 'rb').read()
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--init_from=auto',
            env_extra=pipeline['env'])
    assert 'holds this tokenizer, finished: nothing to do' in p.stdout and open(f'{vq}/ckpt.pt', 'rb').read() == before
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--num_codes=30', '--init_from=auto',
            env_extra=pipeline['env'], check=False)  # another tokenizer where a finished one lies: refused
    assert p.returncode == 1 and '--force=True' in p.stderr and open(f'{vq}/ckpt.pt', 'rb').read() == before
    assert len(p.stderr.strip().splitlines()) == 1


def test_resuming_a_tokenizer_of_other_sizes_is_one_line(pipeline, tmp_path):
    vq = str(tmp_path / 'vq')
    run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=10', '--eval_interval=5',
        env_extra=pipeline['env'])
    before = open(os.path.join(vq, 'last.pt'), 'rb').read()
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=20', '--num_codes=30',
            '--init_from=resume', env_extra=pipeline['env'], check=False)
    said = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(said) == 1 and 'is a tokenizer of num_codes=40 (asked 30)' in said[0]
    assert open(os.path.join(vq, 'last.pt'), 'rb').read() == before


def test_residual_blocks_are_extra_layers_only_when_asked():
    plain = VQVAE(VQVAEConfig(hidden=16, code_dim=4))
    assert not any('.net.' in k for k in plain.state_dict())  # MNIST's letters: the plain stack, its keys as they were
    deep = VQVAE(VQVAEConfig(hidden=16, code_dim=4, res_blocks=2, side=32, channels=3, tokens_per_image=64)).eval()
    assert sum('.net.' in k for k in deep.state_dict()) == 2 * 2 * 4  # two blocks each side, two convs each
    x = torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8)
    assert deep.decode(deep.encode(x)).shape == x.shape


def test_the_perceptual_term_grows_as_a_picture_blurs_and_trains_the_picture_not_itself():
    from vqvae.perceptual import perceptual_loss, train_features
    torch.manual_seed(0)
    y = torch.from_numpy(np.arange(200) % 10)
    x = torch.from_numpy(draw_digits(y.numpy(), np.random.default_rng(0))).float() / 255
    net = train_features(x, y, 10, steps=60, seed=0)
    assert not any(p.requires_grad for p in net.parameters())  # frozen: the tokenizer's loss trains nothing of it
    assert perceptual_loss(net, x[:50], x[:50]).item() < 1e-6
    blurs = [torch.nn.functional.avg_pool2d(x[:50, None], k, 1, k // 2)[:, 0] for k in (3, 5, 7)]
    losses = [perceptual_loss(net, b, x[:50]).item() for b in blurs]
    assert 0 < losses[0] < losses[1] < losses[2]
    recon = blurs[1].clone().requires_grad_(True)
    perceptual_loss(net, recon, x[:50]).backward()
    assert recon.grad.abs().sum() > 0


def test_the_perceptual_term_is_the_distance_of_normalised_maps_zero_vectors_included():
    from vqvae.perceptual import Features, perceptual_loss
    torch.manual_seed(0)
    net = Features(3, 10).eval().requires_grad_(False)
    net.stages[0][1].bias.fill_(-1.0)  # a black picture's first map is then all zero after its ReLU
    x = torch.rand(6, 16, 16, 3)
    recon = torch.rand(6, 16, 16, 3)
    recon[0] = 0
    recon.requires_grad_(True)

    def plain(a_maps, b_maps):  # what it stands for: normalise each vector of channels, then compare
        return sum((torch.nn.functional.normalize(a, dim=1) - torch.nn.functional.normalize(b, dim=1)).pow(2)
                   .sum(1).mean() for a, b in zip(a_maps, b_maps))
    assert any((m.abs().sum(1) == 0).any() for m in net.maps(recon.detach()))
    fast = perceptual_loss(net, recon, x)
    grad, = torch.autograd.grad(fast, recon)
    slow = plain(net.maps(recon), net.maps(x))
    slow_grad, = torch.autograd.grad(slow, recon)
    assert torch.allclose(fast, slow, rtol=1e-5) and torch.allclose(grad, slow_grad, rtol=1e-4, atol=1e-8)


def test_grey_pictures_reach_the_convolutions_channels_last_as_colour_ones_do():
    from vqvae.model import channels_first
    for shape in ((2, 8, 8), (2, 8, 8, 3)):
        x = torch.rand(shape)
        c = channels_first(x)
        assert c.shape == (2, shape[3] if len(shape) == 4 else 1, 8, 8)
        assert c.is_contiguous(memory_format=torch.channels_last) and c.stride(1) == 1
        assert torch.equal(c.permute(0, 2, 3, 1).reshape(x.shape), x)
        assert torch.nn.Conv2d(c.shape[1], 4, 3)(c).stride(1) == 1  # the convolution's output is channels-last


def test_a_perceptual_tokenizer_trains_and_refuses_to_resume_by_another_loss(pipeline, tmp_path):
    vq = str(tmp_path / 'vq')
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=10', '--eval_interval=5',
            '--perceptual=1.0', '--perceptual_steps=20', '--res_blocks=1', env_extra=pipeline['env'])
    assert 'perceptual features: 20 steps' in p.stdout and load_vqvae(f'{vq}/ckpt.pt').config.res_blocks == 1
    os.remove(f'{vq}/ckpt.pt')  # an unfinished run, as if stopped at its last evaluation
    before = open(os.path.join(vq, 'last.pt'), 'rb').read()
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=20', '--perceptual=2.0',
            '--perceptual_steps=20', '--res_blocks=1', '--init_from=resume', env_extra=pipeline['env'], check=False)
    said = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(said) == 1
    assert "perceptual=1.0 over 20 steps' features (asked perceptual=2.0" in said[0]
    assert open(os.path.join(vq, 'last.pt'), 'rb').read() == before


def test_a_tokenizer_with_the_label_term_keeps_its_head_to_resume_and_refuses_another_weight(pipeline, tmp_path):
    vq = str(tmp_path / 'vq')
    run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=10', '--eval_interval=5',
        '--label_term=1.0', env_extra=pipeline['env'])
    state = torch.load(os.path.join(vq, 'last.pt'), weights_only=False)
    assert state['label_head']['weight'].shape == (10, 16 * 8)  # 10 labels, read from 16 codes of 8 numbers
    assert 'label_head' not in torch.load(os.path.join(vq, 'ckpt.pt'), weights_only=False)  # dropped once trained
    os.remove(f'{vq}/ckpt.pt')  # an unfinished run, as if stopped at its last evaluation
    before = open(os.path.join(vq, 'last.pt'), 'rb').read()
    for other in ('--label_term=2.0', '--label_term=0'):
        p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=20', other,
                '--init_from=resume', env_extra=pipeline['env'], check=False)
        said = p.stderr.strip().splitlines()
        assert p.returncode == 1 and len(said) == 1
        assert 'perceptual=0.0, label_term=1.0 (asked perceptual=0.0' in said[0]
        assert open(os.path.join(vq, 'last.pt'), 'rb').read() == before
    p = run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={vq}', '--max_iters=20', '--label_term=1.0',
            '--init_from=resume', env_extra=pipeline['env'])
    assert 'resuming' in p.stdout and 'label read from the codes' in p.stdout
    assert 0 <= torch.load(f'{vq}/ckpt.pt', weights_only=False)['val']['label_accuracy'] <= 1


@pytest.mark.parametrize('shape', [(2, 8, 8), (2, 8, 8, 3)])
def test_moved_pictures_shift_by_whole_pixels_exactly_and_turn_about_the_centre(shape):
    x = torch.rand(shape)
    still = moved(x, torch.zeros(2), torch.zeros(2, 2))
    assert torch.allclose(still, x, atol=1e-5) and still.shape == x.shape
    left_up = moved(x, torch.zeros(2), torch.tensor([[1., 0.], [0., 2.]]))
    assert torch.allclose(left_up[0, :, :-1], x[0, :, 1:], atol=1e-5) and (left_up[0, :, -1] == 0).all()
    assert torch.allclose(left_up[1, :-2], x[1, 2:], atol=1e-5) and (left_up[1, -2:] == 0).all()
    half = moved(x, torch.tensor([180., -180.]), torch.zeros(2, 2))  # a half turn is the picture upside down
    assert torch.allclose(half, x.flip(1, 2), atol=1e-5)


def test_a_tokenizer_learns_from_moved_pictures_only_when_asked_and_refuses_to_resume_by_other_moves(pipeline,
                                                                                                      tmp_path):
    def train(out, *args, **kw):
        return run('vqvae.train', 'tests/configs/vqvae_tiny.py', f'--out_dir={out}', '--max_iters=10',
                   '--eval_interval=5', *args, env_extra=pipeline['env'], **kw)

    for name, args in (('plain', ()), ('plain_again', ('--augment_until=1.0',)), ('moved', ('--augment=1.0',))):
        train(tmp_path / name, *args)
    weights = {n: torch.load(tmp_path / n / 'ckpt.pt', weights_only=False)['model']['encoder.0.weight']
               for n in ('plain', 'plain_again', 'moved')}
    assert torch.equal(weights['plain'], weights['plain_again'])  # augment=0 moves nothing, whatever the span
    assert not torch.equal(weights['plain'], weights['moved'])
    vq = tmp_path / 'moved'
    os.remove(vq / 'ckpt.pt')  # an unfinished run, as if stopped at its last evaluation
    before = (vq / 'last.pt').read_bytes()
    for other in (('--augment=0.5',), ('--augment=0',), ('--augment=1.0', '--augment_until=0.9'),
                  ('--augment=1.0', '--max_rotate=0')):
        p = train(vq, *other, '--max_iters=20', '--init_from=resume', check=False)
        said = p.stderr.strip().splitlines()
        assert p.returncode == 1 and len(said) == 1
        assert 'augment=1.0 until 0.5 (max_shift=2.0, max_rotate=10.0) (asked' in said[0]
        assert (vq / 'last.pt').read_bytes() == before
    assert 'resuming' in train(vq, '--augment=1.0', '--max_iters=20', '--init_from=resume').stdout
