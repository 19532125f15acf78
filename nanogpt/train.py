"""Train the GPT on the MNIST text sequences, nanoGPT style.

    python -m nanogpt.train config/train_mnist_vlm.py [--key=value ...]
    torchrun --standalone --nproc_per_node=4 -m nanogpt.train config/train_mnist_vlm.py

Patched for this data: every batch row is one whole sequence (no target
crosses into the next record), padding targets are ignored by the loss, the
answer digit can weigh more than the image letters (answer_weight), a
small weights-only snapshot ckpt_<iter>.pt is written at every evaluation,
and ckpt.pt keeps the best model by validation classification accuracy.
last.pt holds the full training state (optimizer, RNG) of the latest
evaluation or interruption: SIGINT/SIGTERM save it and exit, and
--init_from=resume continues from it exactly. run.json, written when a run
finishes, records its config, git commit, package versions and data checksums.
"""
import glob
import math
import os
import re
import time
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from torch.distributed import destroy_process_group, init_process_group
from torch.nn.parallel import DistributedDataParallel as DDP

from data.mnist_vlm.format import CLS_PREFIX, digit_ids, image_ids, load_meta
from eval.tasks import classify
from nanogpt.common import StopSignal, atomic_save, load_checkpoint, pick_device, run_record
from nanogpt.configurator import configure
from nanogpt.model import GPT, GPTConfig

# -----------------------------------------------------------------------------
# I/O
out_dir = 'out/mnist_vlm'
eval_interval = 250
log_interval = 50
eval_iters = 20
eval_only = False
always_save_checkpoint = False  # True: ckpt.pt is the latest model, not the best by val accuracy
init_from = 'scratch'  # 'scratch', 'resume', or 'auto' (resume an unfinished run in out_dir, else scratch)
force = False  # True: start from scratch in an out_dir that holds a run of a different config
keep_last = 0  # keep only the newest ckpt_<iter>.pt snapshots; 0 keeps all
# wandb logging
wandb_log = False
wandb_project = 'mnist-vlm'
wandb_run_name = 'mnist-vlm'
# data
data_dir = 'data/mnist_vlm'
gradient_accumulation_steps = 1
batch_size = 128
val_images = 10000  # validation images classified at each evaluation (all of them by default)
cls_image_loss = True  # False: no loss on the image letters of the classification form
answer_weight = 1.0  # loss weight of digit targets (the answer of 'image:..., number:d.') against other letters
# model
n_layer = 4
n_head = 4
n_embd = 128
dropout = 0.0
bias = True
# AdamW optimizer
learning_rate = 2e-3
max_iters = 2000
weight_decay = 0.1
beta1 = 0.9
beta2 = 0.99
grad_clip = 1.0
# learning rate schedule: linear warmup, then cosine decay to min_lr
decay_lr = True
warmup_iters = 100
lr_decay_iters = 2000
min_lr = 2e-4
# system
backend = 'auto'  # DDP backend: 'auto' is nccl on GPU, gloo on CPU
device = 'auto'   # 'auto', 'cpu', 'cuda', 'cuda:1', 'mps'
dtype = 'auto'    # 'auto': bfloat16 on GPUs that have it, else float32; or 'float32', 'bfloat16', 'float16'
compile = False
threads = 0       # torch CPU threads; 0 keeps torch's default
seed = 1337
# -----------------------------------------------------------------------------


# keys that say how a run is carried out, not what it trains: changing them keeps it the same run
RUN_CONTROL = {'out_dir', 'init_from', 'force', 'eval_only', 'max_iters', 'lr_decay_iters', 'keep_last', 'log_interval',
               'eval_interval', 'eval_iters', 'val_images', 'always_save_checkpoint', 'wandb_log', 'wandb_project',
               'wandb_run_name', 'device', 'compile', 'threads', 'backend'}


def get_lr(it):
    if not decay_lr:
        return learning_rate
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)


def load_records(data_dir, split, seq_len):
    path = os.path.join(data_dir, f'{split}.bin')
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found; prepare the data first with `make data`")
    data = np.fromfile(path, dtype=np.uint16)
    if len(data) == 0 or len(data) % seq_len:
        raise SystemExit(f"error: {path} holds {len(data)} tokens, not a whole number of {seq_len}-token "
                         "sequences; rebuild it with `make data`")
    return torch.from_numpy(data.astype(np.int64).reshape(-1, seq_len))


