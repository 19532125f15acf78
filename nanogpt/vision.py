"""A second way to see: image encoders whose vectors stand where a picture's letters stood.

    python -m nanogpt.train config/train_mnist_vlm.py config/image_cnn.py    # or `make all IMAGE_INPUT=cnn`

`image_input` (a config key of nanogpt/train.py) says how the GPT sees the picture of a reading record:
    letters  the VQ-VAE's letters, as text (nanoGPT unchanged: the default)
    patches  the 28x28 image cut into a grid of patches, each projected by one linear layer (Fuyu)
    cnn      a small conv net trained with the GPT from scratch, projected by a 1x1 convolution
    frozen   the VQ-VAE's encoder (trained on pixels alone, without labels, like the pretrained encoders of
             the big VLMs), frozen; its last hidden features through a trainable two-layer MLP projector

Every encoder writes one vector per image letter, on the grid the letters come from (4x4 or 7x7,
row-major), so a record keeps its layout and the loader its batches: the vectors replace the
embeddings of the letters' places (placeholders, as nanoVLM's image tokens), and the GPT adds its
position embeddings as usual. Or (image_vectors=1) one vector per picture, as the multimodal nanoGPT
on Fashion-MNIST does: the record keeps its placeholders, and PixelGPT cuts all but the first out of
the rows that read pixels before the GPT sees them (a 73-character Fashion-MNIST reading record
costs 25 positions), then lays the logits back where the record's characters are. Drawing stays
discrete (Janus's decoupling): a drawing record is letters in and letters out, decoded by the VQ-VAE.

A checkpoint keeps the GPT under `model` in nanoGPT's layout; the encoder and projector are under
`encoder`, their shape under `encoder_args`.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from data.mnist_vlm.tasks import READ
from nanogpt.model import GPT, load_gpt
from vqvae.model import VQVAE, VQVAEConfig

IMAGE_INPUTS = ('letters', 'patches', 'cnn', 'frozen')


def check_image_input(name):
    if name not in IMAGE_INPUTS:
        raise SystemExit(f"error: image_input={name!r} is unknown; use one of {', '.join(IMAGE_INPUTS)}")


class ImageEncoder(nn.Module):
    """uint8 images (B, 28, 28) -> vectors (B, tokens, n_embd): one per cell of the letters' grid (vectors=0),
    or one for the whole picture (vectors=1)."""

    def __init__(self, mode, n_embd, tokens_per_image, width=64, vq_args=None, vectors=0):
        super().__init__()
        side = math.isqrt(tokens_per_image)
        if side not in (4, 7) or side * side != tokens_per_image:
            raise SystemExit(f"error: image_input={mode!r} writes a 4x4 or 7x7 grid of vectors, but the data has "
                             f"{tokens_per_image} letters per image; use a conv tokenizer of 16 or 49 tokens")
        if vectors not in (0, 1):
            raise SystemExit(f"error: image_vectors={vectors!r}: use 0 (one vector per image letter) or 1 (one per "
                             "picture)")
        self.mode, self.letters, self.tokens = mode, tokens_per_image, vectors or tokens_per_image
        if mode == 'patches':
            self.net = nn.Identity()
            grid = nn.Conv2d(1, n_embd, 28 // side, 28 // side)  # a stride-p conv is one linear map per patch
        elif mode == 'cnn':
            w = width

            def conv(c_in, c_out, stride):  # batch norm: the encoder learns in the few epochs a CPU run affords
                return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.GELU()]
            layers = conv(1, w // 2, 2) + conv(w // 2, w, 1) + conv(w, w, 2)  # 28->14 at once (half the time), ->7
            if side == 4:
                layers += conv(w, w, 2)  # 7->4
            self.net = nn.Sequential(*layers)
            grid = nn.Conv2d(w, n_embd, 1)
        elif mode == 'frozen':
            if not vq_args or vq_args.get('encoder') != 'conv' or vq_args.get('tokens_per_image') != tokens_per_image:
                raise SystemExit("error: image_input='frozen' needs the conv VQ-VAE that wrote the data's letters; "
                                 "rebuild the data with a conv tokenizer (`make vqvae data`)")
            # the VQ-VAE's encoder up to its last hidden layer: the latents it quantizes are a linear map of these
            self.net = VQVAE(VQVAEConfig(**vq_args)).encoder[:-1]
            self.net.requires_grad_(False)
            hidden = vq_args['hidden']
            grid = nn.Sequential(nn.Conv2d(hidden, n_embd, 1), nn.GELU(), nn.Conv2d(n_embd, n_embd, 1))
        else:
            check_image_input(mode)
            raise SystemExit("error: image_input='letters' has no encoder: the GPT reads the letters")
        if vectors == 1:  # the whole feature map through one linear layer (an MLP for the frozen encoder's)
            with torch.no_grad():
                features = self.net(torch.zeros(1, 1, 28, 28)).numel()
            mlp = [nn.GELU(), nn.Linear(n_embd, n_embd)] if mode == 'frozen' else []
            self.proj = nn.Sequential(nn.Flatten(), nn.Linear(features, n_embd), *mlp)
        else:
            self.proj = grid
        self.args = dict(mode=mode, n_embd=n_embd, tokens_per_image=tokens_per_image, width=width, vq_args=vq_args,
                         vectors=vectors)

    @classmethod
    def from_vqvae(cls, vq, n_embd, vectors=0):
        """The 'frozen' encoder, its weights those of a trained VQ-VAE."""
        enc = cls('frozen', n_embd, vq.config.tokens_per_image, vq_args=dict(vars(vq.config)), vectors=vectors)
        enc.net.load_state_dict(vq.encoder[:-1].state_dict())
        return enc

    def forward(self, images):
        if images.shape[-2:] != (28, 28):
            raise ValueError(f"the encoder reads 28x28 images, not {tuple(images.shape[-2:])}")
        x = images.float()[:, None] / 255
        out = self.proj(self.net(x))
        return out[:, None] if out.dim() == 2 else out.flatten(2).transpose(1, 2)

    def counts(self):
        """Parameters of the encoder and of the projector (the frozen encoder's are not trained)."""
        return dict(encoder=sum(p.numel() for p in self.net.parameters()),
                    projector=sum(p.numel() for p in self.proj.parameters()))


def shift_images(images, shifts):
    """Each image moved by its (dy, dx) pixels, the space it leaves black (augmentation of what an encoder reads)."""
    m = int(shifts.abs().max()) if len(shifts) else 0
    if m == 0:
        return images
    padded = F.pad(images, (m, m, m, m))
    return torch.stack([padded[i, m - dy:m - dy + 28, m - dx:m - dx + 28] for i, (dy, dx) in enumerate(shifts.tolist())])


def pixel_draws(shape, gen, letters_share, pixel_shift, pixel_flip=False):
    """The random choices of a step's rows (shape: its indices'), drawn at once so that DDP processes taking
    their slices see what one process sees: which reading rows read pixels (not letters), each shift, and
    (pixel_flip) which pictures are mirrored. Without pixel_flip no flip is drawn: the stream stays as it was."""
    keep = torch.rand(shape, generator=gen) >= letters_share
    shifts = torch.randint(-pixel_shift, pixel_shift + 1, (*shape, 2), generator=gen)
    flips = torch.rand(shape, generator=gen) < 0.5 if pixel_flip else torch.zeros(shape, dtype=torch.bool)
    return keep, shifts, flips


def see_pixels(y, pics, rows, meta, *, keep=None, shifts=None, flips=None):
    """A batch's reading rows (`rows`, bool) that see their pictures (`pics`, uint8 (B, 28, 28)) as pixels.

    keep: which of them do (the others read their letters still); shifts: (B, 2) pixels to move each
    picture by; flips: (B,) which pictures to mirror left to right (all from pixel_draws). Returns the
    targets with the image letters of those rows ignored (they are not in the input: nothing to predict
    them from) and the keyword inputs of PixelGPT."""
    if keep is not None:
        rows = rows & keep
    if shifts is not None:
        pics = shift_images(pics, shifts)
    if flips is not None and flips.any():
        pics = torch.where(flips[:, None, None], pics.flip(-1), pics)
    y = y.clone()
    y[rows, READ.image_targets(meta)] = -1
    return y, dict(images=pics, image_rows=rows)


class PixelGPT(nn.Module):
    """nanoGPT's GPT reading pictures through an encoder (nanoVLM's VisionLanguageModel, in small).

    Called like GPT, plus `images` (B, 28, 28) uint8 and `image_rows` (which rows hold a picture at
    the reading record's image place; all of them when None). Without images it is the GPT itself:
    drawing, text and sample.py use it so. An encoder of fewer vectors than the picture has letters
    runs its rows with the spare placeholders cut out; the logits come back on the record's places.
    """

    def __init__(self, gpt, encoder):
        super().__init__()
        self.gpt, self.encoder = gpt, encoder
        self.config, self.image_input = gpt.config, encoder.mode
        self.slot = len(READ.prefix)  # 'image:' and then the picture's places
        self.spare = encoder.letters - encoder.tokens  # placeholders no vector stands in

    def embed(self, idx, images, rows=None, pos0=0):
        """The token embeddings of idx with the encoder's vectors at the picture's places of the chosen rows."""
        x = self.gpt.transformer.wte(idx)
        start, k = self.slot - pos0, self.encoder.tokens
        if start < 0 or start + k > idx.shape[1]:
            raise ValueError(f"the picture's places {self.slot}-{self.slot + k - 1} are not all in this pass")
        rows = torch.arange(len(idx), device=idx.device) if rows is None else rows.nonzero()[:, 0]
        vectors = self.encoder(images[rows]).to(x.dtype)
        places = torch.arange(start, start + k, device=idx.device)
        return x.index_put((rows[:, None], places[None, :]), vectors)

    def squeeze(self, idx):
        """idx without the spare placeholders, and where its logits go among idx's places: its last vector
        predicts what follows the picture, as the picture's last letter did."""
        end, T = self.slot + self.encoder.tokens, idx.shape[1]
        kept = torch.cat([torch.arange(end - 1), torch.arange(end - 1 + self.spare, T)]).to(idx.device)
        return torch.cat([idx[:, :end], idx[:, end + self.spare:]], 1), kept

    def forward(self, idx, targets=None, caches=None, pos0=0, all_logits=False, images=None, image_rows=None):
        if images is None:
            if caches and caches[0]:  # after a squeezed prompt the cache is shorter than the ids were
                pos0 = caches[0][0].shape[2]
            return self.gpt(idx, targets, caches, pos0, all_logits)
        if not self.spare:
            return self.gpt(idx, targets, caches, pos0, all_logits, embeds=self.embed(idx, images, image_rows, pos0))
        seeing = torch.ones(len(idx), dtype=torch.bool, device=idx.device) if image_rows is None else image_rows
        if not seeing.any():
            return self.gpt(idx, targets, caches, pos0, all_logits)
        if caches is not None and not seeing.all():
            raise ValueError("a cached pass reads pixels in every row or in none")
        rows, others = seeing.nonzero()[:, 0], (~seeing).nonzero()[:, 0]
        short, kept = self.squeeze(idx[rows])
        full = all_logits or targets is not None
        seen, _ = self.gpt(short, None, caches, pos0, full, embeds=self.embed(short, images[rows], pos0=pos0))
        logits = seen.new_zeros(len(idx), idx.shape[1] if full else 1, seen.shape[-1])
        logits = logits.index_put((rows[:, None], kept[None, :]) if full else (rows,), seen)
        if len(others):
            logits = logits.index_put((others,), self.gpt(idx[others], None, None, pos0, full)[0])
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-1)

    def generate(self, idx, max_new_tokens, *, images=None, **sampling):
        if images is None:
            return self.gpt.generate(idx, max_new_tokens, **sampling)
        short = self.squeeze(idx)[0] if self.spare else idx
        out = self.gpt.generate(short, max_new_tokens, embeds=self.embed(short, images), **sampling)
        return torch.cat([idx, out[:, short.shape[1]:]], 1)

    def get_num_params(self, non_embedding=True):
        return self.gpt.get_num_params(non_embedding) + sum(self.encoder.counts().values())

    configure_optimizers = GPT.configure_optimizers  # AdamW over every trainable parameter, encoder's included


