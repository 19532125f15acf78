"""`make bench`: how fast the pipeline is on this machine. Prints a table and writes bench.json.

    python -m eval.bench [--out_dir=out/mnist_vlm]

Run it after `make all`, with nothing else busy: it times training steps itself.
- train throughput: tokens/s and informative tokens/s (targets that are neither
  padding nor the first letter of an unrelated record) of the trained run's
  config with our loop, of the same model in a plain nanoGPT loop (random
  windows of the flat token stream, no masking), and of the blog's model;
- the frontier, test accuracy against wall time, from the ckpt_<iter>.pt trail
  that `make eval` scored on the test set, and when it first reached 0.95,
  0.98 and 0.99, in GPT seconds and in pipeline seconds (VQ-VAE + data + GPT);
- inference: test digits classified per second, images generated (and
  decoded) per second with and without the KV cache;
- text mixed in (after `make mix`): tokens/s of the mixed run's config (records + Shakespeare
  windows) and of the same loop on records only;
- image inputs (after `make heads`, or `make train IMAGE_INPUT=...`): each other image input's run of
  the dataset, its training step (encoder included) and its reading and drawing speed;
- stages: wall time and peak RSS of each stage, from its run record (the `make mix` and image-input
  trainings too), against a budget of 4 GB each.
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
from data.mnist_vlm.tasks import TEXT
from nanogpt.dataloader import (add_text_rows, answer_mask, load_layout, load_records, load_text_ids, make_targets,
                                step_indices, weighted_loss)
from nanogpt.model import GPT, GPTConfig
from nanogpt.vision import no_pictures_below, pictures_shown, pixel_draws, see_pixels, with_encoder
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
out_dir = RUN_DIR
vqvae_dir = 'out/vqvae'
judge_dir = 'out/judge'
blog_config = 'config/train_mnist_vlm_blog.py'
steps = 20  # timed training steps of each loop (the blog's model, 10x slower, gets a quarter)
n_generate = 1000
mix_runs = 'out/mix_vision,out/mix_both,out/mix_text,out/mix_both50,out/mix_text128'  # `make mix`'s runs: timed and listed where they exist
input_runs = ''  # other runs of the same data, one per image input (`make bench` names the dataset's): timed where they exist
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


def time_training(cfg, vlm, dev, n_steps, plain):
    """Seconds per step, tokens per step and informative tokens per step of `n_steps` timed steps."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    meta = vlm.meta
    seq_len, pad_id = meta['seq_len'], meta['stoi'][meta['pad_char']]
    gpt = GPT(GPTConfig(n_layer=cfg['n_layer'], n_head=cfg['n_head'], n_embd=cfg['n_embd'], bias=cfg['bias'],
                        dropout=cfg['dropout'], block_size=seq_len - 1, vocab_size=meta['vocab_size']))
    image_input = 'letters' if plain else cfg.get('image_input', 'letters')  # the run's way of seeing pictures
    model = with_encoder(gpt, image_input, meta, width=cfg.get('encoder_width', 64), vq=vlm.vq,
                         vectors=cfg.get('image_vectors', 0)).to(dev)
    opt = model.configure_optimizers(cfg['weight_decay'], cfg['learning_rate'], (cfg['beta1'], cfg['beta2']),
                                     dev.split(':')[0])
    B, T = cfg['batch_size'], seq_len - 1
    if plain:
        # nanoGPT's loop: random windows of the memmapped stream, a Python loop over the rows, every target counts
        stream = np.memmap(os.path.join(vlm.data_dir, 'train.bin'), dtype=np.uint16, mode='r')

        def batch():
            ix = torch.randint(len(stream) - T - 1, (B,), generator=gen)
            x = torch.stack([torch.from_numpy(stream[i:i + T].astype(np.int64)) for i in ix.tolist()])
            y = torch.stack([torch.from_numpy(stream[i + 1:i + 1 + T].astype(np.int64)) for i in ix.tolist()])
            starts = (ix[:, None] + 1 + torch.arange(T)) % seq_len == 0  # a target that begins another record
            return x.to(dev), y.to(dev), None, int(((y != pad_id) & ~starts).sum()), {}
    else:
        records = load_records(vlm.data_dir, 'train', seq_len)
        layout = load_layout(vlm.data_dir, 'train', len(records))
        targets = make_targets(records, pad_id)
        answer = answer_mask(layout, seq_len, [t.weighted for t in vlm.tasks])
        if image_input != 'letters':
            images = np.load(os.path.join(vlm.data_dir, 'train_images.npy'), mmap_mode='r')
            rows = pictures_shown(records, meta)
        n_text = round(B * cfg.get('text_share', 0.0))  # as nanogpt/train.py mixes text in
        text = load_text_ids(vlm.data_dir, 'train') if n_text else None

        def batch():
            ix = step_indices(len(records), B - n_text, 1, 1, gen)[0, 0]
            x, y, w = records[ix, :-1], targets[ix], answer[ix]
            seen = {}
            if image_input != 'letters':
                keep, shifts, flips = pixel_draws(ix.shape, gen, cfg['letters_share'], cfg['pixel_shift'],
                                                  cfg.get('pixel_flip', False))
                y, seen = see_pixels(y, torch.from_numpy(images[ix.numpy()]), rows[ix], meta, keep=keep,
                                     shifts=shifts, flips=flips)
                seen = {k: v.to(dev) for k, v in seen.items()}
            if n_text:
                starts = torch.randint(len(text) - seq_len, (n_text,), generator=gen)
                x, y, w = add_text_rows(x, y, w, TEXT.windows(text, starts, seq_len))
                seen = no_pictures_below(seen, n_text) if seen else seen
            return x.to(dev), y.to(dev), w.to(dev), int((y >= 0).sum()), seen

    def step():
        x, y, w, useful, seen = batch()
        logits, loss = model(x, y, **seen)
        if not plain and cfg['answer_weight'] != 1.0:
            loss = weighted_loss(logits, y, w, cfg['answer_weight'])
        loss.backward()
        if cfg['grad_clip']:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg['grad_clip'])
        opt.step()
        opt.zero_grad(set_to_none=True)
        return useful

    for _ in range(2):
        step()
    t0, useful = time.perf_counter(), 0
    for _ in range(n_steps):
        useful += step()
    if dev.startswith('cuda'):
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / n_steps
    return dict(ms_per_step=round(dt * 1000, 1), tokens_per_s=round(B * T / dt), informative_tokens_per_s=round(
        useful / n_steps / dt), model=f"{cfg['n_layer']}x{cfg['n_embd']}", batch_size=B)


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
    seen, _ = vlm.inputs('test')
    t0 = time.perf_counter()
    vlm.read(seen)
    out = dict(classify_images_per_s=round(len(seen) / (time.perf_counter() - t0)))
    labels = np.repeat(np.arange(10), n_generate // 10)
    for cache in (True, False):
        t0 = time.perf_counter()
        vlm.draw(labels, temperature=1.0, guidance=0.0, seed=0, use_cache=cache)
        out[f"generate_images_per_s_{'with' if cache else 'without'}_kv_cache"] = round(
            len(labels) / (time.perf_counter() - t0))
    return out


def table(b):
    tp, rows = b['throughput'], []
    rows += ["| train throughput | tokens/s | informative tokens/s | ms/step | vs plain loop |", "|---|---|---|---|---|"]
    for name in ('default', 'plain_nanogpt_loop', 'blog_model'):
        t = tp[name]
        rows.append(f"| {name} ({t['model']}, batch {t['batch_size']}) | {t['tokens_per_s']:,} | "
                    f"{t['informative_tokens_per_s']:,} | {t['ms_per_step']} | "
                    f"{t['informative_tokens_per_s'] / tp['plain_nanogpt_loop']['informative_tokens_per_s']:.2f}x |")
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
                 f"{m['inference']['classify_images_per_s']:,} | "
                 f"{m['inference']['generate_images_per_s_with_kv_cache']:,} |" for run, m in b['image_inputs'].items()]
    if b['text_mix']:
        rows += ["", "| text mixed in | tokens/s | ms/step | batch |", "|---|---|---|---|"]
        rows += [f"| {k.replace('_', ' ')} | {t['tokens_per_s']:,} | {t['ms_per_step']} | {t['batch_size']} |"
                 for k, t in b['text_mix'].items()]
    rows += ["", f"| stage | wall seconds | peak RSS MB (budget {MEMORY_BUDGET_MB}) |", "|---|---|---|"]
    over = lambda v: ' OVER' if v['peak_rss_mb'] > MEMORY_BUDGET_MB else ''
    rows += [f"| {k} | {v['wall_seconds']} | {v['peak_rss_mb']}{over(v)} |" if v else f"| {k} | not recorded | - |"
             for k, v in b['stages'].items()]
    return '\n'.join(rows)