def make_targets(records, pad_id, ignore=None):
    """Next-token targets of whole records, -1 where the loss should not look.

    Padding is never a target; `ignore` (a bool mask shaped like the targets)
    drops more, e.g. the image letters of the classification form.
    """
    y = records[:, 1:].clone()
    y[y == pad_id] = -1
    if ignore is not None:
        y[ignore] = -1
    return y


def weighted_loss(logits, targets, digits, weight):
    """Cross-entropy where digit targets count `weight` times as much as the other letters."""
    ce = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1, reduction='none')
    w = torch.where(torch.isin(targets.view(-1), digits), weight, 1.0) * (targets.view(-1) >= 0)
    return (ce * w).sum() / w.sum()


def get_batch(records, targets, batch_size, generator):
    """A batch of whole sequences: row i is one record, inputs its first L-1 ids, targets its last L-1.

    Rows never straddle two records, so no target is the first character of an
    unrelated sequence.
    """
    ix = torch.randint(len(records), (batch_size,), generator=generator)
    return records[ix, :-1], targets[ix]


def check_out_dir(config):
    """Refuse to start from scratch over a run of a different config, unless --force."""
    for name in ('last.pt', 'ckpt.pt'):
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            old = load_checkpoint(path, 'checkpoint', 'remove it or choose another --out_dir').get('config') or {}
            diff = sorted(k for k in config if k not in RUN_CONTROL and k in old and old[k] != config[k])
            if diff and not force:
                k = diff[0]
                raise SystemExit(f"error: {out_dir} holds a run of a different config ({k}={old[k]!r}, now "
                                 f"{config[k]!r}); pass --force=True to overwrite it, or choose another --out_dir")
            return


def prune_snapshots():
    found = sorted((int(m.group(1)), p) for p in glob.glob(os.path.join(out_dir, 'ckpt_*.pt'))
                   if (m := re.search(r'ckpt_(\d+)\.pt$', p)))
    for _, path in found[:-keep_last] if keep_last else []:
        os.remove(path)


