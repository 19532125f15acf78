"""Train the VQ-VAE tokenizer on a dataset's train[0:50000], validating on train[50000:60000].

    python -m vqvae.train config/vqvae_mnist.py [--key=value ...]

Writes out_dir/ckpt.pt when done. last.pt holds the training state of the
latest evaluation or interruption (SIGINT/SIGTERM): --init_from=resume
continues from it exactly.
"""
import math
import os
import time
from dataclasses import fields

if not __package__:
    raise SystemExit("error: run it as a module from the project root: python -m vqvae.train config/vqvae_mnist.py")

import numpy as np
import torch
import torch.nn.functional as F

from common.configurator import configure
from common.files import atomic_save, load_checkpoint, writable_folder
from common.runtime import StopSignal, pick_device, run_record, train_dtype
from data.pictures import label_words, load_split, source_files
from vqvae.model import VQVAE, VQVAEConfig, grids, moved
from vqvae.perceptual import perceptual_loss, train_features

# -----------------------------------------------------------------------------
out_dir = 'out/vqvae_mnist'
init_from = 'scratch'  # 'scratch', 'resume' (from last.pt), or 'auto' (resume an unfinished run, else scratch)
force = False  # True: start from scratch even where a finished tokenizer (ckpt.pt) lies, replacing it
dataset = 'mnist'  # the pictures it learns to write: mnist, fashion_mnist or an imported folder (data/pictures.py)
encoder = 'conv'
tokens_per_image = 16  # 0: the finest grid of at most 8x8 of the pictures' side (7x7 of 28x28, 8x8 of 32x32)
num_codes = 26
code_dim = 16
hidden = 64
res_blocks = 0  # residual blocks each side of the grid (conv): 0 is the plain stack of MNIST's letters
decay = 0.99
dead_threshold = 1.0
commitment = 0.25
perceptual = 0.0  # weight of the perceptual term (vqvae/perceptual.py); 0 is pixels alone, as MNIST's letters
# weight of reading the label from the grid of codes (a linear head, dropped once trained): letters that keep what
# the picture is, not only how it looks; 0 is pixels alone
label_term = 0.0
perceptual_steps = 1500  # training steps of the classifier whose features that term compares
# a share of each batch's pictures moved a little (turned up to max_rotate degrees, shifted up to max_shift pixels)
# over the first augment_until of the steps: letters, and a label term, that keep the digit wherever it sits; the
# last steps see the pictures as they are, so the decoder ends drawing them sharp. 0 is the pictures as they are
augment = 0.0
augment_until = 0.5
max_shift = 2.0  # pixels
max_rotate = 10.0  # degrees
batch_size = 128
max_iters = 2000
learning_rate = 2e-3
min_lr = 2e-4
# steps between evaluations, each reading every validation picture (about 1.5 s for MNIST's): the presets evaluate
# at the start and the end only
eval_interval = 500
log_interval = 250  # steps between lines of the training loss, which costs nothing to print
seed = 1337
device = 'auto'
# 'auto': the training steps' convolutions under bfloat16 autocast where the machine has it natively (a GPU with bf16,
# a CPU with AMX: 1.5x faster steps), else float32. The codebook, the loss and every evaluation stay float32
dtype = 'auto'
threads = 0  # torch CPU threads; 0 keeps torch's default
# -----------------------------------------------------------------------------
# how it runs, not what it makes
RUN_CONTROL = {'out_dir', 'init_from', 'force', 'eval_interval', 'log_interval', 'device', 'dtype', 'threads'}


def evaluate(model, images, labels=None, head=None, batch=1000):
    """Reconstruction BCE/MSE and codebook usage over a whole split; with a label term's head, how often it reads
    the label from the codes (the tokenizer alone, to set beside what a GPT reads from its letters)."""
    model.eval()
    bce = mse = 0.0
    right = 0
    counts = torch.zeros(num_codes, device=images.device)
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = images[i:i + batch]
            logits, idx, _, grid = model(x)
            if head:
                right += (head(grid).argmax(1) == labels[i:i + batch]).sum().item()
            bce += F.binary_cross_entropy_with_logits(logits, x, reduction='sum').item()
            mse += F.mse_loss(torch.sigmoid(logits), x, reduction='sum').item()
            counts += torch.bincount(idx.flatten(), minlength=num_codes)
    model.train()
    p = counts / counts.sum()
    perplexity = math.exp(-(p[p > 0] * p[p > 0].log()).sum().item())
    n = images.numel()
    return dict(bce=bce / n, mse=mse / n, codes_used=int((counts > 0).sum()), perplexity=perplexity) | \
        ({'label_accuracy': right / len(images)} if head else {})


