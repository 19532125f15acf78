"""`make bench`: how fast the pipeline is on this machine. Prints a table and writes bench.json.

    python -m eval.bench [--out_dir=out/mnist_letters]

Run it after `make all`, with nothing else busy: it times training steps itself.
- train throughput: tokens/s, informative tokens/s (targets that are neither padding nor the first
  letter of an unrelated record) of the trained run's config in train's own loop (the batch builder and
  micro-step of nanogpt/batches.py, the optimizer step of nanogpt/train.py), of the same model in a
  plain nanoGPT loop (random windows of the flat token stream, no masking), and of the blog's model;
  each as a share of this machine's measured float32 matmul rate (nanoGPT's FLOPs estimate of the
  informative tokens: the model FLOPs utilisation of the useful work);
- the frontier, test accuracy against wall time, from the ckpt_<iter>.pt trail that `make eval` scored
  on the test set, and when it first reached 0.95, 0.98 and 0.99, in GPT seconds and in pipeline
  seconds (tokenizer + data + GPT);
- inference: test pictures read per second, pictures drawn (and decoded) per second with and without
  the KV cache;
- image inputs: each other image input's run of the dataset where it exists (input_runs), its
  training step (encoder included) and its reading and drawing speed;
- stages: wall time and peak RSS of each stage, from its run record, against a budget of 4 GB each.
"""
import json
import os
import platform
import time

import numpy as np
import torch

from common.configurator import configure
from common.files import write_json
from common.runtime import pick_device, resources
from data.pictures import load_split
from nanogpt.batches import Batches, forward_backward
from nanogpt.model import GPT, GPTConfig
from nanogpt.vision import ImageEncoder
from nanogpt.vlm import VLM

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_letters'
vqvae_dir = 'out/vqvae_mnist'
judge_dir = 'out/judge_mnist'
blog_config = 'config/train_mnist_blog.py'
steps = 20  # timed training steps of each loop (the blog's model, 10x slower, gets a quarter)
n_generate = 1000
input_runs = ''  # other runs of the same data, one per image input (`make bench` names them): timed where they exist
out = ''  # '' writes out_dir/bench.json
device = 'auto'
# -----------------------------------------------------------------------------
THRESHOLDS = (0.95, 0.98, 0.99)
MEMORY_BUDGET_MB = 4096  # no stage may need more on a laptop CPU


def read_json(path, fix):
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found; {fix}")
    with open(path) as f:
        return json.load(f)


def stage_resources(path):
    """A stage's wall time and peak RSS from its run record; None where it left none (e.g. a judge made elsewhere)."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f).get('resources')


def blog_settings(run_config):
    """The run's settings with the blog's config file applied over them: the blog's model on the same loop."""
    g = dict(run_config)
    configure(g, [blog_config])
    return g


def fresh_model(cfg, vlm, dev):
    """A new VLM of the run's shape (its encoder included), as train builds one."""
    meta, vectors = vlm.vocab, cfg.get('image_vectors', 0)
    gpt = GPT(GPTConfig(n_layer=cfg['n_layer'], n_head=cfg['n_head'], n_embd=cfg['n_embd'], bias=cfg['bias'],
                        dropout=cfg['dropout'], block_size=meta['seq_len'] - 1, vocab_size=meta['vocab_size']))
    encoder = ImageEncoder.for_run(cfg.get('image_input', 'letters'), cfg['n_embd'], meta['tokens_per_image'],
                                   vlm.tokenizer, cfg.get('encoder_width', 64), vectors, cfg.get('encoder_depth', 0),
                                   cfg.get('encoder_views', 1), cfg.get('encoder_grid', 0))
    if encoder is not None and cfg.get('encoder_iters'):
        encoder.requires_grad_(False)  # pretrained alone first, it reads frozen during the GPT's steps timed here
    # in training mode as train's steps run it, where a frozen encoder reads as in evaluation (VLM.train)
    return VLM(gpt, vlm.tokenizer, meta, encoder).to(dev).train()


