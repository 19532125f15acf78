"""Train the VLM on the prepared text records, nanoGPT style.

    python -m nanogpt.train config/train_mnist_letters.py [--key=value ...]
    python -m nanogpt.train config/train_mnist_letters.py --device=cpu --max_iters=200 --eval_interval=100
    python -m nanogpt.train config/train_mnist_cnn.py      # reads pixels through a conv net
    torchrun --standalone --nproc_per_node=4 -m nanogpt.train config/train_mnist_letters.py \
        --gradient_accumulation_steps=4
    torchrun --standalone --nproc_per_node=2 -m nanogpt.train config/train_mnist_letters.py --device=cpu \
        --gradient_accumulation_steps=2    # DDP on CPUs (gloo)

The sections are nanoGPT's. The patches, each marked "patch:", are: batches of whole records, their
rows shared between the tasks (task_mix), with a share of text windows mixed in (text_share), short
and long records run apart (bucket_lengths), pictures read as pixels through an image encoder
(image_input, nanogpt/vision.py), written answers weighted in the loss (answer_weight) -- all in
nanogpt/batches.py, the one batch builder --; the model is the VLM (nanogpt/vlm.py: the GPT, its
encoder and the data's tokenizer); ckpt.pt is chosen by validation reading accuracy over all
validation pictures (by held-out text loss for text only) and saved with the run folder's
config.json, model.safetensors, tokenizer.safetensors and vocab.json (VLM.save_pretrained); a
weights-only ckpt_<iter>.pt at every evaluation, last.pt with the full training state (optimizer,
RNG, GradScaler) for an exact resume after SIGINT/SIGTERM, and run.json when a run finishes.
"""
import math
import os
import time
from contextlib import nullcontext

if not __package__:
    raise SystemExit("error: run it as a module from the project root: "
                     "python -m nanogpt.train config/train_mnist_letters.py")

import torch
from torch.distributed import destroy_process_group, init_process_group
from torch.nn.parallel import DistributedDataParallel as DDP

from common.configurator import configure
from common.files import atomic_save, file_sha256, load_checkpoint, writable_folder
from common.runtime import StopSignal, native_bf16, pick_device, run_record
from data.pictures import load_split
from nanogpt.batches import Batches, forward_backward, load_pictures
from nanogpt.engine import Engine
from nanogpt.model import GPT, GPTConfig
from nanogpt.pretrain import pretrain, pretrain_steps
from nanogpt.vision import ImageEncoder, check_image_input
from nanogpt.vlm import VLM, Seen, load_tokenizer, snapshots
from tasks import get_tasks
from tasks.read import READ
from tasks.vocab import letters, load_meta

# -----------------------------------------------------------------------------
# default config values, sized for a tiny run; config/train_mnist_letters.py is the default of `make train`
# I/O
out_dir = 'out/mnist_letters'
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
encoder_depth = 0  # 'cnn': 3x3 convolutions added where its map is a quarter of the picture's side (7x7 of 28x28)
# 'cnn' writing one vector per picture (image_vectors=1): the side of its last map, one of the letters' grids (7 or 4
# of 28x28 pictures); 0, the letters' own. A smaller map is one more stride-2 layer, and fewer features to project
encoder_grid = 0
image_vectors = 0  # pixel inputs: 0, a vector per image letter; 1, one per picture (its reading rows run far shorter)
# 'cnn' and 'patches': steps the encoder first learns the labels alone through a linear head (nanogpt/pretrain.py),
# then reads frozen; a step of it alone costs a sixth of a GPT step on a CPU. 0: it learns with the GPT
encoder_iters = 0
encoder_epochs = 0  # ... at most this many passes over the training pictures (0: encoder_iters whatever their number)
encoder_erase = 0  # ... half its pictures with a square of this side blanked (random erasing; 0: none): it must read them whole
# pixel inputs: the vector a picture is read by, in evaluation: 1, of the picture as it is; 5 or 9, the mean over it
# moved by up to a pixel (test-time augmentation, nanogpt/vision.py), for that many times the encoder's passes.
# Training steps read one view
encoder_views = 1
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
# patch: an unwritable place is one line now, not a traceback at the first save (the process that writes cleans)
writable_folder(out_dir, clean=int(os.environ.get('RANK', 0)) == 0)
data_dir = os.path.join('data', dataset)  # nanoGPT's convention: data/<dataset>/ (an absolute path works too)
check_image_input(image_input)
if encoder_iters and image_input not in ('cnn', 'patches'):
    raise SystemExit(f"error: encoder_iters={encoder_iters} pretrains the encoder of image_input='cnn' or 'patches'; "
                     f"image_input={image_input!r} has {'none' if image_input == 'letters' else 'a frozen one'}: "
                     "use encoder_iters=0")
