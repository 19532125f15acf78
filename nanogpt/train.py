"""Train the GPT on the prepared text records, nanoGPT style.

    python -m nanogpt.train config/train_mnist_vlm.py [--key=value ...]
    python -m nanogpt.train config/train_mnist_vlm.py --device=cpu --max_iters=200 --eval_interval=100
    python -m nanogpt.train config/train_mnist_vlm.py config/image_cnn.py --out_dir=out/mnist_vlm_cnn   # reads pixels
    torchrun --standalone --nproc_per_node=4 -m nanogpt.train config/train_mnist_vlm.py --gradient_accumulation_steps=4
    torchrun --standalone --nproc_per_node=2 -m nanogpt.train config/train_mnist_vlm.py --device=cpu \
        --gradient_accumulation_steps=2    # DDP on CPUs (gloo)

The sections are nanoGPT's. The patches, each marked "patch:", are: batches of whole records
(nanogpt/dataloader.py), their rows shared between the tasks (task_mix), with a share of text
windows mixed in (text_share), short and long records run apart (bucket_lengths), pictures read as
pixels through an image encoder beside the GPT (image_input, nanogpt/vision.py), written answers
weighted in the loss (answer_weight), ckpt.pt chosen by validation reading accuracy
over all validation images (by held-out text loss for text only), a weights-only
ckpt_<iter>.pt at every evaluation, last.pt with the full training state (optimizer, RNG,
GradScaler) for an exact resume after SIGINT/SIGTERM, and run.json when a run finishes.
"""
import math
import os
import time
from contextlib import nullcontext

if not __package__:
    raise SystemExit("error: run it as a module from the project root: python -m nanogpt.train config/train_mnist_vlm.py")

import numpy as np
import torch
from torch.distributed import destroy_process_group, init_process_group
from torch.nn.parallel import DistributedDataParallel as DDP

from common.configurator import configure
from common.files import atomic_save, file_sha256, load_checkpoint
from common.runtime import StopSignal, pick_device, run_record
from data.mnist_vlm.format import load_meta
from data.mnist_vlm.tasks import READ, TEXT, get_tasks
from nanogpt.dataloader import (add_text_rows, answer_mask, length_groups, load_layout, load_records, load_text_ids,
                                loss_weights, make_targets, parse_mix, step_indices, weighted_loss)
from nanogpt.model import GPT, GPTConfig
from nanogpt.vision import (attach_encoder, check_image_input, no_pictures_below, pictures_shown, pixel_draws,
                            see_pixels, weights, with_encoder)
from nanogpt.vlm import check_data, data_dir_of, load_checked_vqvae, snapshots

