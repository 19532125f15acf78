"""A small VQ-VAE for a dataset's pictures (28x28 grey digits by default): encoder, vector quantizer, decoder.

Each image becomes `tokens_per_image` codes from a book of `num_codes`. The
'conv' encoder keeps spatial layout (a grid of latents: 4x4 or 7x7 of a 28x28
picture, 4x4 or 8x8 of a 32x32 one); the 'mlp' encoder is the blog's design (any
token count, e.g. 8). All quantizer state lives in buffers, so a reloaded model
never re-initialises its codebook. Pictures are uint8 or float arrays (N, side,
side) when grey and (N, side, side, 3) when in colour, channels last as PIL and
PNG files hold them; the nets see them channels first.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from common.files import load_checkpoint


@dataclass
class VQVAEConfig:
    encoder: str = 'conv'       # 'conv' (grid of latents) or 'mlp' (the blog's)
    tokens_per_image: int = 16  # conv: 16 (4x4) or 49 (7x7)
    num_codes: int = 26         # codebook size; 26 writes as the letters A-Z
    code_dim: int = 16          # width of each code vector
    hidden: int = 64            # conv channels / half the MLP width
    res_blocks: int = 0         # conv: residual blocks on each side of the grid; they let the decoder draw sharp
                                # edges from its neighbours' codes, where a plain conv stack blurs them
    decay: float = 0.99         # EMA decay of the codebook
    dead_threshold: float = 1.0  # codes picked fewer times than this per batch (EMA) get restarted
    side: int = 28              # the pictures' side, in pixels: the dataset's, not a knob
    channels: int = 1           # 1 grey, 3 colour (RGB): the dataset's, not a knob


def grids(side):
    """The grids of latents a conv encoder makes of side x side pictures: side/4 (two stride-2 convolutions),
    then halved, rounding up, down to 4 or less: [7, 4] for 28, [8, 4] for 32."""
    out = [side // 4]
    while out[-1] > 4:
        out.append(-(-out[-1] // 2))
    return out


def picture_dims(pics):
    """How many of an array's last dimensions are one picture: 3 for colour (S, S, 3), 2 for grey (S, S)."""
    return 3 if pics.shape[-1] == 3 else 2


def shape_words(shape):
    """A picture's shape in words: (28, 28) -> '28x28 grey', (32, 32, 3) -> '32x32 RGB'."""
    return f"{shape[0]}x{shape[1]} {'RGB' if len(shape) == 3 and shape[2] == 3 else 'grey'}"


def per_row(pics):
    """Pictures (N, S, S[, 3]), one a row, or (N, P, S, S[, 3]), P a row -> (N, P, S, S[, 3])."""
    return pics[:, None] if len(pics.shape) == picture_dims(pics) + 1 else pics


def channels_first(x):
    """Pictures (B, S, S) or (B, S, S, 3) -> (B, C, S, S), as convolutions take them. Grey ones too keep their
    channel last in memory: convolutions then run channels-last, a third faster on a CPU for the VQ-VAE and a
    quarter for the judge on 28x28 pictures, as colour ones did already."""
    return (x[..., None] if x.dim() == 3 else x).permute(0, 3, 1, 2)


def channels_last(x):
    """(B, C, S, S) -> pictures (B, S, S) (grey) or (B, S, S, 3), as datasets hold them."""
    return x[:, 0] if x.shape[1] == 1 else x.permute(0, 2, 3, 1)


def moved(pics, turns, shifts):
    """Pictures (N, S, S[, 3]) in [0, 1], each turned by its angle (degrees, about the centre) and moved by its
    shift (x, y): x pixels left and y up (negative: right, down). Bilinear, the space they leave black
    (augmentation: a hand draws no digit twice in one place)."""
    x = channels_first(pics)
    a = turns * math.pi / 180
    s = shifts / (x.shape[-1] / 2)  # grid units: half a side
    theta = torch.stack([torch.stack([a.cos(), -a.sin(), s[:, 0]], 1), torch.stack([a.sin(), a.cos(), s[:, 1]], 1)], 1)
    return channels_last(F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False),
                                       align_corners=False))