if encoder_erase and not encoder_iters:
    raise SystemExit(f"error: encoder_erase={encoder_erase} blanks squares of the pictures the encoder learns from alone; "
                     "it needs encoder_iters > 0 (or leave it 0)")
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
# a CPU's native bf16 (AMX) does not pay here: the GPT's matrices are too small (docs/gpu.md)
dtype = dtype if dtype != 'auto' else ('bfloat16' if device_type == 'cuda' and native_bf16(device_type) else 'float32')
ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]
ctx = nullcontext() if dtype == 'float32' else torch.autocast(device_type=device_type, dtype=ptdtype)

# -----------------------------------------------------------------------------
# data. patch: whole records, not windows of the stream; the one batch builder (nanogpt/batches.py)
meta = load_meta(data_dir)
meta_sha256 = file_sha256(os.path.join(data_dir, 'meta.json'))
task_list = get_tasks(meta['tasks'])
batches = Batches(data_dir, meta, batch_size=batch_size, text_share=text_share, task_mix=task_mix,
                  image_input=image_input, per_picture=image_vectors or meta['tokens_per_image'],
                  letters_share=letters_share, pixel_shift=pixel_shift, pixel_flip=pixel_flip, device=device)
reading = READ in task_list and batches.n_records > 0
val_codes, val_labels, val_images_px = (a[:val_images] for a in load_pictures(data_dir, 'val', meta))
batch_gen = torch.Generator().manual_seed(seed)  # the same stream on every process: each takes its slice
# patch: what the run reads of the validation pictures, to choose ckpt.pt by: their letters, or the pixels
val_seen = Seen([letters(c, meta) for c in val_codes], None) if not pixels else \
    Seen([meta['image_token'] * (image_vectors or meta['tokens_per_image'])] * len(val_labels), val_images_px)

# -----------------------------------------------------------------------------
# model init. patch: the VLM (nanogpt/vlm.py) owns the GPT, the image encoder of a pixel run and the tokenizer
iter_num, best_val_loss, best_val_acc, elapsed0 = 0, 1e9, -1.0, 0.0
train_seconds = 0.0  # patch: time in training steps alone, evaluations excluded (the step time a study compares)
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
# the tokenizer that wrote the data's letters: part of the run folder, and the 'frozen' encoder's weights. Loaded
# apart from the global random stream, so that the model's initialisation does not depend on it
with torch.random.fork_rng():
    tokenizer = load_tokenizer(meta, data_dir)
if encoder_erase >= tokenizer.config.side:
    raise SystemExit(f"error: encoder_erase={encoder_erase} blanks a square as wide as the data's "
                     f"{tokenizer.config.side}x{tokenizer.config.side} pictures; use less than {tokenizer.config.side}")


def encoder_for(args):
    """The image encoder of a pixel run, None for letters ('frozen': the tokenizer's encoder, frozen)."""
    return ImageEncoder.for_run(image_input, args['n_embd'], meta['tokens_per_image'], tokenizer, encoder_width,
                                image_vectors, encoder_depth, encoder_views, encoder_grid)


if init_from == 'scratch':
    existing = [p for p in (last_path, ckpt_path) if os.path.exists(p)]
    if existing and not force:
        old = load_checkpoint(existing[0], 'checkpoint', 'remove it or choose another --out_dir').get('config') or {}
        diff = sorted(k for k in config if k not in RUN_CONTROL and old.get(k, defaults.get(k)) != config[k])
        what = f"a run of a different config ({diff[0]}={old.get(diff[0], defaults.get(diff[0]))!r}, now " \
            f"{config[diff[0]]!r})" if diff else 'a run'
        raise SystemExit(f"error: {out_dir} holds {what}; pass --init_from=resume to continue it, --force=True to "
                         "replace it, or choose another --out_dir")
    gpt = GPT(GPTConfig(**model_args))
    model = VLM(gpt, tokenizer, meta, encoder_for(model_args))