# -----------------------------------------------------------------------------
# default config values, sized for a tiny run; config/train_mnist_vlm.py is the default of `make train`
# I/O
out_dir = 'out/mnist_vlm'
eval_interval = 250
log_interval = 50
eval_iters = 20  # batches of each split averaged for the train/val loss
eval_only = False  # if True, evaluate the step-0 model and exit
always_save_checkpoint = False  # True: ckpt.pt is the latest model, not the best by validation
init_from = 'scratch'  # 'scratch', 'resume' (from last.pt), or 'auto' (resume an unfinished run, else scratch)
force = False  # True: start from scratch where a run lives, replacing it (its snapshots included)
keep_last = 0  # keep only the newest ckpt_<iter>.pt snapshots; 0 keeps all
# wandb logging
wandb_log = False
wandb_project = 'mnist-vlm'
wandb_run_name = 'mnist-vlm'
# data
dataset = 'mnist_vlm'  # data/<dataset>/ holds the prepared records (nanoGPT's convention; an absolute path works too)
gradient_accumulation_steps = 1
batch_size = 128  # records per micro-step; a record is one whole example (block_size = its length - 1)
val_images = 10000  # validation images read at each evaluation (all of them by default)
answer_weight = 1.0  # loss weight of a written answer (reading's digit, a caption, a question's answer); others weigh 1
bucket_lengths = True  # run a batch's short records apart from its long ones, each cut to its length (same loss)
task_mix = ''  # each task's share of the records' rows, 'read:0.3,caption:0.7' (adding up to 1); '': all records alike
text_share = 0.0  # share of each batch's rows that are windows of the data's text (Shakespeare); 1.0: text only
# patch: how the GPT sees a reading record's picture (nanogpt/vision.py); drawing always writes letters
image_input = 'letters'  # 'letters' (the VQ-VAE's, as text), or pixels through 'patches', 'cnn' or 'frozen'
letters_share = 0.25  # pixel inputs: share of reading records still read as letters: they teach the 'image:' stream
pixel_shift = 0  # pixel inputs: move each picture read by up to this many pixels (augmentation)
pixel_flip = False  # pixel inputs: mirror half the pictures read left to right (clothes, not digits: a 2 mirrored is no 2)
encoder_width = 64  # channels of the 'cnn' encoder
image_vectors = 0  # pixel inputs: 0, a vector per image letter; 1, one per picture (its reading rows run far shorter)
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
grad_clip = 1.0  # clip gradients at this norm, or disable if == 0.0
# learning rate decay settings
decay_lr = True
warmup_iters = 100
lr_decay_iters = 2000  # ~= max_iters per Chinchilla
min_lr = 2e-4  # ~= learning_rate/10 per Chinchilla
# DDP settings
backend = 'auto'  # 'auto' is nccl on GPUs, gloo on CPUs
# system
device = 'auto'  # 'auto' (cuda, then mps, then cpu), 'cpu', 'cuda', 'cuda:1', 'mps'
dtype = 'auto'  # 'auto': bfloat16 on GPUs that have it, else float32 (bf16 autocast is 3-30x slower on CPUs without it)
compile = False  # torch.compile: slower on a 2-core CPU for models this small
threads = 0  # torch CPU threads; 0 keeps torch's default
seed = 1337
# -----------------------------------------------------------------------------
defaults = {k: v for k, v in globals().items() if not k.startswith('_')}  # a run older than a key had its default
config = configure(globals())
if n_embd % n_head:
    raise SystemExit(f"error: n_embd={n_embd} must be a multiple of n_head={n_head} (each head gets n_embd // n_head)")
data_dir = data_dir_of(dataset)
check_image_input(image_input)
pixels = image_input != 'letters'
# keys that say how a run is carried out, not what it trains: a run that differs only in them is the same run
RUN_CONTROL = {'out_dir', 'init_from', 'force', 'eval_only', 'bucket_lengths', 'max_iters', 'lr_decay_iters', 'keep_last',
               'log_interval', 'eval_interval', 'eval_iters', 'val_images', 'always_save_checkpoint', 'wandb_log',
               'wandb_project', 'wandb_run_name', 'device', 'compile', 'threads', 'backend'}
# -----------------------------------------------------------------------------

# various inits, derived attributes, I/O setup
ddp = int(os.environ.get('RANK', -1)) != -1  # is this a ddp run?
device = pick_device(device)
if ddp:
    init_process_group(backend=backend if backend != 'auto' else ('nccl' if device.startswith('cuda') else 'gloo'))
    ddp_rank, ddp_local_rank, ddp_world_size = (int(os.environ[k]) for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE'))
    if device.startswith('cuda'):
        device = f'cuda:{ddp_local_rank}'
        torch.cuda.set_device(device)
    master_process = ddp_rank == 0  # this process will do logging, checkpointing etc.
    if gradient_accumulation_steps % ddp_world_size:
        raise SystemExit(f"error: gradient_accumulation_steps={gradient_accumulation_steps} must be a multiple of "
                         f"the {ddp_world_size} processes; set it to {ddp_world_size}")
    gradient_accumulation_steps //= ddp_world_size
else:
    ddp_rank, ddp_world_size, master_process = 0, 1, True
if threads:
    torch.set_num_threads(threads)
torch.manual_seed(seed + ddp_rank)
device_type = 'cuda' if device.startswith('cuda') else device.split(':')[0]
if device_type == 'cuda':
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
dtype = dtype if dtype != 'auto' else ('bfloat16' if device_type == 'cuda' and torch.cuda.is_bf16_supported()
                                       else 'float32')
ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]
ctx = nullcontext() if dtype == 'float32' else torch.autocast(device_type=device_type, dtype=ptdtype)