def main():
    config = configure(globals())
    dev = pick_device(device)
    vlm = VLM.load(out_dir, device=dev)
    results = read_json(os.path.join(out_dir, 'eval', 'results.json'), "run `make eval` first")
    stages = {name: stage_resources(path) for name, path in (
        ('vqvae', os.path.join(vqvae_dir, 'run.json')), ('data', os.path.join(vlm.data_dir, 'run.json')),
        ('train', os.path.join(out_dir, 'run.json')), ('judge', os.path.join(judge_dir, 'run.json')))}
    stages['eval'] = results.get('resources')
    known = [s for s in stages.values() if s]
    stages['all stages'] = dict(wall_seconds=round(sum(s['wall_seconds'] for s in known), 1),
                                peak_rss_mb=max(s['peak_rss_mb'] for s in known)) if known else None
    others = [r for r in input_runs.split(',') if r and r != out_dir and os.path.exists(os.path.join(r, 'run.json'))]
    stages.update({f'train {r}': stage_resources(os.path.join(r, 'run.json')) for r in others})
    mixes = {r: VLM.load(r, device=dev, vqvae=False) for r in mix_runs.split(',')
             if r and os.path.exists(os.path.join(r, 'run.json'))}
    if mixes:  # `make mix`'s stages, listed after the main pipeline's total
        stages['mix data'] = stage_resources(os.path.join(next(iter(mixes.values())).data_dir, 'run.json'))
        stages.update({f'train {r}': stage_resources(os.path.join(r, 'run.json')) for r in mixes})

    run_cfg = vlm.ckpt['config']
    print(f"timing {steps} training steps of each loop on {dev}")
    throughput = dict(default=time_training(run_cfg, vlm, dev, steps, plain=False),
                      plain_nanogpt_loop=time_training(run_cfg, vlm, dev, steps, plain=True),
                      blog_model=time_training(blog_settings(run_cfg), vlm, dev, max(1, steps // 4), plain=False))
    text_mix = {}
    mix = next((m for m in mixes.values() if 0 < m.ckpt['config'].get('text_share', 0) < 1), None)
    if mix:
        cfg = mix.ckpt['config']
        text_mix = dict(records_and_text=time_training(cfg, mix, dev, steps, plain=False),
                        records_only=time_training(dict(cfg, text_share=0.0), mix, dev, steps, plain=False))
    image_inputs = {}
    for r in others:  # each image input's step and inference speed, measured here alike
        other = VLM.load(r, device=dev)
        image_inputs[r] = dict(image_input=other.image_input, inference=time_inference(other),
                               train=time_training(other.ckpt['config'], other, dev, steps, plain=False))
    before_gpt = sum(stages[k]['wall_seconds'] for k in ('vqvae', 'data') if stages[k])
    reading = results['classification']
    bench = dict(machine=results['machine'], torch=torch.__version__, python=platform.python_version(),
                 checkpoint=os.path.join(out_dir, 'ckpt.pt'), throughput=throughput,
                 frontier=frontier(reading['trail'], before_gpt),
                 time_to_accuracy=time_to_accuracy(reading['trail'], before_gpt),
                 test_accuracy=reading['accuracy'], inference=time_inference(vlm), text_mix=text_mix, image_inputs=image_inputs,
                 stages=stages,
                 config=config)
    bench['stages']['bench'] = resources()
    path = out or os.path.join(out_dir, 'bench.json')
    write_json(path, bench)
    print(f"machine: {bench['machine']}, torch {bench['torch']}\n")
    print(table(bench))
    print(f"\nwrote {path}")


if __name__ == '__main__':
    main()