def loss_words(c):
    """The loss a tokenizer of config c learns by, and the pictures it learns from, in words: a state saved before a
    term existed had none."""
    weight, label, moves = float(c.get('perceptual', 0.0)), float(c.get('label_term', 0.0)), c.get('augment', 0.0)
    return f"perceptual={weight}" + (f" over {c.get('perceptual_steps')} steps' features" if weight else '') + \
        (f", label_term={label}" if label else '') + \
        (f", augment={moves} until {c['augment_until']} (max_shift={c['max_shift']}, max_rotate={c['max_rotate']})"
         if moves else '')


def main():
    config = configure(globals())
    writable_folder(out_dir)
    dev = pick_device(device)
    used, ctx = train_dtype(dtype, dev, 'the tokenizer')
    config['dtype'] = used  # the checkpoint and run.json say what it ran in, not 'auto'
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    train_x, train_y = load_split('train', dataset)
    train_x = torch.from_numpy(train_x.astype(np.float32) / 255).to(dev)
    train_y = torch.from_numpy(train_y.astype(np.int64)).to(dev)  # what the label and perceptual terms learn
    val_x, val_y = load_split('val', dataset)
    val_x = torch.from_numpy(val_x.astype(np.float32) / 255).to(dev)
    val_y = torch.from_numpy(val_y.astype(np.int64)).to(dev)
    shape = tuple(train_x.shape[1:])  # the dataset's pictures say their side and channels; they are not knobs
    picture = dict(side=shape[0], channels=shape[2] if len(shape) == 3 else 1)
    model_args = {f.name: config[f.name] for f in fields(VQVAEConfig) if f.name not in picture} | picture
    if not tokens_per_image:
        # the finest grid of at most 8x8: longer rows of letters cost the GPT more than they give it
        model_args['tokens_per_image'] = next(g for g in grids(picture['side']) if g <= 8) ** 2 if encoder == 'conv' \
            else 16
    try:
        model = VQVAE(VQVAEConfig(**model_args)).to(dev)
    except ValueError as e:  # sizes that do not fit the pictures
        raise SystemExit(f"error: {e}")
    head = None
    if label_term:
        with torch.random.fork_rng(devices=[]):  # its initialisation draws from its own seed, not the tokenizer's
            torch.manual_seed(seed + 2)
            head = torch.nn.Linear(model_args['tokens_per_image'] * code_dim, len(label_words(dataset))).to(dev)
    opt = torch.optim.Adam(list(model.parameters()) + (list(head.parameters()) if head else []), lr=learning_rate)
    ckpt_path, last_path = os.path.join(out_dir, 'ckpt.pt'), os.path.join(out_dir, 'last.pt')
    start, it = init_from, 0
    if start == 'auto':
        start = 'resume' if os.path.exists(last_path) and not os.path.exists(ckpt_path) else 'scratch'
        if start == 'scratch' and os.path.exists(ckpt_path):
            done = load_checkpoint(ckpt_path, 'VQ-VAE checkpoint', 'remove it or choose another --out_dir')
            if all(done['config'].get(k) == v for k, v in config.items() if k not in RUN_CONTROL):
                print(f"{ckpt_path} holds this tokenizer, finished: nothing to do")  # only code or timestamps changed
                raise SystemExit(0)
    if start == 'resume':
        state = load_checkpoint(last_path, 'VQ-VAE training state', 'train from scratch with --init_from=scratch', dev)
        was = state.get('model_args') or {}
        default = VQVAEConfig()  # a tokenizer saved before a field existed had its default
        differ = [f"{k}={was.get(k, getattr(default, k))!r} (asked {v!r})" for k, v in model_args.items()
                  if was.get(k, getattr(default, k)) != v]
        was_config = state.get('config') or {}
        if was_config.get('dataset', dataset) != dataset:
            differ.append(f"dataset={was_config['dataset']!r} (asked {dataset!r})")
        if loss_words(was_config) != loss_words(config):
            differ.append(f"{loss_words(was_config)} (asked {loss_words(config)})")
        if differ:  # the tokenizer it was, or none: never a mix of two
            raise SystemExit(f"error: {last_path} is a tokenizer of {', '.join(differ)}; resume "
                             "it as it was, or start afresh with --init_from=scratch --force=True")
        model.load_state_dict(state['model'])
        if head:
            head.load_state_dict(state['label_head'])
        opt.load_state_dict(state['optimizer'])
        gen.set_state(state['rng']['batches'].cpu())  # generator states are CPU tensors, on whatever device it loaded
        torch.set_rng_state(state['rng']['torch'].cpu())
        it = state['iter_num']
        print(f"resuming {last_path} at iteration {it}")
    elif start != 'scratch':
        raise SystemExit(f"error: init_from={init_from!r} is not supported; use 'scratch', 'resume' or 'auto'")
    if start == 'scratch' and os.path.exists(ckpt_path):
        if not force:
            raise SystemExit(f"error: {ckpt_path} holds a finished tokenizer; pass --force=True to train a new one "
                             "in its place, or choose another --out_dir")
        os.remove(ckpt_path)  # a new run: the old tokenizer is not this run's result, and make must not take it
    print(f"VQ-VAE: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{model_args['tokens_per_image']} tokens x {num_codes} codes, {dataset} ({'x'.join(map(str, shape))}): "
          f"{len(train_x):,} train / {len(val_x):,} val images on {dev} ({used})")

    def training_state():
        return dict(model=model.state_dict(), optimizer=opt.state_dict(), model_args=model_args, config=config,
                    iter_num=it, rng=dict(batches=gen.get_state(), torch=torch.get_rng_state()),
                    **({'label_head': head.state_dict()} if head else {}))

    stop = StopSignal()
    t0 = time.time()
    features = None
    if perceptual:
        with torch.random.fork_rng(devices=[]):  # its initialisation draws from its own seed, not the tokenizer's
            torch.manual_seed(seed + 1)
            features = train_features(train_x, train_y, len(label_words(dataset)), perceptual_steps, seed)
        print(f"perceptual features: {perceptual_steps} steps on the training pictures ({time.time() - t0:.0f}s)")
    while True:
        if it % eval_interval == 0 or it == max_iters:
            m = evaluate(model, val_x, val_y, head)
            print(f"iter {it}: val bce {m['bce']:.4f}, mse {m['mse']:.4f}, codes used {m['codes_used']}/{num_codes}, "
                  f"perplexity {m['perplexity']:.1f}, " + (f"label read from the codes {m['label_accuracy']:.4f}, "
                                                           if head else '') + f"{time.time() - t0:.0f}s")
            atomic_save(training_state(), last_path)
        if it >= max_iters:
            break
        lr = min_lr + 0.5 * (learning_rate - min_lr) * (1 + math.cos(math.pi * it / max_iters))
        for g in opt.param_groups:
            g['lr'] = lr
        batch = torch.randint(len(train_x), (batch_size,), generator=gen).to(dev)
        x = train_x[batch]
        if augment and it < augment_until * max_iters:
            turns = (torch.rand(batch_size, generator=gen) * 2 - 1) * max_rotate
            shifts = (torch.rand(batch_size, 2, generator=gen) * 2 - 1) * max_shift
            still = torch.rand(batch_size, generator=gen) >= augment  # these are learnt as they are
            turns[still], shifts[still] = 0, 0
            x = moved(x, turns.to(dev), shifts.to(dev))
        with ctx:
            logits, _, commit, grid = model(x)
            guess = head(grid).float() if head else None
        logits = logits.float()
        # binary cross-entropy on intensities: sigmoid + MSE collapses to a blank image on MNIST
        loss = F.binary_cross_entropy_with_logits(logits, x) + commitment * commit
        if head:
            loss = loss + label_term * F.cross_entropy(guess, train_y[batch])
        if features is not None:
            loss = loss + perceptual * perceptual_loss(features, torch.sigmoid(logits), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        it += 1
        if it % log_interval == 0 and it % eval_interval and it < max_iters:
            print(f"iter {it}: train loss {loss.item():.4f}, {time.time() - t0:.0f}s")
        if stop.requested():
            atomic_save(training_state(), last_path)
            print(f"stopped by {stop.name} at iteration {it}: saved {last_path}; "
                  "continue with --init_from=resume (or make vqvae)")
            raise SystemExit(stop.exit_code)
    atomic_save(dict(model=model.state_dict(), model_args=model_args, config=config, iter_num=it, val=m), ckpt_path)
    run_record(os.path.join(out_dir, 'run.json'), config, source_files(dataset), m)
    print(f"saved {ckpt_path} ({time.time() - t0:.0f}s)")


if __name__ == '__main__':
    main()
