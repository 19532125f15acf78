"""The one loader of a trained run: its GPT, the data's vocabulary and tasks, and the VQ-VAE that
wrote the data, checked to belong together (nanoVLM's VisionLanguageModel, in our terms).

    vlm = VLM.load('out/mnist_vlm')        # ckpt.pt; ckpt='ckpt_700.pt' for a snapshot
    vlm.gpt, vlm.vq, vlm.meta, vlm.tasks, vlm.ckpt, vlm.image_input
    codes, images, ok = vlm.draw(labels, temperature=1.0)
    seen, labels = vlm.inputs('test')      # what the run reads: letters, or pixels (nanogpt/vision.py)
    pred = vlm.read(seen)

vlm.gpt is the GPT, or a PixelGPT (the GPT and an image encoder) for a run that reads pixels.

The chain it checks: the checkpoint names its data (config['dataset'], nanoGPT's key:
data/<dataset>/) and records the SHA-256 of that meta.json; meta.json names the VQ-VAE that
wrote its letters and records that file's SHA-256. A link that does not hold is one line
naming both files.
"""
import glob
import os
import re

import numpy as np
import torch

from common.files import file_sha256
from data.mnist_vlm.decode import image_input_of
from data.mnist_vlm.format import load_meta
from data.mnist_vlm.tasks import DRAW, READ, TEXT, get_tasks
from nanogpt.dataloader import load_text_ids
from nanogpt.vision import load_model
from vqvae.model import load_vqvae

RUN_DIR = 'out/mnist_vlm'  # where `make train` puts the default run, and where every CLI looks first


def data_dir_of(dataset):
    """nanoGPT's convention: a dataset name is a folder under data/ (an absolute path works too)."""
    return os.path.join('data', dataset)


def snapshots(out_dir):
    """(iteration, path) of every ckpt_<iter>.pt in a run folder, in order."""
    found = [(int(m.group(1)), p) for p in glob.glob(os.path.join(out_dir, 'ckpt_*.pt'))
             if (m := re.search(r'ckpt_(\d+)\.pt$', p))]
    return sorted(found)


def check_data(ckpt, ckpt_path, data_dir, meta):
    """Refuse a checkpoint and a data folder that do not belong together."""
    meta_path = os.path.join(data_dir, 'meta.json')
    if ckpt['model_args']['vocab_size'] != meta['vocab_size']:
        raise SystemExit(f"error: {ckpt_path} was trained on a vocabulary of {ckpt['model_args']['vocab_size']} "
                         f"characters but {meta_path} has {meta['vocab_size']}; use the data it was trained on, "
                         "or train from scratch")
    want = ckpt.get('meta_sha256')
    if want and want != file_sha256(meta_path):
        raise SystemExit(f"error: {ckpt_path} was trained on other data than {meta_path} holds now (its SHA-256 "
                         "differs from the one the checkpoint recorded); rebuild the data it was trained on, or retrain")


def load_checked_vqvae(meta, data_dir, device='cpu'):
    """The VQ-VAE that wrote the data's letters, refused when it is another one."""
    path, want = meta['vqvae']['path'], meta['vqvae']['sha256']
    if os.path.exists(path) and file_sha256(path) != want:
        raise SystemExit(f"error: {path} is not the VQ-VAE that wrote {data_dir}/meta.json (its SHA-256 differs "
                         "from the one the data recorded); rebuild the data with `make data`, or restore that tokenizer")
    return load_vqvae(path, device)


class VLM:

    def __init__(self, gpt, ckpt, meta, vq, *, out_dir, data_dir, device):
        self.gpt, self.ckpt, self.meta, self.vq = gpt, ckpt, meta, vq
        self.out_dir, self.data_dir, self.device = out_dir, data_dir, device

    @classmethod
    def load(cls, out_dir=RUN_DIR, *, ckpt='ckpt.pt', device='cpu', vqvae=True):
        path = os.path.join(out_dir, ckpt)
        gpt, ck = load_model(path, device)
        dataset = (ck.get('config') or {}).get('dataset')
        if not dataset:
            raise SystemExit(f"error: {path} names no dataset (an older checkpoint); retrain it with `make train`")
        data_dir = data_dir_of(dataset)
        meta = load_meta(data_dir)
        check_data(ck, path, data_dir, meta)
        vq = load_checked_vqvae(meta, data_dir, device) if vqvae else None
        return cls(gpt, ck, meta, vq, out_dir=out_dir, data_dir=data_dir, device=device)

    @property
    def tasks(self):
        return get_tasks(self.meta['tasks'])

    @property
    def image_input(self):
        return image_input_of(self.gpt)

    def snapshots(self):
        return snapshots(self.out_dir)

    def snapshot(self, path):
        """Another checkpoint of this run (a ckpt_<iter>.pt), checked against the same data."""
        gpt, ck = load_model(path, self.device)
        check_data(ck, path, self.data_dir, self.meta)
        return gpt, ck

    def split(self, name, key='codes'):
        """Image codes (or, key='images', pixels) and labels of the 'val' or 'test' images, as prepared."""
        path = os.path.join(self.data_dir, f'{name}.npz')
        if not os.path.exists(path):
            raise SystemExit(f"error: {path} not found; prepare the data first with `make data`")
        d = np.load(path)
        if key not in d:
            raise SystemExit(f"error: {path} holds no {key} (older data); rebuild the data with `make data`")
        return d[key], d['labels']

    def inputs(self, name):
        """What this run reads of the 'val' or 'test' images, and their labels: codes, or pixels (N, 28, 28)."""
        return self.split(name, 'codes' if self.image_input == 'letters' else 'images')

    def encode(self, images):
        """uint8 images (N, 28, 28) -> image codes (N, T)."""
        return self.vq.encode(torch.from_numpy(np.array(images)).to(self.device)).cpu().numpy()

    def reading_input(self, images):
        """uint8 images (N, 28, 28) -> what this run reads of them: their codes, or the pixels themselves."""
        return self.encode(images) if self.image_input == 'letters' else np.asarray(images)

    def read(self, seen, gpt=None):
        """The label index (0-9) read from each image (the reading task, constrained to the ten labels);
        seen: what the run reads of the images (vlm.inputs, vlm.reading_input)."""
        return READ.predict(gpt or self.gpt, seen, self.meta, device=self.device)

    def bits_per_char(self, gpt=None):
        """Bits per character on all of the held-out text mixed in (data prepared with text=...)."""
        return TEXT.bits_per_char(gpt or self.gpt, load_text_ids(self.data_dir, 'val'), self.meta['seq_len'],
                                  device=self.device)

    def draw(self, labels, gpt=None, **sampling):
        """One image per label: codes (N, T), uint8 images (N, 28, 28), and which rows are well formed.
        sampling: the keyword options of tasks.Drawing.generate (temperature, top_k, guidance, seed, ...)."""
        codes = DRAW.generate(gpt or self.gpt, labels, self.meta, device=self.device, **sampling)
        return (codes, *self.decode(codes))

    @torch.no_grad()
    def decode(self, codes):
        """Drawn codes (N, T) -> uint8 images (N, 28, 28) by the VQ-VAE, and which rows are well formed (the
        others, holding a character that is not an image letter, stay black)."""
        ok = (codes >= 0).all(1)
        images = np.zeros((len(codes), 28, 28), dtype=np.uint8)
        if ok.any():
            decoded = self.vq.decode(torch.from_numpy(codes[ok]).to(self.device)).cpu().numpy()
            images[ok] = np.round(decoded * 255).astype(np.uint8)
        return images, ok