# -----------------------------------------------------------------------------
# data. patch: whole records, not windows of the stream (nanogpt/dataloader.py)
meta = load_meta(data_dir)
meta_sha256 = file_sha256(os.path.join(data_dir, 'meta.json'))
# patch: text mixed in: n_text of each batch's rows are windows of the text, as long as a record
if text_share and not meta.get('text'):
    raise SystemExit(f"error: text_share={text_share} but {data_dir} holds no text; prepare it with "
                     "text='shakespeare' (config/prepare_mnist_text_vlm.py) or set text_share=0")
n_text = round(batch_size * text_share)
n_records = batch_size - n_text
text = {split: load_text_ids(data_dir, split) for split in ('train', 'val')} if meta.get('text') else {}
task_list = get_tasks(meta['tasks'])
reading = READ in task_list and n_records > 0
records = {split: load_records(data_dir, split, meta['seq_len']) for split in ('train', 'val')}
targets = {split: make_targets(r, meta['stoi'][meta['pad_char']]) for split, r in records.items()}
# patch: each record's task and answer span (prepare's layout): the answers of reading, captions and questions
# are the targets answer_weight scales
layout = {split: load_layout(data_dir, split, len(r)) for split, r in records.items()}
answer = {split: answer_mask(lay, meta['seq_len'], [t.weighted for t in task_list]) for split, lay in layout.items()}
# patch: the rows of a batch split between the tasks by task_mix's shares
task_draws = parse_mix(task_mix, meta['tasks'], layout['train'][:, 0])
val_split = np.load(os.path.join(data_dir, 'val.npz'))
val_labels = val_split['labels'][:val_images]
batch_gen = torch.Generator().manual_seed(seed)  # the same stream on every process: each takes its slice
# patch: a run that reads pixels takes each record's picture from {split}_images.npy, aligned with the records
if pixels:
    if not reading:
        raise SystemExit(f"error: image_input={image_input!r} reads the pictures of reading records, and {data_dir} "
                         "holds none; train it with image_input='letters'")
    if 'images' not in val_split or not all(os.path.exists(os.path.join(data_dir, f'{s}_images.npy')) for s in records):
        raise SystemExit(f"error: {data_dir} holds no pixels for image_input={image_input!r} (older data); rebuild it "
                         "with `make data`")
    images = {split: np.load(os.path.join(data_dir, f'{split}_images.npy'), mmap_mode='r') for split in records}
    # every record that opens with a picture reads it (reading, captions, questions): as many as it shows
    image_rows = {split: pictures_shown(r, meta) for split, r in records.items()}
    if any(int(image_rows[s].max()) > (images[s].shape[1] if images[s].ndim == 4 else 1) for s in records):
        raise SystemExit(f"error: {data_dir} holds records of two pictures but one picture per record (older data); "
                         "rebuild it with `make data`")
val_seen = val_split['images'][:val_images] if pixels else val_split['codes'][:val_images]