def time_training(cfg, vlm, dev, n_steps, plain):
    """Seconds per step, tokens per step and informative tokens per step of `n_steps` timed steps: train's own
    batch builder and micro-step (nanogpt/batches.py), or (plain) nanoGPT's loop over windows of the stream."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    meta = vlm.vocab
    seq_len, pad_id = meta['seq_len'], meta['stoi'][meta['pad_char']]
    data_dir = os.path.join('data', vlm.info['data'])
    model = fresh_model(dict(cfg, image_input='letters') if plain else cfg, vlm, dev)
    opt = model.configure_optimizers(cfg['weight_decay'], cfg['learning_rate'], (cfg['beta1'], cfg['beta2']),
                                     dev.split(':')[0])
    B, T = cfg['batch_size'], seq_len - 1
    if plain:
        # nanoGPT's loop: random windows of the memmapped stream, a Python loop over the rows, every target counts
        stream = np.memmap(os.path.join(data_dir, 'train.bin'), dtype=np.uint16, mode='r')

        def step():
            ix = torch.randint(len(stream) - T - 1, (B,), generator=gen)
            x = torch.stack([torch.from_numpy(stream[i:i + T].astype(np.int64)) for i in ix.tolist()])
            y = torch.stack([torch.from_numpy(stream[i + 1:i + 1 + T].astype(np.int64)) for i in ix.tolist()])
            starts = (ix[:, None] + 1 + torch.arange(T)) % seq_len == 0  # a target that begins another record
            _, loss = model(x.to(dev), y.to(dev))
            loss.backward()
            return int(((y != pad_id) & ~starts).sum())
    else:
        batches = Batches(data_dir, meta, batch_size=B, text_share=cfg.get('text_share', 0.0),
                          task_mix=cfg.get('task_mix', ''), image_input=cfg.get('image_input', 'letters'),
                          per_picture=cfg.get('image_vectors', 0) or meta['tokens_per_image'],
                          letters_share=cfg.get('letters_share', 0.0), pixel_shift=cfg.get('pixel_shift', 0),
                          pixel_flip=cfg.get('pixel_flip', False), device=dev, splits=('train',))

        def step():
            batch = batches.micro(batches.step(gen, 1, 1), 0, 0)
            forward_backward(model, batch, answer_weight=cfg['answer_weight'],
                             bucket_lengths=cfg.get('bucket_lengths', True))
            return int((batch[1] >= 0).sum())

    def update():
        useful = step()
        if cfg['grad_clip']:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg['grad_clip'])
        opt.step()
        opt.zero_grad(set_to_none=True)
        return useful

    for _ in range(2):
        update()
    t0, useful = time.perf_counter(), 0
    for _ in range(n_steps):
        useful += update()
    if dev.startswith('cuda'):
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / n_steps
    # nanoGPT's estimate of a token's training FLOPs (6N for the weights, 12 L d T for attention), counted on the
    # informative tokens only: the useful work a step does, whatever padding or windows it also runs
    flops_per_token = 6 * model.get_num_params() + 12 * cfg['n_layer'] * cfg['n_embd'] * T
    return dict(ms_per_step=round(dt * 1000, 1), tokens_per_s=round(B * T / dt), informative_tokens_per_s=round(
        useful / n_steps / dt), model=f"{cfg['n_layer']}x{cfg['n_embd']}", batch_size=B,
        flops_per_s=flops_per_token * useful / n_steps / dt)


def matmul_peak(dev, n=1024, reps=20):
    """This machine's measured float32 matmul rate (FLOP/s): the ceiling a training step's useful work is read
    against (a share of it is the loop's model FLOPs utilisation)."""
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    for _ in range(3):
        a @ b
    if dev.startswith('cuda'):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    if dev.startswith('cuda'):
        torch.cuda.synchronize()
    return 2 * n ** 3 * reps / (time.perf_counter() - t0)


def frontier(trail, before_gpt):
    """Test accuracy against wall time, one point per ckpt_<iter>.pt."""
    return [dict(iter=it, gpt_seconds=round(t, 1), pipeline_seconds=round(t + before_gpt, 1), test_accuracy=acc)
            for it, t, acc, *_ in trail]


def time_to_accuracy(trail, before_gpt):
    out = {}
    for th in THRESHOLDS:
        hit = next((row for row in trail if row[2] >= th), None)
        out[str(th)] = None if hit is None else dict(iter=hit[0], gpt_seconds=round(hit[1], 1),
                                                     pipeline_seconds=round(hit[1] + before_gpt, 1))
    return out


def time_inference(vlm):
    pictures, _ = load_split('test', vlm.vocab['dataset'])
    t0 = time.perf_counter()
    vlm.read(pictures)
    out = dict(read_images_per_s=round(len(pictures) / (time.perf_counter() - t0)))
    labels = np.repeat(np.arange(len(vlm.vocab['labels'])), n_generate // len(vlm.vocab['labels']))
    for cache in (True, False):
        t0 = time.perf_counter()
        vlm.draw(labels, temperature=1.0, guidance=0.0, seed=0, use_cache=cache)
        out[f"draw_images_per_s_{'with' if cache else 'without'}_kv_cache"] = round(
            len(labels) / (time.perf_counter() - t0))
    return out


def table(b):
    tp, rows = b['throughput'], []
    rows += [f"| train throughput | tokens/s | informative tokens/s | ms/step | vs plain loop | share of the matmul "
             f"peak ({b['matmul_peak_gflops']:.0f} GFLOP/s) |", "|---|---|---|---|---|---|"]
    for name in ('default', 'plain_nanogpt_loop', 'blog_model'):
        t = tp[name]
        rows.append(f"| {name} ({t['model']}, batch {t['batch_size']}) | {t['tokens_per_s']:,} | "
                    f"{t['informative_tokens_per_s']:,} | {t['ms_per_step']} | "
                    f"{t['informative_tokens_per_s'] / tp['plain_nanogpt_loop']['informative_tokens_per_s']:.2f}x | "
                    f"{t['peak_share']:.1%} |")
    rows += ["", "| iteration | GPT seconds | pipeline seconds | test accuracy |", "|---|---|---|---|"]
    rows += [f"| {p['iter']} | {p['gpt_seconds']} | {p['pipeline_seconds']} | {p['test_accuracy']:.4f} |"
             for p in b['frontier']]
    rows += ["", "| test accuracy reached | iteration | GPT seconds | pipeline seconds |", "|---|---|---|---|"]
    for th, hit in b['time_to_accuracy'].items():
        rows.append(f"| {th} | " + ("not reached | - | - |" if hit is None else
                                     f"{hit['iter']} | {hit['gpt_seconds']} | {hit['pipeline_seconds']} |"))
    inf = b['inference']
    rows += ["", "| inference | per second |", "|---|---|"] + [f"| {k.replace('_', ' ')} | {v:,} |" for k, v in inf.items()]
    if b['image_inputs']:
        rows += ["", "| image input (run) | ms/step | tokens/s | test images read per s | drawn per s (KV cache) |",
                 "|---|---|---|---|---|"]
        rows += [f"| {m['image_input']} ({run}) | {m['train']['ms_per_step']} | {m['train']['tokens_per_s']:,} | "
                 f"{m['inference']['read_images_per_s']:,} | "
                 f"{m['inference']['draw_images_per_s_with_kv_cache']:,} |" for run, m in b['image_inputs'].items()]
    rows += ["", f"| stage | wall seconds | peak RSS MB (budget {MEMORY_BUDGET_MB}) |", "|---|---|---|"]
    over = lambda v: ' OVER' if v['peak_rss_mb'] > MEMORY_BUDGET_MB else ''
    rows += [f"| {k} | {v['wall_seconds']} | {v['peak_rss_mb']}{over(v)} |" if v else f"| {k} | not recorded | - |"
             for k, v in b['stages'].items()]
    return '\n'.join(rows)


def main():
    config = configure(globals())
    dev = pick_device(device)
    vlm = VLM.from_pretrained(out_dir, device=dev)
    results = read_json(os.path.join(out_dir, 'eval', 'results.json'), "run `make eval` first")
    stages = {name: stage_resources(path) for name, path in (
        ('vqvae', os.path.join(vqvae_dir, 'run.json')), ('data', os.path.join('data', vlm.info['data'], 'run.json')),
        ('train', os.path.join(out_dir, 'run.json')), ('judge', os.path.join(judge_dir, 'run.json')))}
    stages['eval'] = results.get('resources')
    known = [s for s in stages.values() if s]
    stages['all stages'] = dict(wall_seconds=round(sum(s['wall_seconds'] for s in known), 1),
                                peak_rss_mb=max(s['peak_rss_mb'] for s in known)) if known else None
    others = [r for r in input_runs.split(',') if r and r != out_dir and os.path.exists(os.path.join(r, 'run.json'))]
    stages.update({f'train {r}': stage_resources(os.path.join(r, 'run.json')) for r in others})

    run_cfg = vlm.info['train_config']
    print(f"timing {steps} training steps of each loop on {dev}")
    throughput = dict(default=time_training(run_cfg, vlm, dev, steps, plain=False),
                      plain_nanogpt_loop=time_training(run_cfg, vlm, dev, steps, plain=True),
                      blog_model=time_training(blog_settings(run_cfg), vlm, dev, max(1, steps // 4), plain=False))
    image_inputs = {}
    for r in others:  # each image input's step and inference speed, measured here alike
        other = VLM.from_pretrained(r, device=dev)
        image_inputs[r] = dict(image_input=other.image_input, inference=time_inference(other),
                               train=time_training(other.info['train_config'], other, dev, steps, plain=False))
    peak = matmul_peak(dev)
    for t in throughput.values():
        t['peak_share'] = t['flops_per_s'] / peak
    before_gpt = sum(stages[k]['wall_seconds'] for k in ('vqvae', 'data') if stages[k])
    reading = results['classification']
    bench = dict(machine=results['machine'], torch=torch.__version__, python=platform.python_version(),
                 checkpoint=os.path.join(out_dir, 'ckpt.pt'), throughput=throughput, matmul_peak_gflops=peak / 1e9,
                 frontier=frontier(reading['trail'], before_gpt),
                 time_to_accuracy=time_to_accuracy(reading['trail'], before_gpt),
                 test_accuracy=reading['accuracy'], inference=time_inference(vlm), image_inputs=image_inputs,
                 stages=stages, config=config)
    bench['stages']['bench'] = resources()
    path = out or os.path.join(out_dir, 'bench.json')
    write_json(path, bench)
    print(f"machine: {bench['machine']}, torch {bench['torch']}\n")
    print(table(bench))
    print(f"\nwrote {path}")


if __name__ == '__main__':
    main()