def with_encoder(gpt, image_input, meta, *, width=64, vq=None, vectors=0):
    """The GPT as it will read pictures: itself for letters, else a PixelGPT with a new encoder ('frozen': vq's)."""
    check_image_input(image_input)
    if image_input == 'letters':
        return gpt
    if image_input == 'frozen':
        return PixelGPT(gpt, ImageEncoder.from_vqvae(vq, gpt.config.n_embd, vectors))
    return PixelGPT(gpt, ImageEncoder(image_input, gpt.config.n_embd, meta['tokens_per_image'], width, vectors=vectors))


def weights(model):
    """A model's part of a checkpoint: the GPT under `model` (nanoGPT's keys), an encoder under its own key."""
    if isinstance(model, PixelGPT):
        return dict(model=model.gpt.state_dict(), encoder=model.encoder.state_dict(), encoder_args=model.encoder.args)
    return dict(model=model.state_dict())


def attach_encoder(gpt, ckpt, path):
    """The GPT of a checkpoint with the encoder saved beside it, or the GPT alone for a letters run."""
    if 'encoder_args' not in ckpt:
        return gpt
    try:
        encoder = ImageEncoder(**ckpt['encoder_args'])
        encoder.load_state_dict(ckpt['encoder'])
    except (KeyError, TypeError, RuntimeError) as e:
        raise SystemExit(f"error: {path} holds no readable image encoder ({type(e).__name__}); retrain the run")
    return PixelGPT(gpt, encoder.to(next(gpt.parameters()).device)).eval()


def load_model(path, device='cpu'):
    """The model of a checkpoint (a GPT, or a PixelGPT where it reads pixels) and the checkpoint dict."""
    gpt, ckpt = load_gpt(path, device)
    return attach_encoder(gpt, ckpt, path), ckpt