def get_batch(split, ix, tx=None, draws=None):
    """Inputs, targets, answer mask and the model's other inputs: for a run that reads pixels, the pictures of
    its records and which reading rows see them (`draws`, from pixel_draws: letters_share of them read letters,
    and the shifts; without it every reading row sees its picture as it is)."""
    x, y, w = records[split][ix, :-1], targets[split][ix], answer[split][ix]
    seen = {}
    if pixels:
        keep, shifts, flips = draws if draws is not None else (None, None, None)
        y, seen = see_pixels(y, torch.from_numpy(images[split][ix.numpy()]), image_rows[split][ix], meta, keep=keep,
                             shifts=shifts, flips=flips)
    if tx is not None and len(tx):  # patch: text windows below the records; no answer to weight in them
        x, y, w = add_text_rows(x, y, w, TEXT.windows(text[split], tx, meta['seq_len']))
        seen = no_pictures_below(seen, len(tx)) if seen else seen
    if device_type == 'cuda':
        x, y, w = (t.pin_memory().to(device, non_blocking=True) for t in (x, y, w))
        return x, y, w, {k: v.pin_memory().to(device, non_blocking=True) for k, v in seen.items()}
    return x.to(device), y.to(device), w.to(device), {k: v.to(device) for k, v in seen.items()}


# -----------------------------------------------------------------------------
# model init
iter_num, best_val_loss, best_val_acc, elapsed0 = 0, 1e9, -1.0, 0.0
train_seconds = 0.0  # patch: time in training steps alone, evaluations excluded (the step time eval.compare shows)
model_args = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=meta['seq_len'] - 1,
                  bias=bias, vocab_size=meta['vocab_size'], dropout=dropout)
ckpt_path, last_path = os.path.join(out_dir, 'ckpt.pt'), os.path.join(out_dir, 'last.pt')
run_json = os.path.join(out_dir, 'run.json')
if init_from == 'auto':
    init_from = 'resume' if os.path.exists(last_path) and not os.path.exists(run_json) else 'scratch'
    if init_from == 'scratch' and os.path.exists(run_json) and os.path.exists(last_path):
        done = load_checkpoint(last_path, 'checkpoint', 'remove it or choose another --out_dir')
        same = all(done['config'].get(k, defaults.get(k)) == v for k, v in config.items() if k not in RUN_CONTROL)
        if same and done.get('meta_sha256') == meta_sha256 and done['iter_num'] == max_iters:
            # patch: `make train` after a change to code or timestamps only: the run it asks for is this one
            os.utime(run_json)
            print(f"{out_dir} holds this run, finished at iteration {done['iter_num']}: nothing to do")
            raise SystemExit(0)
if init_from == 'scratch':
    existing = [p for p in (last_path, ckpt_path) if os.path.exists(p)]
    if existing and not force:
        old = load_checkpoint(existing[0], 'checkpoint', 'remove it or choose another --out_dir').get('config') or {}
        diff = sorted(k for k in config if k not in RUN_CONTROL and old.get(k, defaults.get(k)) != config[k])
        what = f"a run of a different config ({diff[0]}={old.get(diff[0], defaults.get(diff[0]))!r}, now " \
            f"{config[diff[0]]!r})" if diff else 'a run'
        raise SystemExit(f"error: {out_dir} holds {what}; pass --init_from=resume to continue it, --force=True to "
                         "replace it, or choose another --out_dir")
    # patch: an image encoder beside the GPT for pixel inputs ('frozen': the VQ-VAE's that wrote the data's letters)
    model = with_encoder(GPT(GPTConfig(**model_args)), image_input, meta, width=encoder_width, vectors=image_vectors,
                         vq=load_checked_vqvae(meta, data_dir) if image_input == 'frozen' else None)