elif init_from == 'resume':
    resume_path = last_path if os.path.exists(last_path) else ckpt_path
    checkpoint = load_checkpoint(resume_path, 'checkpoint', 'start afresh with --init_from=scratch --force=True',
                                 device)
    if checkpoint['model_args']['vocab_size'] != meta['vocab_size']:
        raise SystemExit(f"error: {resume_path} was trained on a vocabulary of {checkpoint['model_args']['vocab_size']} "
                         f"characters but {data_dir}/meta.json has {meta['vocab_size']}; use the data it was trained "
                         "on, or train from scratch")
    if checkpoint.get('meta_sha256') != meta_sha256:
        raise SystemExit(f"error: {resume_path} was trained on other data than {data_dir}/meta.json holds now (its "
                         "SHA-256 differs from the one the checkpoint recorded, or it recorded none); rebuild the data "
                         "it was trained on, or retrain")
    # patch: a resumed run is the run it was: another shape would be silently ignored (the weights are the
    # checkpoint's) while its config claimed it, and a best chosen on another validation set cannot be compared
    differ = [f"{k}={checkpoint['model_args'][k]!r} (asked {model_args[k]!r})" for k in ('n_layer', 'n_head', 'n_embd',
              'bias', 'block_size', 'vocab_size') if checkpoint['model_args'][k] != model_args[k]]
    was_val = (checkpoint.get('config') or {}).get('val_images')
    if was_val != val_images:
        differ.append(f"val_images={was_val!r} (asked {val_images!r}): ckpt.pt's best was read on those")
    was_iters = (checkpoint.get('config') or {}).get('encoder_iters', 0)
    if was_iters != encoder_iters:
        differ.append(f"encoder_iters={was_iters!r} (asked {encoder_iters!r}): its encoder "
                      f"{'was pretrained and reads frozen' if was_iters else 'learns with the GPT'}")
    conv_was = checkpoint.get('encoder_args') or {}
    shape_was = (conv_was.get('width'), conv_was.get('depth', 0), conv_was.get('grid', 0))
    if image_input == conv_was.get('mode') == 'cnn' and shape_was != (encoder_width, encoder_depth, encoder_grid):
        differ.append("encoder_width={}, encoder_depth={}, encoder_grid={} ".format(*shape_was) +
                      f"(asked {encoder_width}, {encoder_depth}, {encoder_grid})")
    if conv_was and conv_was.get('views', 1) != encoder_views:
        differ.append(f"encoder_views={conv_was.get('views', 1)} (asked {encoder_views})")
    if differ:
        raise SystemExit(f"error: {resume_path} is a run of {', '.join(differ)}; resume it as it was, or start afresh "
                         "with --init_from=scratch --force=True")
    if checkpoint['iter_num'] >= max_iters and os.path.exists(run_json):
        print(f"{out_dir} is finished at iteration {checkpoint['iter_num']} (max_iters={max_iters}): nothing to "
              "do; pass a larger --max_iters to train it further")
        raise SystemExit(0)
    enc = checkpoint.get('encoder_args')
    was = (enc['mode'], enc.get('vectors', 0)) if enc else ('letters', image_vectors)  # letters: no vectors to differ
    if was != (image_input, image_vectors):
        raise SystemExit(f"error: {resume_path} reads images as {was[0]!r} with image_vectors={was[1]}, not "
                         f"image_input={image_input!r} with image_vectors={image_vectors}; resume it with those, or "
                         "start afresh with --init_from=scratch --force=True")
    model = VLM(GPT(GPTConfig(**model_args)), tokenizer, meta, encoder_for(model_args))
    model.load_weights(checkpoint, resume_path).train()
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
# patch: a pretrained encoder learns the labels alone first (nanogpt/pretrain.py), then reads frozen: the GPT's steps
# learn to write what it sees, and to draw. Its seconds count as training seconds
if encoder_iters:
    if init_from == 'scratch':
        train_px, train_labels_px = load_split('train', meta['dataset'])  # the dataset's own training pictures
        enc_steps = pretrain_steps(encoder_iters, encoder_epochs, len(train_px), batch_size)
        enc_acc, elapsed0 = pretrain(model.encoder, train_px, train_labels_px, len(meta['labels']), enc_steps,
                                     batch_size, learning_rate, pixel_shift, seed, val=(val_images_px, val_labels),
                                     log=print if master_process else None, erase=encoder_erase)
        train_seconds = elapsed0
        if master_process:
            print(f"encoder alone: {enc_steps} steps ({enc_steps * batch_size / len(train_px):.0f} passes over "
                  f"{len(train_px):,} pictures), validation reading {enc_acc:.4f} through a linear head "
                  f"({elapsed0:.0f}s); it reads frozen from here")
    model.encoder.requires_grad_(False).eval()  # and stays so (VLM.train)

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
    # patch: a length group whose rows show no picture (bucket_lengths) gives a pixel run's encoder no gradient; DDP
    # must look for such parameters, or the processes' reductions fall out of step (gloo: a size mismatch)
    model = DDP(model, device_ids=[ddp_local_rank] if device_type == 'cuda' else None,
                find_unused_parameters=pixels)

