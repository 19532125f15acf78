import json
import os

import pytest
import torch

import eval.bench as bench
import nanogpt.batches as batches
from data.records.prepare import build_meta
from nanogpt.model import GPT, GPTConfig
from nanogpt.vlm import VLM
from vqvae.model import VQVAE, VQVAEConfig
from tests.conftest import ROOT, run


def test_bench_measures_throughput_accuracy_inference_and_stages(pipeline, report, tmp_path):
    out = tmp_path / 'bench.json'
    p = run('eval.bench', f"--out_dir={pipeline['out']}", f"--vqvae_dir={pipeline['vqvae']}",
            f'--judge_dir={tmp_path}/no_judge', '--steps=4', '--n_generate=50',
            '--blog_config=tests/configs/train_tiny.py', f'--out={out}', '--input_runs=', env_extra=pipeline['env'])
    b = json.load(open(out))
    assert 'train throughput' in p.stdout and str(out) in p.stdout
    tp = b['throughput']
    assert set(tp) == {'default', 'plain_nanogpt_loop', 'blog_model'}
    for t in tp.values():
        assert t['tokens_per_s'] > 0 and 0 < t['informative_tokens_per_s'] <= t['tokens_per_s']
        # the useful work a step does, as a share of the measured matmul rate: a share, never more than all of it
        assert 0 < t['peak_share'] < 1 and t['flops_per_s'] == pytest.approx(t['peak_share'] * b['matmul_peak_gflops']
                                                                             * 1e9)
    assert b['matmul_peak_gflops'] > 1
    # random windows waste the first letter of every next record: about one target in seq_len - 1
    waste = 1 - tp['plain_nanogpt_loop']['informative_tokens_per_s'] / tp['plain_nanogpt_loop']['tokens_per_s']
    assert 0.01 < waste < 0.06

    trail = json.load(open(os.path.join(report, 'results.json')))['classification']['trail']
    assert set(b['time_to_accuracy']) == {'0.95', '0.98', '0.99'}
    for th, hit in b['time_to_accuracy'].items():
        first = next((row for row in trail if row[2] >= float(th)), None)
        assert (hit is None) == (first is None)
        if hit:
            assert hit['iter'] == first[0] and hit['pipeline_seconds'] > hit['gpt_seconds']

    assert set(b['inference']) == {'read_images_per_s', 'draw_images_per_s_with_kv_cache',
                                   'draw_images_per_s_without_kv_cache'}
    assert all(v > 0 for v in b['inference'].values())
    for name in ('vqvae', 'data', 'train', 'eval', 'bench'):
        assert b['stages'][name]['wall_seconds'] > 0 and b['stages'][name]['peak_rss_mb'] > 50
    assert b['stages']['judge'] is None  # this judge left no run record: reported, not invented
    assert b['stages']['all stages']['wall_seconds'] == round(
        sum(b['stages'][k]['wall_seconds'] for k in ('vqvae', 'data', 'train', 'eval')), 1)


def test_bench_times_trains_own_batch_builder_and_step(pipeline, monkeypatch):
    """The default row is train's loop: batches of nanogpt/batches.py's Batches, each through its forward_backward,
    and its informative tokens are the targets those batches hold."""
    monkeypatch.setenv('MNIST_DIR', pipeline['mnist'])
    # bench and train share the one batch builder and step (nanogpt/train.py imports them from nanogpt/batches.py)
    assert bench.Batches is batches.Batches and bench.forward_backward is batches.forward_backward
    with open(os.path.join(ROOT, 'nanogpt', 'train.py'), encoding='utf-8') as f:
        assert 'from nanogpt.batches import' in f.read()
    built, stepped = [], []
    micro = batches.Batches.micro

    def spy_micro(self, draws, rank, m):
        built.append(micro(self, draws, rank, m))
        return built[-1]

    def spy_step(model, batch, **kw):
        stepped.append((batch, kw))
        return batches.forward_backward(model, batch, **kw)

    monkeypatch.setattr(batches.Batches, 'micro', spy_micro)
    monkeypatch.setattr(bench, 'forward_backward', spy_step)
    vlm = VLM.from_pretrained(pipeline['out'])
    cfg = vlm.info['train_config']
    t = bench.time_training(cfg, vlm, 'cpu', 3, plain=False)
    assert len(built) == len(stepped) == 2 + 3  # two warm-up steps, then the three timed
    assert all(batch is b for (batch, _), b in zip(stepped, built))  # each batch the builder made, stepped as built
    assert all(kw['answer_weight'] == cfg['answer_weight'] for _, kw in stepped)
    x, y, w, seen = built[-1]
    B, T = x.shape
    assert B == cfg['batch_size'] == t['batch_size'] and T == vlm.vocab['seq_len'] - 1 and y.shape == (B, T)
    # informative tokens: the targets of the timed batches that the loss counts (not padding), per step
    useful = sum(int((b[1] >= 0).sum()) for b in built[2:]) / 3
    assert t['informative_tokens_per_s'] / t['tokens_per_s'] == pytest.approx(useful / (B * T), rel=0.02)
    assert useful == int((y >= 0).sum()) == B * T  # the default tasks' records are all full length: none wasted

    # and the plain loop runs no batch of the builder
    built.clear(), stepped.clear()
    plain = bench.time_training(cfg, vlm, 'cpu', 1, plain=True)
    assert built == stepped == [] and plain['tokens_per_s'] > 0


def test_bench_without_a_run_says_what_to_do(tmp_path, pipeline):
    p = run('eval.bench', f'--out_dir={tmp_path}', env_extra=pipeline['env'], check=False)
    assert p.returncode != 0 and 'Traceback' not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert 'config.json' in p.stderr and 'make train' in p.stderr


def test_bench_builds_the_run_shape_of_a_colour_folder():
    """A run of one's own colour pictures (32x32 RGB, an 8x8 grid of letters) is timed on its own shape: the
    encoder bench builds reads the tokenizer's pictures, as train's does."""
    meta = build_meta('read,draw', 32, 64)
    tokenizer = VQVAE(VQVAEConfig(tokens_per_image=64, num_codes=32, hidden=16, code_dim=4, side=32, channels=3))
    gpt = GPT(GPTConfig(block_size=meta['seq_len'] - 1, vocab_size=meta['vocab_size'], n_layer=1, n_head=1, n_embd=8))
    cfg = dict(n_layer=1, n_head=1, n_embd=8, bias=True, dropout=0.0, image_input='cnn', image_vectors=1,
               encoder_width=8)
    model = bench.fresh_model(cfg, VLM(gpt, tokenizer, meta), 'cpu')
    assert model.encoder(torch.zeros(2, 32, 32, 3, dtype=torch.uint8)).shape == (2, 1, 8)
    assert all(p.requires_grad for p in model.encoder.parameters())
    # a run whose encoder was pretrained alone reads frozen during the GPT's steps, and is timed so
    frozen = bench.fresh_model(dict(cfg, encoder_iters=100), VLM(gpt, tokenizer, meta), 'cpu')
    assert not any(p.requires_grad for p in frozen.encoder.parameters())