elif init_from == 'resume':
    resume_path = last_path if os.path.exists(last_path) else ckpt_path
    checkpoint = load_checkpoint(resume_path, 'checkpoint', 'start afresh with --init_from=scratch --force=True',
                                 device)
    check_data(checkpoint, resume_path, data_dir, meta)
    for k in ('n_layer', 'n_head', 'n_embd', 'block_size', 'bias', 'vocab_size'):
        model_args[k] = checkpoint['model_args'][k]  # the architecture is the checkpoint's
    model = GPT(GPTConfig(**model_args))
    model.load_state_dict(checkpoint['model'])
    enc = checkpoint.get('encoder_args')
    was = (enc['mode'], enc.get('vectors', 0)) if enc else ('letters', image_vectors)  # letters: no vectors to differ
    if was != (image_input, image_vectors):
        raise SystemExit(f"error: {resume_path} reads images as {was[0]!r} with image_vectors={was[1]}, not "
                         f"image_input={image_input!r} with image_vectors={image_vectors}; resume it with those, or "
                         "start afresh with --init_from=scratch --force=True")
    model = attach_encoder(model, checkpoint, resume_path).train()  # a pixel run's encoder, saved beside the GPT
    iter_num, best_val_loss = checkpoint['iter_num'], checkpoint['best_val_loss']
    best_val_acc, elapsed0 = checkpoint['best_val_acc'], checkpoint['elapsed']
    train_seconds = checkpoint.get('train_seconds', 0.0)
    # patch: the batch stream goes on where it stopped (on every process: it is shared); so do the dropout and
    # GPU generators of a single process (under DDP each process starts them afresh from seed + rank)
    # (generator states are CPU byte tensors, whatever device the checkpoint was loaded onto)
    rng = {k: v.cpu() for k, v in checkpoint['rng'].items() if v is not None}
    batch_gen.set_state(rng['batches'])
    if not ddp:
        torch.set_rng_state(rng['torch'])
        if device_type == 'cuda' and 'cuda' in rng:
            torch.cuda.set_rng_state(rng['cuda'], device)
    if master_process:
        print(f"resuming {resume_path} at iteration {iter_num}")
else:
    raise SystemExit(f"error: init_from={init_from!r} is not supported; use 'scratch', 'resume' or 'auto'")
model.to(device)

# initialize a GradScaler. If enabled=False scaler is a no-op
scaler = torch.amp.GradScaler(device_type, enabled=(dtype == 'float16'))
optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
if init_from == 'resume':
    optimizer.load_state_dict(checkpoint['optimizer'])
    if checkpoint.get('scaler'):
        scaler.load_state_dict(checkpoint['scaler'])
    checkpoint = None  # free up memory
raw_model = model
if compile:
    print("compiling the model... (takes a ~minute)")
    model = torch.compile(model)
if ddp:
    model = DDP(model, device_ids=[ddp_local_rank] if device_type == 'cuda' else None)

if master_process:
    os.makedirs(out_dir, exist_ok=True)
    if init_from == 'scratch':
        # everything above was checked: only now is the old run cleared, so no snapshot of it mixes with this one
        for path in [ckpt_path, last_path, run_json] + [p for _, p in snapshots(out_dir)]:
            if os.path.exists(path):
                os.remove(path)
    elif os.path.exists(run_json):
        os.remove(run_json)  # an extended run is not finished until it writes a new one
    mix = f" ({n_text} of every {batch_size} rows are text windows)" if n_text else ''
    mix += f"; tasks by share {task_mix}" if task_mix else ''
    if pixels:
        parts = ', '.join(f"{k} {v / 1e3:.1f}k" for k, v in raw_model.encoder.counts().items())
        mix += f"; pictures read as pixels through '{image_input}' ({parts}{', frozen' * (image_input == 'frozen')})"
    print(f"GPT: {raw_model.get_num_params() / 1e6:.2f}M parameters, {len(records['train']):,} train records of "
          f"{meta['seq_len']}, {batch_size * gradient_accumulation_steps * ddp_world_size} records per step{mix} on "
          f"{ddp_world_size} x {device} ({dtype})")


