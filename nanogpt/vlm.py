"""The VLM: one nn.Module that owns a trained run's parts, and the run folder that holds them.

    vlm = VLM.from_pretrained('out/mnist_letters')      # any copy of a run folder, from anywhere
    vlm.read(pictures)                                  # uint8 (N, 28, 28) -> label indices
    codes, images, ok = vlm.draw([7, 7, 3])             # drawn pictures of these labels
    vlm.caption(pictures), vlm.ask([a, b], 'what is their sum?')    # a run that learnt them (TASKS=all)
    vlm.generate(idx, 20), vlm(idx, targets)            # the GPT, pictures read where placeholders stand
    vlm.save_pretrained('somewhere/else')

Its parts (nanoVLM's VisionLanguageModel, in small): the tokenizer (the VQ-VAE that writes and draws
pictures as letters, vqvae/model.py), the image encoder of a run that reads pixels (nanogpt/vision.py;
None for letters), nanoGPT's GPT (nanogpt/model.py) and the vocabulary (the data's meta.json).

A run folder is self-contained: config.json (the parts' shapes, the run's config, and the SHA-256 of
every other file), model.safetensors (GPT and encoder), tokenizer.safetensors and vocab.json. It
loads from anywhere, without data/ or the tokenizer's folder. Beside them train writes nanoGPT's
ckpt.pt (its keys and parameter names, `dataset` naming data/<dataset>/meta.pkl, for nanoGPT's own
sample.py), last.pt (the training state, for resume) and ckpt_<iter>.pt snapshots.
"""
import copy
import glob
import hashlib
import json
import os
import re
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn

from common.files import atomic_write, file_sha256, load_checkpoint, write_json
from nanogpt.engine import Engine
from nanogpt.model import GPT, GPTConfig
from nanogpt.vision import ImageEncoder
from tasks import get_tasks
from tasks.base import placeholder
from tasks.caption import CAPTION
from tasks.draw import DRAW
from tasks.question import QUESTION
from tasks.read import READ
from tasks.vocab import image_token_id, letters
from vqvae.model import VQVAE, VQVAEConfig, load_vqvae, per_row

FORMAT = 'mnist-vlm run 1'  # config.json's format: a run of another format is refused, saying which it is
FILES = ('model.safetensors', 'tokenizer.safetensors', 'vocab.json')  # what config.json checks by SHA-256

# what a model reads of pictures: the text that stands for each (its letters, or its placeholders), and for a model
# that reads pixels the pictures themselves or the image encoder's vectors of them (see()); None for letters
Seen = namedtuple('Seen', 'texts images')


def snapshots(out_dir):
    """(iteration, path) of every ckpt_<iter>.pt in a run folder, in order."""
    found = [(int(m.group(1)), p) for p in glob.glob(os.path.join(out_dir, 'ckpt_*.pt'))
             if (m := re.search(r'ckpt_(\d+)\.pt$', p))]
    return sorted(found)


def load_tokenizer(meta, data_dir, device='cpu'):
    """The tokenizer that wrote a data folder's letters (meta.json names it), refused when it is another one."""
    path, want = meta['vqvae']['path'], meta['vqvae']['sha256']
    if os.path.exists(path) and file_sha256(path) != want:
        raise SystemExit(f"error: {path} is not the tokenizer that wrote {data_dir}/meta.json (its SHA-256 differs "
                         "from the one the data recorded); rebuild the data with `make data`, or restore that "
                         "tokenizer")
    return load_vqvae(path, device)