class VectorQuantizer(nn.Module):
    """Nearest-neighbour lookup into a codebook updated by exponential moving averages."""

    def __init__(self, num_codes, code_dim, decay, dead_threshold):
        super().__init__()
        self.decay, self.dead_threshold = decay, dead_threshold
        self.register_buffer('codebook', torch.zeros(num_codes, code_dim))
        self.register_buffer('ema_count', torch.zeros(num_codes))
        self.register_buffer('ema_sum', torch.zeros(num_codes, code_dim))
        self.register_buffer('initialized', torch.tensor(False))

    def lookup(self, z):
        """Indices of the nearest code for each row of z (N, D)."""
        d = z.pow(2).sum(1, keepdim=True) - 2 * z @ self.codebook.t() + self.codebook.pow(2).sum(1)
        return d.argmin(1)

    @torch.no_grad()
    def _kmeans_init(self, z, iters=10):
        # k-means on the first batch: every code starts where the data is, so none is born dead
        k = self.codebook.shape[0]
        centers = z[torch.randperm(len(z), device=z.device)[:k]].clone()
        for _ in range(iters):
            idx = (z.pow(2).sum(1, keepdim=True) - 2 * z @ centers.t() + centers.pow(2).sum(1)).argmin(1)
            counts = torch.bincount(idx, minlength=k).float()
            sums = torch.zeros_like(centers).index_add_(0, idx, z)
            centers = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centers)
        self.codebook.copy_(centers)
        # counts start at one hit per batch: a code missed by the next batches is restarted at once
        self.ema_count.fill_(1.0)
        self.ema_sum.copy_(centers)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _ema_update(self, z, idx):
        k = self.codebook.shape[0]
        counts = torch.bincount(idx, minlength=k).float()
        sums = torch.zeros_like(self.ema_sum).index_add_(0, idx, z)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        # Laplace smoothing keeps rarely used codes from dividing by ~0
        n = self.ema_count.sum()
        count = (self.ema_count + 1e-5) / (n + k * 1e-5) * n
        self.codebook.copy_(self.ema_sum / count[:, None])
        # restart dead codes on random encoder outputs of this batch
        dead = self.ema_count < self.dead_threshold
        if dead.any():
            pick = z[torch.randint(len(z), (int(dead.sum()),), device=z.device)]
            self.codebook[dead] = pick
            self.ema_count[dead] = 1.0
            self.ema_sum[dead] = pick

    def forward(self, z):
        """z (N, D) -> quantized z with straight-through gradient, indices, commitment loss. In float32 even under
        bf16 autocast: bf16's 8-bit mantissa would pick the wrong nearest code and round the EMA sums away."""
        with torch.autocast(z.device.type, enabled=False):
            return self._quantize(z.float())

    def _quantize(self, z):
        if self.training and not self.initialized:
            self._kmeans_init(z.detach())
        idx = self.lookup(z.detach())
        zq = self.codebook[idx]
        if self.training:
            self._ema_update(z.detach(), idx)
        commit = F.mse_loss(z, zq.detach())
        return z + (zq - z).detach(), idx, commit


class ResBlock(nn.Module):
    """x + a 3x3 then 1x1 convolution of it: the VQ-VAE paper's block, depth without losing the grid's layout."""

    def __init__(self, h):
        super().__init__()
        self.net = nn.Sequential(nn.ReLU(), nn.Conv2d(h, h, 3, 1, 1), nn.ReLU(), nn.Conv2d(h, h, 1))

    def forward(self, x):
        return x + self.net(x)