# helps estimate an arbitrarily accurate loss over either split using many batches
@torch.no_grad()
def estimate_loss():
    out = {}
    raw_model.eval()
    eval_gen = torch.Generator().manual_seed(seed)  # the same batches every time; the training stream untouched
    for split in ('train', 'val'):
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y, _, seen = get_batch(split, torch.randint(len(records[split]), (batch_size,), generator=eval_gen))
            with ctx:
                _, loss = raw_model(X, Y, **seen)
            losses[k] = loss.item()
        out[split] = losses.mean().item()
    for split in text:  # patch: the loss on text windows, held-out text included
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            starts = torch.randint(len(text[split]) - meta['seq_len'], (batch_size,), generator=eval_gen)
            X, Y, _, _ = get_batch(split, torch.zeros(0, dtype=torch.long), starts)
            with ctx:
                _, loss = raw_model(X, Y)
            losses[k] = loss.item()
        out[f'text_{split}'] = losses.mean().item()
    # patch: the score that picks ckpt.pt is the reading accuracy over the validation images
    if reading:
        with ctx:
            out['val_acc'] = float((READ.predict(raw_model, val_seen, meta, device=device) == val_labels).mean())
    raw_model.train()
    return out


# learning rate decay scheduler (cosine with warmup)
def get_lr(it):
    if not decay_lr:
        return learning_rate
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * decay_ratio)) * (learning_rate - min_lr)


def training_state(elapsed):
    rng = dict(batches=batch_gen.get_state(), torch=torch.get_rng_state(),
               cuda=torch.cuda.get_rng_state(device) if device_type == 'cuda' else None)
    return dict(**weights(raw_model), optimizer=optimizer.state_dict(), model_args=model_args,
                iter_num=iter_num, best_val_loss=best_val_loss, best_val_acc=best_val_acc, elapsed=elapsed,
                train_seconds=train_seconds, config=config, meta_sha256=meta_sha256, rng=rng, scaler=scaler.state_dict())


def prune_snapshots():
    for _, path in snapshots(out_dir)[:-keep_last] if keep_last else []:
        os.remove(path)


# logging
if wandb_log and master_process:
    import wandb

    # no login must not stop a run: log offline and sync later with `wandb sync`
    mode = 'online' if os.environ.get('WANDB_API_KEY') or wandb.login(prompt=False) else 'offline'
    wandb.init(project=wandb_project, name=wandb_run_name, config=config, mode=mode)