class VLM(nn.Module):

    def __init__(self, gpt, tokenizer, vocab, encoder=None, info=None):
        super().__init__()
        self.gpt, self.encoder, self.tokenizer = gpt, encoder, tokenizer.requires_grad_(False).eval()
        self.vocab, self.config, self.info = vocab, gpt.config, dict(info or {})
        self.image_token = image_token_id(vocab)

    def train(self, mode=True):
        super().train(mode)
        self.tokenizer.eval()  # the tokenizer is part of the run, never trained with it
        if self.encoder is not None and not any(p.requires_grad for p in self.encoder.parameters()):
            # a pretrained encoder reads frozen as it was measured: its batch norm by its running statistics, which
            # the GPT's batches would otherwise go on moving
            self.encoder.eval()
        return self

    @property
    def image_input(self):
        return 'letters' if self.encoder is None else self.encoder.mode

    @property
    def tasks(self):
        return get_tasks(self.vocab['tasks'])

    @property
    def device(self):
        return str(next(self.gpt.parameters()).device)

    # -- the GPT, reading pictures where their placeholders stand ------------------------------------------------

    def embed(self, idx, images, image_rows=None):
        """Token embeddings of idx with the encoder's vectors where the placeholders stand. images: uint8
        (B, P, S, S[, 3]) (or (B, S, S[, 3])), or the encoder's vectors of them, float (B, P, V, n_embd) (or
        (B, V, n_embd)) as see() gives them; image_rows: how many of them each row shows (all P when None)."""
        given = images.is_floating_point()
        pics = (images if images.dim() == 4 else images[:, None]) if given else per_row(images)
        if image_rows is None:
            pics = pics.flatten(0, 1)
        else:
            pics = pics[torch.arange(pics.shape[1], device=pics.device)[None] < image_rows[:, None].to(pics.device)]
        mask = idx == self.image_token
        x = self.gpt.transformer.wte(idx.masked_fill(mask, 0))
        if self.encoder is None or len(pics) == 0:
            if mask.any():
                raise ValueError("the rows hold picture placeholders but no pictures to put there")
            return x
        vectors = pics if given else self.encode_pictures(pics)
        if vectors.shape[0] * vectors.shape[1] != int(mask.sum()):
            raise ValueError(f"{int(mask.sum())} placeholders in the rows, but {len(pics)} pictures of "
                             f"{vectors.shape[1]} vectors each")
        return x.masked_scatter(mask[..., None], vectors.to(x.dtype))

    def forward(self, idx, targets=None, caches=None, pos0=0, all_logits=False, images=None, image_rows=None):
        """GPT.forward, with the pictures of `images` read where the rows' placeholders stand."""
        if images is None:
            return self.gpt(idx, targets, caches, pos0, all_logits)
        if pos0:
            raise ValueError("pictures are read in the first pass over a record, from its start")
        return self.gpt(idx, targets, caches, pos0, all_logits, embeds=self.embed(idx, images, image_rows))

    def generate(self, idx, max_new_tokens, *, images=None, **sampling):
        """GPT.generate, the prompt's pictures read in its first, cached, pass."""
        embeds = None if images is None else self.embed(idx, images)
        return self.gpt.generate(idx, max_new_tokens, embeds=embeds, **sampling)

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        return GPT.configure_optimizers(self, weight_decay, learning_rate, betas, device_type)  # trainable parts only

    def get_num_params(self, non_embedding=True):
        return self.gpt.get_num_params(non_embedding) + (sum(self.encoder.counts().values()) if self.encoder else 0)

    # -- what people ask of it -----------------------------------------------------------------------------------

    def engine(self):
        return Engine(self, self.vocab, self.device)

    @torch.no_grad()
    def encode(self, pictures, batch=2000):
        """uint8 pictures (N, S, S[, 3]) -> the tokenizer's codes (N, T)."""
        x = torch.from_numpy(np.array(pictures))  # a writable copy: torch warns on read-only buffers
        out = [self.tokenizer.encode(x[i:i + batch].to(self.device)).cpu() for i in range(0, len(x), batch)]
        return torch.cat(out).numpy() if out else np.zeros((0, self.vocab['tokens_per_image']), dtype=np.int64)

    def encode_pictures(self, pics):
        """The image encoder's vectors (N, V, n_embd) of uint8 pictures (N, S, S[, 3]). The GPT learns from one view
        of each picture (moved by train's pixel_shift) and reads with all of the encoder's views (nanogpt/vision.py)."""
        return self.encoder(pics, 1 if self.training else None)

    @torch.no_grad()
    def see(self, pictures, batch=2000):
        """What this run reads of pictures (uint8 (N, S, S[, 3])): their letters, or placeholders and the image
        encoder's vectors of them (N, V, n_embd), float32: each picture encoded once, however many prompts show it
        (an evaluation asks six questions of each)."""
        if self.encoder is None:
            return Seen([letters(c, self.vocab) for c in self.encode(pictures)], None)
        x = torch.from_numpy(np.array(pictures))  # a writable copy: torch warns on read-only buffers
        out = [self.encode_pictures(x[i:i + batch].to(self.device)).float().cpu() for i in range(0, len(x), batch)]
        vectors = torch.cat(out).numpy() if out else \
            np.zeros((0, self.encoder.per_picture, self.config.n_embd), dtype=np.float32)
        return Seen([self.vocab['image_token'] * self.encoder.per_picture] * len(pictures), vectors)

    @torch.no_grad()
    def decode(self, codes):
        """Drawn codes (N, T) -> uint8 pictures (N, S, S[, 3]) by the tokenizer, and which rows are well formed (the
        others, holding a character that is not an image letter, stay black)."""
        ok = (codes >= 0).all(1)
        images = np.zeros((len(codes), *self.tokenizer.picture_shape), dtype=np.uint8)
        if ok.any():
            decoded = self.tokenizer.decode(torch.from_numpy(codes[ok]).to(self.device)).cpu().numpy()
            images[ok] = np.round(decoded * 255).astype(np.uint8)
        return images, ok

    def needs(self, task):
        if task.name not in self.vocab['tasks']:
            raise SystemExit(f"error: {self.info.get('out_dir', 'this run')} did not learn the {task.name} task (its "
                             f"tasks: {', '.join(self.vocab['tasks'])}); train one that did (`make all TASKS=all`)")

    def read_scores(self, pictures):
        """Log-likelihood (N, labels) of each label for each picture: the read task, constrained to the labels."""
        self.needs(READ)
        return READ.scores(self.engine(), self.see(pictures))

    def read(self, pictures):
        """The label index read from each picture."""
        return self.read_scores(pictures).argmax(1).numpy()

    def draw(self, labels, **sampling):
        """One picture per label index: codes (N, T), uint8 pictures (N, S, S[, 3]) and which rows are well formed.
        sampling: Engine.draw's options (temperature, top_k, guidance, seed, ...)."""
        self.needs(DRAW)
        if len(labels) and not 0 <= min(labels) <= max(labels) < len(self.vocab['labels']):
            raise SystemExit(f"error: label indices {min(labels)}-{max(labels)} asked, and the run has "
                             f"{len(self.vocab['labels'])} labels")
        codes = DRAW.generate(self.engine(), labels, **sampling)
        return (codes, *self.decode(codes))

    def caption(self, pictures):
        """A caption of each picture, greedy (None where it wrote past the record's end)."""
        self.needs(CAPTION)
        seen = self.see(pictures)
        prompts = [CAPTION.prompt(p) for p in seen.texts]
        return self.engine().complete(prompts, self.vocab['seq_len'] - len(prompts[0]), seen.images)

    def ask(self, pictures, question):
        """The answer, greedy, to a question about one picture or two (uint8 (P, S, S[, 3]))."""
        self.needs(QUESTION)
        seen = self.see(pictures)
        prompt = QUESTION.prompt(seen.texts, question.strip())
        as_letters = QUESTION.prompt([placeholder(self.vocab, 0).picture] * len(seen.texts), question.strip())
        if len(as_letters) >= self.vocab['seq_len']:  # records are as long as their letters make them
            raise SystemExit(f"error: the question is {len(question.strip())} characters; with its pictures a record "
                             f"holds {self.vocab['seq_len']}: ask a shorter one, like 'is it even?'")
        images = None if seen.images is None else seen.images[None]
        return self.engine().complete([prompt], self.vocab['seq_len'] - len(prompt), images)[0]

    # -- checkpoints and run folders -----------------------------------------------------------------------------

    def weights(self):
        """The trained parts as a checkpoint holds them: the GPT under `model` (nanoGPT's keys), an encoder beside."""
        if self.encoder is None:
            return dict(model=self.gpt.state_dict())
        return dict(model=self.gpt.state_dict(), encoder=self.encoder.state_dict(), encoder_args=self.encoder.args)

    def load_weights(self, ckpt, path):
        """The GPT (and encoder) weights of a checkpoint dict into this VLM's parts, or one line."""
        try:
            if ('encoder_args' in ckpt) != (self.encoder is not None) or (
                    self.encoder is not None and ckpt['encoder_args'] != self.encoder.args):
                raise ValueError('it reads pictures another way')
            # checkpoints of torch.compile'd models carry this prefix on every key
            self.gpt.load_state_dict({k.removeprefix('_orig_mod.'): v for k, v in ckpt['model'].items()})
            if self.encoder is not None:
                self.encoder.load_state_dict(ckpt['encoder'])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise SystemExit(f"error: {path} does not hold this run's model ({type(e).__name__}: "
                             f"{' '.join(str(e).split())[:80]})")
        return self

    def snapshot(self, path):
        """This run at another checkpoint (a ckpt_<iter>.pt): its own GPT and encoder, the same tokenizer."""
        ckpt = load_checkpoint(path, 'checkpoint', 'retrain the run', self.device)
        other = VLM(copy.deepcopy(self.gpt), self.tokenizer, self.vocab, copy.deepcopy(self.encoder), self.info)
        return other.load_weights(ckpt, path).eval(), ckpt

    def save_pretrained(self, out_dir, **info):
        """Write the run folder's config.json, model.safetensors, tokenizer.safetensors and vocab.json; config.json
        last, with every other file's SHA-256. info: what the run says of itself (its config, iteration, ...)."""
        from safetensors.torch import save
        gpt = {k: v for k, v in self.gpt.state_dict().items() if k != 'lm_head.weight'}  # tied to the embedding
        parts = {f'gpt.{k}': v for k, v in gpt.items()}
        if self.encoder is not None:
            parts.update({f'encoder.{k}': v for k, v in self.encoder.state_dict().items()})
        blobs = {'model.safetensors': save({k: v.detach().cpu().contiguous() for k, v in parts.items()}),
                 'tokenizer.safetensors': save({k: v.detach().cpu().contiguous()
                                                for k, v in self.tokenizer.state_dict().items()}),
                 'vocab.json': json.dumps(self.vocab, indent=1, ensure_ascii=False).encode('utf-8')}
        config = dict(format=FORMAT, gpt=vars(self.gpt.config).copy(),
                      encoder=None if self.encoder is None else self.encoder.args,
                      tokenizer=dict(vars(self.tokenizer.config), dataset=self.tokenizer.dataset),
                      image_input=self.image_input, **{**self.info, **info},
                      files={name: hashlib.sha256(b).hexdigest() for name, b in blobs.items()})
        config.pop('out_dir', None)  # where a run lies is no property of the run
        config['sha256'] = config_sha256(config)
        for name, blob in blobs.items():
            atomic_write(os.path.join(out_dir, name), lambda f: f.write(blob))
        write_json(os.path.join(out_dir, 'config.json'), config)

    @classmethod
    def from_pretrained(cls, out_dir, device='cpu'):
        """The VLM of a run folder, every file checked against config.json; every problem one line."""
        from safetensors.torch import load
        config = read_run_config(out_dir)
        blobs = {}
        for name in FILES:
            path = os.path.join(out_dir, name)
            try:
                with open(path, 'rb') as f:
                    blobs[name] = f.read()
            except OSError as e:
                raise SystemExit(f"error: {path} is missing or unreadable ({e.strerror or e}); copy the whole run "
                                 "folder, or retrain it")
            if hashlib.sha256(blobs[name]).hexdigest() != config['files'].get(name):
                raise SystemExit(f"error: {path} was changed or damaged: its SHA-256 is not the one "
                                 f"{out_dir}/config.json recorded; restore it from the run, or retrain")
        what = 'its parts'
        try:
            vocab = json.loads(blobs['vocab.json'])
            vocab['itos'] = {int(i): c for i, c in vocab['itos'].items()}
            what = 'its GPT'
            gpt = GPT(GPTConfig(**config['gpt']))
            weights = load(blobs['model.safetensors'])
            state = {k[4:]: v for k, v in weights.items() if k.startswith('gpt.')}
            state['lm_head.weight'] = state['transformer.wte.weight']
            gpt.load_state_dict(state)
            what = 'its image encoder'
            encoder = None
            if config['encoder'] is not None:
                encoder = ImageEncoder(**config['encoder'])
                encoder.load_state_dict({k[8:]: v for k, v in weights.items() if k.startswith('encoder.')})
            what = 'its tokenizer'
            tok_args = dict(config['tokenizer'])
            dataset = tok_args.pop('dataset')
            tokenizer = VQVAE(VQVAEConfig(**tok_args))
            tokenizer.load_state_dict(load(blobs['tokenizer.safetensors']))
            tokenizer.dataset = dataset
        except SystemExit:
            raise
        except Exception as e:  # files that passed their checksums but this code cannot build: say which part
            raise SystemExit(f"error: {out_dir} holds a run this code cannot load ({what}: {type(e).__name__}: "
                             f"{' '.join(str(e).split())[:100]}); retrain it with this code")
        info = {k: v for k, v in config.items()
                if k not in ('format', 'gpt', 'encoder', 'tokenizer', 'image_input', 'files', 'sha256')}
        vlm = cls(gpt, tokenizer, vocab, encoder, dict(info, out_dir=out_dir))
        return vlm.to(device).eval()