def main():
    config = configure(globals())
    ddp = int(os.environ.get('RANK', -1)) != -1
    dev = pick_device(device)
    if ddp:
        init_process_group(backend=backend if backend != 'auto' else ('nccl' if dev.startswith('cuda') else 'gloo'))
        rank, local_rank, world = int(os.environ['RANK']), int(os.environ['LOCAL_RANK']), int(os.environ['WORLD_SIZE'])
        if dev.startswith('cuda'):
            dev = f'cuda:{local_rank}'
            torch.cuda.set_device(dev)
        if gradient_accumulation_steps % world:
            raise SystemExit(f"error: gradient_accumulation_steps={gradient_accumulation_steps} must be a multiple "
                             f"of the {world} processes; set it to {world}")
        accum = gradient_accumulation_steps // world
    else:
        rank, world, accum = 0, 1, gradient_accumulation_steps
    master = rank == 0
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed + rank)
    device_type = 'cuda' if dev.startswith('cuda') else dev.split(':')[0]
    if device_type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    # bf16 autocast is slow on CPUs without native bf16 (3-30x here), so 'auto' keeps float32 off the GPU
    dt = dtype if dtype != 'auto' else ('bfloat16' if device_type == 'cuda' and torch.cuda.is_bf16_supported()
                                        else 'float32')
    ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}[dt]
    ctx = nullcontext() if dt == 'float32' else torch.autocast(device_type=device_type, dtype=ptdtype)

    meta = load_meta(data_dir)
    seq_len, pad_id = meta['seq_len'], meta['stoi'][meta['pad_char']]
    train_data, val_data = load_records(data_dir, 'train', seq_len), load_records(data_dir, 'val', seq_len)
    val = np.load(os.path.join(data_dir, 'val.npz'))
    val_codes, val_labels = val['codes'][:val_images], val['labels'][:val_images]
    ignore = None
    if not cls_image_loss:
        # in 'image:<letters>, number:d.' the letters are unconditional image modelling, not reading
        cls_form = train_data[:, 0] == meta['stoi'][CLS_PREFIX[0]]
        ignore = cls_form[:, None] & torch.isin(train_data[:, 1:], torch.tensor(image_ids(meta)))
    targets = {'train': make_targets(train_data, pad_id, ignore), 'val': make_targets(val_data, pad_id)}
    records = {'train': train_data, 'val': val_data}
    digits = torch.tensor(digit_ids(meta), device=dev)
    gen = torch.Generator().manual_seed(seed + rank)

    def batch(split, generator=gen):
        x, y = get_batch(records[split], targets[split], batch_size, generator)
        if device_type == 'cuda':
            return x.pin_memory().to(dev, non_blocking=True), y.pin_memory().to(dev, non_blocking=True)
        return x.to(dev), y.to(dev)

    model_args = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=seq_len - 1,
                      bias=bias, vocab_size=meta['vocab_size'], dropout=dropout)
    iter_num, best_val_acc, best_val_loss, elapsed0 = 0, -1.0, 1e9, 0.0
    ckpt_path, last_path = os.path.join(out_dir, 'ckpt.pt'), os.path.join(out_dir, 'last.pt')
    start = init_from
    if start == 'auto':
        unfinished = os.path.exists(last_path) and not os.path.exists(os.path.join(out_dir, 'run.json'))
        start = 'resume' if unfinished else 'scratch'
    if start == 'resume':
        path = last_path if os.path.exists(last_path) else ckpt_path
        ckpt = load_checkpoint(path, 'checkpoint', "train from scratch with --init_from=scratch", dev)
        if ckpt['model_args']['vocab_size'] != meta['vocab_size']:
            raise SystemExit(f"error: {path} has a vocabulary of {ckpt['model_args']['vocab_size']} but "
                             f"{data_dir}/meta.json has {meta['vocab_size']}; use the data it was trained on "
                             "or train from scratch")
        for k in ('n_layer', 'n_head', 'n_embd', 'block_size', 'bias', 'vocab_size'):
            model_args[k] = ckpt['model_args'][k]  # the architecture is the checkpoint's
        model = GPT(GPTConfig(**model_args))
        model.load_state_dict(ckpt['model'])
        iter_num, best_val_loss = ckpt['iter_num'], ckpt['best_val_loss']
        best_val_acc, elapsed0 = ckpt.get('best_val_acc', -1.0), ckpt.get('elapsed', 0.0)
        if 'rng' in ckpt and not ddp:
            # the batch stream and dropout go on exactly where they stopped
            gen.set_state(ckpt['rng']['batches'])
            torch.set_rng_state(ckpt['rng']['torch'])
        if master:
            print(f"resuming {path} at iteration {iter_num}")
    elif start == 'scratch':
        if master:
            check_out_dir(config)
        model = GPT(GPTConfig(**model_args))
    else:
        raise SystemExit(f"error: init_from={init_from!r} is not supported; use 'scratch', 'resume' or 'auto'")
    model.to(dev)
    scaler = torch.amp.GradScaler(enabled=(dt == 'float16'))
    optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
    if start == 'resume':
        optimizer.load_state_dict(ckpt['optimizer'])
        del ckpt
    raw_model = model
    if compile:
        model = torch.compile(model)
    if ddp:
        model = DDP(model, device_ids=[local_rank] if device_type == 'cuda' else None)
    if master:
        os.makedirs(out_dir, exist_ok=True)
        if os.path.exists(os.path.join(out_dir, 'run.json')):
            os.remove(os.path.join(out_dir, 'run.json'))  # this run is not finished until it writes a new one
        print(f"GPT: {raw_model.get_num_params() / 1e6:.2f}M parameters, {len(train_data):,} train sequences "
              f"of {seq_len}, {batch_size * accum * world} sequences per step on {world} x {dev} ({dt})")
    if wandb_log and master:
        import wandb
        # no login must not stop a run: log offline and sync later with `wandb sync`
        mode = 'online' if os.environ.get('WANDB_API_KEY') or wandb.login(prompt=False) else 'offline'
        wandb.init(project=wandb_project, name=wandb_run_name, config=config, mode=mode)

    @torch.no_grad()
    def evaluate():
        raw_model.eval()
        out = {}
        eval_gen = torch.Generator().manual_seed(seed)  # the same batches every time, and the train stream untouched
        for split in ('train', 'val'):
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                x, y = batch(split, eval_gen)
                with ctx:
                    _, loss = raw_model(x, y)
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        with ctx:
            pred = classify(raw_model, val_codes, meta, dev)
        out['val_acc'] = float((pred == val_labels).mean())
        raw_model.train()
        return out

    def training_state(elapsed):
        return dict(model=raw_model.state_dict(), optimizer=optimizer.state_dict(), model_args=model_args,
                    iter_num=iter_num, best_val_loss=best_val_loss, best_val_acc=best_val_acc, elapsed=elapsed,
                    config=config, rng=dict(batches=gen.get_state(), torch=torch.get_rng_state()))

    stop = StopSignal()
    t0 = time.time()
    t_start = t0 - elapsed0
    while True:
        lr = get_lr(iter_num)
        for g in optimizer.param_groups:
            g['lr'] = lr
        if (iter_num % eval_interval == 0 or iter_num == max_iters) and master:
            m = evaluate()
            elapsed = time.time() - t_start
            print(f"step {iter_num}: train loss {m['train']:.4f}, val loss {m['val']:.4f}, "
                  f"val acc {m['val_acc']:.4f}, {elapsed:.0f}s")
            if wandb_log:
                wandb.log({'iter': iter_num, 'train/loss': m['train'], 'val/loss': m['val'],
                           'val/acc': m['val_acc'], 'lr': lr, 'elapsed': elapsed})
            atomic_save(dict(model=raw_model.state_dict(), model_args=model_args, iter_num=iter_num,
                             val_acc=m['val_acc'], val_loss=m['val'], elapsed=elapsed, config=config),
                        os.path.join(out_dir, f'ckpt_{iter_num}.pt'))
            prune_snapshots()
            # the untrained model at step 0 is never "best": ckpt.pt always holds a trained one
            better = iter_num > 0 and (m['val_acc'], -m['val']) > (best_val_acc, -best_val_loss)
            if better:
                best_val_acc, best_val_loss = m['val_acc'], m['val']
            state = training_state(elapsed)
            if better or (always_save_checkpoint and iter_num > 0):
                atomic_save(state, ckpt_path)
                print(f"saved {ckpt_path} (val acc {best_val_acc:.4f})")
            atomic_save(state, last_path)
        if iter_num >= max_iters or (iter_num == 0 and eval_only):
            break
        for micro in range(accum):
            if ddp:
                # only the last micro-step needs to all-reduce the gradients
                model.require_backward_grad_sync = micro == accum - 1
            x, y = batch('train')
            with ctx:
                if answer_weight == 1.0:
                    _, loss = model(x, y)
                else:  # the model's own loss would be computed and thrown away
                    logits, _ = model(x, all_logits=True)
                    loss = weighted_loss(logits.float(), y, digits, answer_weight)
                loss = loss / accum
            scaler.scale(loss).backward()
        if grad_clip:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        t1 = time.time()
        if iter_num % log_interval == 0 and master:
            print(f"iter {iter_num}: loss {loss.item() * accum:.6f}, {(t1 - t0) * 1000 / log_interval:.0f}ms/iter")
            t0 = t1
        iter_num += 1
        if stop.requested(ddp):
            if master:
                atomic_save(training_state(time.time() - t_start), last_path)
                print(f"stopped by {stop.name} at iteration {iter_num}: saved {last_path}; "
                      "continue with --init_from=resume (or make train)")
            break
    if ddp:
        destroy_process_group()
    if stop.name:
        raise SystemExit(stop.exit_code)
    if master:
        files = [os.path.join(data_dir, f) for f in ('train.bin', 'val.bin', 'meta.json')]
        run_record(os.path.join(out_dir, 'run.json'), config, files,
                   dict(iter_num=iter_num, best_val_acc=best_val_acc, best_val_loss=best_val_loss,
                        elapsed=time.time() - t_start))


if __name__ == '__main__':
    main()