if master_process:
    os.makedirs(out_dir, exist_ok=True)
    if init_from == 'scratch':
        # everything above was checked: only now is the old run cleared, so no snapshot of it mixes with this one
        for path in [ckpt_path, last_path, run_json] + [p for _, p in snapshots(out_dir)]:
            if os.path.exists(path):
                os.remove(path)
    elif os.path.exists(run_json):
        os.remove(run_json)  # an extended run is not finished until it writes a new one
    mix = f" ({batches.n_text} of every {batch_size} rows are text windows)" if batches.n_text else ''
    mix += f"; tasks by share {task_mix}" if task_mix else ''
    if pixels:
        parts = ', '.join(f"{k} {v / 1e3:.1f}k" for k, v in raw_model.encoder.counts().items())
        mix += f"; pictures read as pixels through '{image_input}' ({parts}{', frozen' * (image_input == 'frozen' or bool(encoder_iters))})"
    print(f"GPT: {raw_model.get_num_params() / 1e6:.2f}M parameters, {len(batches.records['train']):,} train records of "
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
            X, Y, _, seen = batches.get(split, torch.randint(len(batches.records[split]), (batch_size,),
                                                             generator=eval_gen))
            with ctx:
                _, loss = raw_model(X, Y, **seen)
            losses[k] = loss.item()
        out[split] = losses.mean().item()
    for split in batches.text:  # patch: the loss on text windows, held-out text included
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            starts = torch.randint(len(batches.text[split]) - meta['seq_len'], (batch_size,), generator=eval_gen)
            X, Y, _, _ = batches.get(split, torch.zeros(0, dtype=torch.long), starts)
            with ctx:
                _, loss = raw_model(X, Y)
            losses[k] = loss.item()
        out[f'text_{split}'] = losses.mean().item()
    # patch: the score that picks ckpt.pt is the reading accuracy over the validation images; not at step 0, which
    # is never picked and reads at chance (nor does the report read it)
    if reading and iter_num > 0:
        with ctx:
            out['val_acc'] = float((READ.predict(Engine(raw_model, meta, device), val_seen) == val_labels).mean())
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
    return dict(**raw_model.weights(), optimizer=optimizer.state_dict(), model_args=model_args,
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
        acc = f", val acc {m['val_acc']:.4f}" if 'val_acc' in m else ''
        acc += f", text val loss {m['text_val']:.4f} ({m['text_val'] / math.log(2):.3f} bits/char)" \
            if batches.text else ''
        print(f"step {iter_num}: train loss {m['train']:.4f}, val loss {m['val']:.4f}{acc}, {elapsed:.0f}s")
        if wandb_log:
            wandb.log({'iter': iter_num, 'train/loss': m['train'], 'val/loss': m['val'], 'lr': lr, 'elapsed': elapsed,
                       **({'val/acc': m['val_acc']} if 'val_acc' in m else {})})
        atomic_save(dict(**raw_model.weights(), model_args=model_args, iter_num=iter_num,
                         val_acc=m.get('val_acc'), val_loss=m['val'], text_val_loss=m.get('text_val'),
                         elapsed=elapsed, train_seconds=train_seconds, config=config,
                         meta_sha256=meta_sha256), os.path.join(out_dir, f'ckpt_{iter_num}.pt'))
        prune_snapshots()
        # the untrained model at step 0 is never "best": ckpt.pt always holds a trained one. A text-only run
        # (patch) is picked by its loss on held-out text
        val_loss = m['text_val'] if batches.n_records == 0 else m['val']
        better = iter_num > 0 and (m.get('val_acc', 0.0), -val_loss) > (best_val_acc, -best_val_loss)
        if better:
            best_val_acc, best_val_loss = m.get('val_acc', 0.0), val_loss
        state = training_state(elapsed)
        if better or (always_save_checkpoint and iter_num > 0):
            atomic_save(state, ckpt_path)
            # patch: the run folder that loads from anywhere (config.json, safetensors, vocab.json), of this model
            raw_model.save_pretrained(out_dir, dataset=meta['dataset'], data=dataset, iter_num=iter_num,
                                      val_acc=m.get('val_acc'), elapsed=elapsed, train_seconds=train_seconds,
                                      train_config=config, meta_sha256=meta_sha256)
            print(f"saved {ckpt_path}" + (f" (val acc {best_val_acc:.4f})" if reading else ''))
        atomic_save(state, last_path)
    if iter_num >= max_iters or (iter_num == 0 and eval_only):
        break

    # forward backward update, with optional gradient accumulation to simulate larger batch size
    t_step = time.time()
    draws = batches.step(batch_gen, gradient_accumulation_steps, ddp_world_size)
    for micro_step in range(gradient_accumulation_steps):
        # patch: one micro-step of the one batch builder (nanogpt/batches.py): weighted answers, and short records
        # run apart from long ones (bucket_lengths); DDP syncs the gradients at the last micro-step only
        loss = forward_backward(model, batches.micro(draws, ddp_rank, micro_step), answer_weight=answer_weight,
                                bucket_lengths=bucket_lengths, accum=gradient_accumulation_steps, scaler=scaler,
                                ctx=ctx, sync=micro_step == gradient_accumulation_steps - 1)
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
