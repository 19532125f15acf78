"""A second way to see: image encoders whose vectors stand where a picture's placeholders stand.

    python -m nanogpt.train config/train_mnist_cnn.py    # or `make all IMAGE_INPUT=cnn`

`image_input` (a config key of nanogpt/train.py) says how the GPT sees the pictures a record opens with
(read, caption and question records, a two-picture question's both; drawing records write theirs as
letters):
    letters  the tokenizer's letters, as text (nanoGPT unchanged: the default)
    patches  the picture cut into a grid of patches, each projected by one linear layer (Fuyu)
    cnn      a small conv net trained with the GPT from scratch, projected by a 1x1 convolution
    frozen   the tokenizer's encoder (trained on pixels alone, without labels, like the pretrained encoders of
             the big VLMs), frozen; its last hidden features through a trainable two-layer MLP projector

An encoder writes one vector per cell of the letters' grid (4x4 or 7x7, row-major: image_vectors=0),
or one for the whole picture (image_vectors=1, as the multimodal nanoGPT on Fashion-MNIST does). A
record read as pixels holds one placeholder per vector ('image:□, number:5.', tasks/vocab.py), and the
VLM (nanogpt/vlm.py) swaps the vectors in where the placeholders stand, as nanoVLM swaps its image
embeddings in by mask; the GPT adds its position embeddings as usual. Drawing stays discrete (Janus's
decoupling): a drawing record is letters in and letters out, decoded by the tokenizer.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from vqvae.model import VQVAE, VQVAEConfig, channels_first, grids, picture_dims, shape_words

IMAGE_INPUTS = ('letters', 'patches', 'cnn', 'frozen')
# the moves (rows down, columns right) an encoder of encoder_views reads each picture at: as it is, then a pixel
# each way, then diagonally
VIEWS = {1: [(0, 0)], 5: [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],
         9: [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]}


def check_image_input(name):
    if name not in IMAGE_INPUTS:
        raise SystemExit(f"error: image_input={name!r} is unknown; use one of {', '.join(IMAGE_INPUTS)}")


class ImageEncoder(nn.Module):
    """uint8 pictures (B, S, S) grey or (B, S, S, 3) colour -> vectors (B, per_picture, n_embd): one per cell of
    the letters' grid (vectors=0), or one for the whole picture (vectors=1). side and channels: the dataset's."""

    def __init__(self, mode, n_embd, tokens_per_image, width=64, vq_args=None, vectors=0, side=28, channels=1,
                 depth=0, views=1, grid=0):
        super().__init__()
        if views not in VIEWS:
            raise SystemExit(f"error: encoder_views={views!r}: use 1 (the picture as it is), 5 (and moved a pixel "
                             "each way) or 9 (every move of up to a pixel)")
        g = math.isqrt(tokens_per_image)
        if g * g != tokens_per_image or g not in grids(side) or side % 4:
            raise SystemExit(f"error: image_input={mode!r} writes a grid of vectors of {side}x{side} pictures "
                             f"({' or '.join(f'{k}x{k}' for k in sorted(grids(side)))}), but the data has {tokens_per_image} "
                             f"letters per image; use a conv tokenizer of {' or '.join(str(k * k) for k in sorted(grids(side)))}"
                             " tokens")
        if vectors not in (0, 1):
            raise SystemExit(f"error: image_vectors={vectors!r}: use 0 (one vector per image letter) or 1 (one per "
                             "picture)")
        self.mode, self.per_picture = mode, vectors or tokens_per_image
        if mode == 'patches':
            self.net = nn.Identity()
            if side % g:
                raise SystemExit(f"error: image_input='patches' cuts {side}x{side} pictures into a {g}x{g} grid of "
                                 "equal patches, and they do not divide; use image_input='cnn'")
            cells = nn.Conv2d(channels, n_embd, side // g, side // g)  # a stride-p conv is one linear map per patch
        elif mode == 'cnn':
            if grid and (vectors != 1 or grid not in grids(side)):
                why = "and image_vectors=0 writes one per cell of the letters' grid" if vectors != 1 else f"not {grid}"
                raise SystemExit(f"error: encoder_grid={grid} sets the side of the last map of a 'cnn' encoder that "
                                 f"writes one vector per picture (image_vectors=1): "
                                 f"{' or '.join(map(str, sorted(grids(side))))} of {side}x{side} pictures, {why}; or "
                                 "leave it 0 (the letters' grid)")
            w = width

            def conv(c_in, c_out, stride):  # batch norm: the encoder learns in the few epochs a CPU run affords
                return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.GELU()]
            layers = conv(channels, w // 2, 2) + conv(w // 2, w, 1) + conv(w, w, 2)  # 28->14 at once (half the time), ->7
            for _ in range(depth):
                layers += conv(w, w, 1)  # deeper at a quarter of the side, where a layer costs a quarter of one at half
            for _ in grids(side)[1:grids(side).index(grid or g) + 1]:
                layers += conv(w, w, 2)  # 7->4
            self.net = nn.Sequential(*layers)
            cells = nn.Conv2d(w, n_embd, 1)
        elif mode == 'frozen':
            if not vq_args or vq_args.get('encoder') != 'conv' or vq_args.get('tokens_per_image') != tokens_per_image:
                raise SystemExit("error: image_input='frozen' needs the conv VQ-VAE that wrote the data's letters; "
                                 "rebuild the data with a conv tokenizer (`make vqvae data`)")
            # the VQ-VAE's encoder up to its last hidden layer: the latents it quantizes are a linear map of these
            self.net = VQVAE(VQVAEConfig(**vq_args)).encoder[:-1]
            self.net.requires_grad_(False)
            hidden = vq_args['hidden']
            cells = nn.Sequential(nn.Conv2d(hidden, n_embd, 1), nn.GELU(), nn.Conv2d(n_embd, n_embd, 1))
        else:
            check_image_input(mode)
            raise SystemExit("error: image_input='letters' has no encoder: the GPT reads the letters")
        if vectors == 1:  # the whole feature map through one linear layer (an MLP for the frozen encoder's)
            with torch.no_grad():
                features = self.net(torch.zeros(1, channels, side, side)).numel()
            mlp = [nn.GELU(), nn.Linear(n_embd, n_embd)] if mode == 'frozen' else []
            self.proj = nn.Sequential(nn.Flatten(), nn.Linear(features, n_embd), *mlp)
        else:
            self.proj = cells
        self.args = dict(mode=mode, n_embd=n_embd, tokens_per_image=tokens_per_image, width=width, vq_args=vq_args,
                         vectors=vectors, side=side, channels=channels, **({'depth': depth} if depth else {}),
                         **({'views': views} if views != 1 else {}), **({'grid': grid} if grid else {}))
        self.views = views
        self.picture_shape = (side, side) if channels == 1 else (side, side, channels)

    @classmethod
    def for_run(cls, mode, n_embd, tokens_per_image, tokenizer, width=64, vectors=0, depth=0, views=1, grid=0):
        """The encoder a run reading pictures by `mode` trains with, for the pictures its tokenizer writes (train's
        and bench's one builder): None for letters, the tokenizer's own encoder frozen, or a new one of its side
        and channels."""
        if depth and mode != 'cnn':
            raise SystemExit(f"error: encoder_depth={depth} deepens the 'cnn' encoder; image_input={mode!r} has no "
                             "layers to add: leave it 0")
        if grid and mode != 'cnn':
            raise SystemExit(f"error: encoder_grid={grid} sets the last map of the 'cnn' encoder; image_input={mode!r} "
                             "has none: leave it 0")
        if mode == 'letters':
            return None
        if mode == 'frozen':
            return cls.from_vqvae(tokenizer, n_embd, vectors, views)
        return cls(mode, n_embd, tokens_per_image, width, vectors=vectors, side=tokenizer.config.side,
                   channels=tokenizer.config.channels, depth=depth, views=views, grid=grid)

    @classmethod
    def from_vqvae(cls, vq, n_embd, vectors=0, views=1):
        """The 'frozen' encoder, its weights those of a trained VQ-VAE."""
        enc = cls('frozen', n_embd, vq.config.tokens_per_image, vq_args=dict(vars(vq.config)), vectors=vectors,
                  side=vq.config.side, channels=vq.config.channels, views=views)
        enc.net.load_state_dict(vq.encoder[:-1].state_dict())
        return enc

    def forward(self, images, views=None):
        """views: how many views of each picture to average (in evaluation), this encoder's own when None."""
        views = self.views if views is None else views
        if tuple(images.shape[1:]) != self.picture_shape:
            raise ValueError(f"the encoder reads {shape_words(self.picture_shape)} pictures, not "
                             f"{shape_words(tuple(images.shape[1:]))}")
        x = channels_first(images.float() / 255)
        if views > 1 and not self.training:
            # the mean of its vectors over the picture moved by up to a pixel (test-time augmentation): an encoder
            # that learnt from such moves reads each picture as their consensus, for views times the compute
            s = x.shape[-1]
            padded = F.pad(x, (1, 1, 1, 1))
            x = torch.cat([padded[..., 1 - dy:1 - dy + s, 1 - dx:1 - dx + s] for dy, dx in VIEWS[views]])
            out = self.proj(self.net(x)).unflatten(0, (views, -1)).mean(0)
        else:
            out = self.proj(self.net(x))
        return out[:, None] if out.dim() == 2 else out.flatten(2).transpose(1, 2)

    def counts(self):
        """Parameters of the encoder and of the projector (the frozen encoder's are not trained)."""
        return dict(encoder=sum(p.numel() for p in self.net.parameters()),
                    projector=sum(p.numel() for p in self.proj.parameters()))


def shift_images(images, shifts):
    """Each picture (N, S, S[, 3]) moved by its (dy, dx) pixels, the space it leaves black (augmentation of what an
    encoder reads)."""
    m = int(shifts.abs().max()) if len(shifts) else 0
    if m == 0:
        return images
    colour = picture_dims(images) == 3
    x = images.movedim(-1, 1) if colour else images  # rows and columns last
    s = x.shape[-1]
    padded = F.pad(x, (m, m, m, m))
    out = torch.stack([padded[i, ..., m - dy:m - dy + s, m - dx:m - dx + s] for i, (dy, dx) in enumerate(shifts.tolist())])
    return out.movedim(1, -1) if colour else out


def erase_squares(images, size, gen):
    """Random erasing (Zhong et al., 2017): half the pictures (N, S, S[, 3]) with a size x size square blanked at a
    random place, so that an encoder cannot lean on any one part of a picture. A copy; size 0 returns them as they
    are."""
    if not size:
        return images
    n, s = images.shape[0], images.shape[1]
    pick = torch.rand(n, generator=gen) < 0.5
    corner = torch.randint(0, s - size + 1, (n, 2), generator=gen)
    at = torch.arange(s)
    rows = (at >= corner[:, :1]) & (at < corner[:, :1] + size)  # (N, S)
    cols = (at >= corner[:, 1:]) & (at < corner[:, 1:] + size)
    blank = pick[:, None, None] & rows[:, :, None] & cols[:, None, :]
    return images.masked_fill(blank[..., None] if picture_dims(images) == 3 else blank, 0)


def flip_images(pics, flips):
    """The pictures (N, P, S, S[, 3]) of the rows flips (N,) says, mirrored left to right."""
    axis = -2 if picture_dims(pics) == 3 else -1
    return torch.where(flips.view(-1, *[1] * (pics.dim() - 1)), pics.flip(axis), pics)


def pixel_draws(shape, gen, letters_share, pixel_shift, pixel_flip=False):
    """The random choices of a step's rows (shape: its indices'), drawn at once so that DDP processes taking
    their slices see what one process sees: which reading rows read pixels (not letters), each shift, and
    (pixel_flip) which pictures are mirrored. Without pixel_flip no flip is drawn: the stream stays as it was."""
    keep = torch.rand(shape, generator=gen) >= letters_share
    shifts = torch.randint(-pixel_shift, pixel_shift + 1, (*shape, 2), generator=gen)
    flips = torch.rand(shape, generator=gen) < 0.5 if pixel_flip else torch.zeros(shape, dtype=torch.bool)
    return keep, shifts, flips