# training loop
stop = StopSignal()
t0 = time.time()
t_start = t0 - elapsed0
while True:

    # determine and set the learning rate for this iteration
    lr = get_lr(iter_num)
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr

    # evaluate the loss on train/val sets and write checkpoints
    if (iter_num % eval_interval == 0 or iter_num == max_iters) and master_process:
        m = estimate_loss()
        elapsed = time.time() - t_start
        acc = f", val acc {m['val_acc']:.4f}" if reading else ''
        acc += f", text val loss {m['text_val']:.4f} ({m['text_val'] / math.log(2):.3f} bits/char)" if text else ''
        print(f"step {iter_num}: train loss {m['train']:.4f}, val loss {m['val']:.4f}{acc}, {elapsed:.0f}s")
        if wandb_log:
            wandb.log({'iter': iter_num, 'train/loss': m['train'], 'val/loss': m['val'], 'lr': lr, 'elapsed': elapsed,
                       **({'val/acc': m['val_acc']} if reading else {})})
        atomic_save(dict(**weights(raw_model), model_args=model_args, iter_num=iter_num,
                         val_acc=m.get('val_acc'), val_loss=m['val'], text_val_loss=m.get('text_val'),
                         elapsed=elapsed, train_seconds=train_seconds, config=config,
                         meta_sha256=meta_sha256), os.path.join(out_dir, f'ckpt_{iter_num}.pt'))
        prune_snapshots()
        # the untrained model at step 0 is never "best": ckpt.pt always holds a trained one. A text-only run
        # (patch) is picked by its loss on held-out text
        val_loss = m['text_val'] if n_records == 0 else m['val']
        better = iter_num > 0 and (m.get('val_acc', 0.0), -val_loss) > (best_val_acc, -best_val_loss)
        if better:
            best_val_acc, best_val_loss = m.get('val_acc', 0.0), val_loss
        state = training_state(elapsed)
        if better or (always_save_checkpoint and iter_num > 0):
            atomic_save(state, ckpt_path)
            print(f"saved {ckpt_path}" + (f" (val acc {best_val_acc:.4f})" if reading else ''))
        atomic_save(state, last_path)
    if iter_num >= max_iters or (iter_num == 0 and eval_only):
        break

    # forward backward update, with optional gradient accumulation to simulate larger batch size
    t_step = time.time()
    ix = step_indices(len(records['train']), n_records, gradient_accumulation_steps, ddp_world_size, batch_gen,
                      task_draws)
    tx = step_indices(len(text['train']) - meta['seq_len'], n_text, gradient_accumulation_steps, ddp_world_size,
                      batch_gen) if n_text else None
    px = pixel_draws(ix.shape, batch_gen, letters_share, pixel_shift, pixel_flip) if pixels else None
    for micro_step in range(gradient_accumulation_steps):
        if ddp:
            # in DDP training we only need to sync gradients at the last micro step
            model.require_backward_grad_sync = (micro_step == gradient_accumulation_steps - 1)
        X, Y, W, seen = get_batch('train', ix[ddp_rank, micro_step], None if tx is None else tx[ddp_rank, micro_step],
                                  None if px is None else [d[ddp_rank, micro_step] for d in px])
        groups = length_groups(Y) if bucket_lengths else None
        if groups is None:
            with ctx:
                if answer_weight == 1.0:
                    _, loss = model(X, Y, **seen)
                else:  # patch: the reading answer weighs answer_weight times a plain target
                    logits, _ = model(X, all_logits=True, **seen)
                    loss = weighted_loss(logits.float(), Y, W, answer_weight)
                loss = loss / gradient_accumulation_steps  # scale the loss to account for gradient accumulation
            scaler.scale(loss).backward()
        else:  # patch: short records and long ones run apart, each cut to its own length; the same loss
            total, loss = loss_weights(Y, W, answer_weight).sum(), 0.0
            for g, (rows, length) in enumerate(groups):
                if ddp:
                    model.require_backward_grad_sync = (micro_step == gradient_accumulation_steps - 1 and g == 1)
                with ctx:
                    logits, _ = model(X[rows, :length], all_logits=True, **{k: v[rows] for k, v in seen.items()})
                    part = weighted_loss(logits.float(), Y[rows, :length], W[rows, :length], answer_weight, total)
                    part = part / gradient_accumulation_steps
                scaler.scale(part).backward()
                loss = loss + part.detach()
    # clip the gradient
    if grad_clip != 0.0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    # step the optimizer and scaler if training in fp16
    scaler.step(optimizer)
    scaler.update()
    # flush the gradients as soon as we can, no need for this memory anymore
    optimizer.zero_grad(set_to_none=True)
    train_seconds += time.time() - t_step

    # timing and logging
    t1 = time.time()
    if iter_num % log_interval == 0 and master_process:
        lossf = loss.item() * gradient_accumulation_steps
        print(f"iter {iter_num}: loss {lossf:.6f}, {(t1 - t0) * 1000 / log_interval:.0f}ms/iter")
        t0 = t1
    iter_num += 1

    # patch: SIGINT/SIGTERM save the full state and stop, on every process at the same step
    if stop.requested(device if ddp else None):
        if master_process:
            atomic_save(training_state(time.time() - t_start), last_path)
            print(f"stopped by {stop.name} at iteration {iter_num}: saved {last_path}; "
                  "continue with --init_from=resume (or make train)")
        break

if ddp:
    torch.distributed.barrier()  # the others wait for the master's last evaluation before the group is torn down
    destroy_process_group()
if stop.name:
    raise SystemExit(stop.exit_code)
if master_process:
    run_record(run_json, config, [os.path.join(data_dir, f) for f in ('train.bin', 'val.bin', 'meta.json')],
               dict(iter_num=iter_num, best_val_acc=best_val_acc, best_val_loss=best_val_loss,
                    elapsed=time.time() - t_start, train_seconds=train_seconds))