def config_sha256(config):
    """The checksum config.json carries of its own content (every key but `sha256`)."""
    body = json.dumps({k: v for k, v in config.items() if k != 'sha256'}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode('utf-8')).hexdigest()


def read_run_config(out_dir):
    """A run folder's config.json, checked to be one this code reads and unedited; or one line that says why not."""
    path = os.path.join(out_dir, 'config.json')
    if not os.path.isdir(out_dir):
        raise SystemExit(f"error: {out_dir} is not a folder; pass the folder of a trained run (e.g. out/mnist_letters)")
    if not os.path.exists(path):
        old = os.path.exists(os.path.join(out_dir, 'ckpt.pt'))
        raise SystemExit(f"error: {out_dir} is not a run folder: it has no config.json" + (
            " (its ckpt.pt is from an older version of mnist-vlm, or from a run that has not saved yet); retrain it "
            "with `make train`" if old else "; pass the folder `make train` wrote (out/<dataset>_<input>)"))
    try:
        with open(path, encoding='utf-8') as f:
            config = json.load(f)
        if not isinstance(config, dict):
            raise ValueError('not a JSON object')
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise SystemExit(f"error: {path} is not readable JSON ({type(e).__name__}); restore it from the run, or "
                         "retrain")
    if config.get('format') != FORMAT:
        raise SystemExit(f"error: {out_dir} is a run of format {config.get('format')!r}, and this code reads "
                         f"{FORMAT!r}; load it with the code that wrote it (its git_commit), or retrain it")
    if config.get('sha256') != config_sha256(config):
        raise SystemExit(f"error: {path} was edited: it no longer matches the checksum it was written with; restore "
                         "it from the run, or retrain")
    missing = [k for k in ('gpt', 'encoder', 'tokenizer', 'files') if k not in config]
    if missing:
        raise SystemExit(f"error: {path} lacks {', '.join(missing)}; restore it from the run, or retrain")
    return config