class VQVAE(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.config = c = config
        h, d, t = c.hidden, c.code_dim, c.tokens_per_image
        if c.encoder == 'conv':
            g = math.isqrt(t)
            if g * g != t or g not in grids(c.side) or c.side % 4:
                allowed = ' or '.join(str(k * k) for k in sorted(grids(c.side)))
                raise ValueError(f"conv encoder makes a grid of {' or '.join(f'{k}x{k}' for k in sorted(grids(c.side)))} of "
                                 f"{c.side}x{c.side} pictures: tokens_per_image must be {allowed}, not {t}")
            down = [nn.Conv2d(c.channels, h // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(h // 2, h, 4, 2, 1), nn.ReLU()]
            up = [nn.ConvTranspose2d(h, h // 2, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(h // 2, c.channels, 4, 2, 1)]
            sizes = grids(c.side)
            for fine, coarse in zip(sizes, sizes[1:sizes.index(g) + 1]):  # e.g. 7->4, and 4->7 back
                down += [nn.Conv2d(h, h, 3, 2, 1), nn.ReLU()]
                up = [nn.ConvTranspose2d(h, h, 3, 2, 1, output_padding=fine - (2 * coarse - 1)), nn.ReLU()] + up
            res = [ResBlock(h) for _ in range(c.res_blocks)], [ResBlock(h) for _ in range(c.res_blocks)]
            self.encoder = nn.Sequential(*down, nn.Conv2d(h, h, 3, 1, 1), *res[0], nn.ReLU(), nn.Conv2d(h, d, 1))
            self.decoder = nn.Sequential(nn.Conv2d(d, h, 3, 1, 1), *res[1], nn.ReLU(), *up)
        elif c.encoder == 'mlp':
            pixels = c.side * c.side * c.channels
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 8 * h), nn.ReLU(), nn.Linear(8 * h, t * d))
            self.decoder = nn.Sequential(nn.Linear(t * d, 8 * h), nn.ReLU(), nn.Linear(8 * h, pixels))
        else:
            raise ValueError(f"unknown encoder {c.encoder!r}; use 'conv' or 'mlp'")
        self.quantizer = VectorQuantizer(c.num_codes, d, c.decay, c.dead_threshold)

    def _latents(self, x):
        """images (B, S, S[, 3]) in [0, 1] -> latents (B*T, D), token-major per image."""
        z = self.encoder(channels_first(x))
        if self.config.encoder == 'conv':
            z = z.permute(0, 2, 3, 1)  # row-major grid: token order reads the image like text
        return z.reshape(-1, self.config.code_dim)

    def _decode_latents(self, zq, batch):
        c = self.config
        if c.encoder == 'conv':
            g = math.isqrt(c.tokens_per_image)
            return channels_last(self.decoder(zq.reshape(batch, g, g, c.code_dim).permute(0, 3, 1, 2)))
        return channels_last(self.decoder(zq.reshape(batch, -1)).reshape(batch, c.channels, c.side, c.side))

    @property
    def picture_shape(self):
        """One picture's array shape: (side, side) grey, (side, side, 3) colour."""
        c = self.config
        return (c.side, c.side) if c.channels == 1 else (c.side, c.side, c.channels)

    def forward(self, x):
        """images in [0, 1] -> reconstruction logits, token ids (B, T), commitment loss, and the quantized grid
        (B, T*D) with the straight-through gradient, which a label term (vqvae/train.py) reads."""
        zq, idx, commit = self.quantizer(self._latents(x))
        return self._decode_latents(zq, len(x)), idx.reshape(len(x), -1), commit, zq.reshape(len(x), -1)

    @staticmethod
    def _as_float(images):
        return images.float() / 255 if images.dtype == torch.uint8 else images.float()

    @torch.no_grad()
    def encode(self, images):
        """images (B, S, S[, 3]), uint8 or float in [0, 1] -> token ids (B, T) int64."""
        z = self._latents(self._as_float(images))
        return self.quantizer.lookup(z).reshape(len(images), -1)

    @torch.no_grad()
    def decode(self, ids):
        """token ids (B, T) -> images (B, S, S[, 3]) float in [0, 1]."""
        zq = self.quantizer.codebook[ids.reshape(-1)]
        return torch.sigmoid(self._decode_latents(zq, len(ids)))


def load_vqvae(path, device='cpu'):
    """Load a VQ-VAE checkpoint written by vqvae/train.py."""
    fix = "train one with `make vqvae`"
    ckpt = load_checkpoint(path, 'VQ-VAE checkpoint', fix, device)
    try:
        model = VQVAE(VQVAEConfig(**ckpt['model_args']))
        model.load_state_dict(ckpt['model'])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise SystemExit(f"error: {path} does not hold a VQ-VAE ({type(e).__name__}); {fix}")
    model.dataset = (ckpt.get('config') or {}).get('dataset', 'mnist')  # the images it was trained on
    return model.to(device).eval()
