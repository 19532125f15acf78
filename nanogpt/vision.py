"""A second way to see: image encoders whose vectors stand where a picture's letters stood.

    python -m nanogpt.train config/train_mnist_vlm.py config/image_cnn.py    # or `make all IMAGE_INPUT=cnn`

`image_input` (a config key of nanogpt/train.py) says how the GPT sees the pictures a record opens with
(reading, captions and questions, a two-image question's both; drawing records write theirs as letters):
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

from data.mnist_vlm.decode import IMAGE_PREFIX
from data.mnist_vlm.format import encode
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


GAP = len(', ' + IMAGE_PREFIX)  # from the end of a picture's letters to the next picture's: 'image:<L>, image:<L>, ...'


def picture_places(meta, n):
    """Where the letters of a record's first n pictures start: reading, captions and questions open with
    'image:<letters>', and a two-image question shows its second picture right after the first."""
    return [len(IMAGE_PREFIX) + j * (meta['tokens_per_image'] + GAP) for j in range(n)]


def pictures_shown(records, meta):
    """How many pictures each record (ids (N, T)) shows as input, read off its text: 'image:' at its start, and
    again after the first picture's letters. Drawing records write their picture as the answer: none."""
    mark = torch.tensor(encode(IMAGE_PREFIX, meta['stoi']))
    at = [s - len(IMAGE_PREFIX) for s in picture_places(meta, 2)]
    first = (records[:, at[0]:at[0] + len(mark)] == mark).all(1)
    second = first & (records[:, at[1]:at[1] + len(mark)] == mark).all(1) if records.shape[1] > at[1] + len(mark) \
        else torch.zeros_like(first)
    return first.long() + second.long()


def see_pixels(y, pics, rows, meta, *, keep=None, shifts=None, flips=None):
    """A batch's rows that see their pictures (`pics`, uint8 (B, 28, 28), or (B, P, 28, 28) for up to P a
    record) as pixels: `rows`, how many pictures each row shows (pictures_shown; a bool for one or none).

    keep: which of them do (the others read their letters still); shifts: (B, 2) pixels to move each
    row's pictures by; flips: (B,) which rows' pictures to mirror left to right (all from pixel_draws).
    Returns the targets with the image letters of those pictures ignored (they are not in the input:
    nothing to predict them from) and the keyword inputs of PixelGPT."""
    shown = rows.long() if keep is None else rows.long() * keep
    one = pics.dim() == 3
    pics = pics[:, None] if one else pics
    if shifts is not None:
        pics = shift_images(pics.flatten(0, 1), shifts.repeat_interleave(pics.shape[1], 0)).view(pics.shape)
    if flips is not None and flips.any():
        pics = torch.where(flips[:, None, None, None], pics.flip(-1), pics)
    y = y.clone()
    for j, s in enumerate(picture_places(meta, pics.shape[1])):
        y[shown > j, s - 1:s - 1 + meta['tokens_per_image']] = -1
    return y, dict(images=pics[:, 0] if one else pics, image_rows=shown)


def no_pictures_below(seen, n):
    """see_pixels' inputs with n rows that show no picture appended below (the text windows of a mixed batch)."""
    images, rows = seen['images'], seen['image_rows']
    return dict(images=torch.cat([images, images.new_zeros(n, *images.shape[1:])]),
                image_rows=torch.cat([rows, rows.new_zeros(n)]))


class PixelGPT(nn.Module):
    """nanoGPT's GPT reading pictures through an encoder (nanoVLM's VisionLanguageModel, in small).

    Called like GPT, plus `images` (B, 28, 28) uint8, or (B, P, 28, 28) for records of up to P pictures,
    and `image_rows`: how many of them each row shows at its pictures' places (a bool: one or none; all P
    when None). Without images it is the GPT itself: drawing, text and sample.py use it so. An encoder
    of fewer vectors than a picture has letters runs its rows with the spare placeholders cut out; the
    logits come back on the record's places.
    """

    def __init__(self, gpt, encoder):
        super().__init__()
        self.gpt, self.encoder = gpt, encoder
        self.config, self.image_input = gpt.config, encoder.mode
        self.spare = encoder.letters - encoder.tokens  # placeholders of a picture that no vector stands in
        self.cuts = {}  # (length, pictures, device) -> cut()'s indices

    def places(self, n):
        return picture_places(dict(tokens_per_image=self.encoder.letters), n)

    def put(self, x, rows, pictures, spare=0):
        """Embeddings x with the vectors of each row's pictures (rows: indices; pictures (len(rows), n, 28, 28))
        at their places, in a sequence whose earlier pictures lost `spare` placeholders each."""
        n, k = pictures.shape[1], self.encoder.tokens
        places = torch.cat([torch.arange(s - j * spare, s - j * spare + k) for j, s in enumerate(self.places(n))])
        if places[-1] >= x.shape[1]:
            raise ValueError(f"the pictures' places end at {int(places[-1])}, past this pass of {x.shape[1]}")
        vectors = self.encoder(pictures.flatten(0, 1)).to(x.dtype).reshape(len(rows), n * k, -1)
        return x.index_put((rows[:, None], places.to(x.device)[None, :]), vectors)

    def cut(self, length, n, device):
        """Which of a record's `length` places a pass keeps when the record shows n pictures (all but their spare
        placeholders), and where each kept place's logits go among the record's places: a picture's last vector
        predicts what follows the picture, as its last letter did. Cached: training asks the same few again."""
        key = (length, n, str(device))
        if key not in self.cuts:
            k, L = self.encoder.tokens, self.encoder.letters
            keep = torch.ones(length, dtype=torch.bool)
            for s in self.places(n):
                keep[s + k:s + L] = False
            inputs = keep.nonzero()[:, 0]
            outputs = inputs.clone()
            for s in self.places(n):
                outputs[inputs == s + k - 1] = s + L - 1
            self.cuts[key] = (inputs.to(device), outputs.to(device))
        return self.cuts[key]

    def squeeze(self, idx, n=1):
        """idx without the spare placeholders of its n pictures, and where its logits go among idx's places."""
        inputs, outputs = self.cut(idx.shape[1], n, idx.device)
        return idx[:, inputs], outputs

    def forward(self, idx, targets=None, caches=None, pos0=0, all_logits=False, images=None, image_rows=None):
        if images is None:
            if caches and caches[0]:  # after a squeezed prompt the cache is shorter than the ids were
                pos0 = caches[0][0].shape[2]
            return self.gpt(idx, targets, caches, pos0, all_logits)
        if pos0:
            raise ValueError("pictures are read in the first pass over a record, from its start")
        pictures = images[:, None] if images.dim() == 3 else images
        shown = torch.full((len(idx),), pictures.shape[1], device=idx.device) if image_rows is None \
            else image_rows.long()
        if len(shown) != len(idx) or len(pictures) != len(idx):
            raise ValueError(f"{len(idx)} rows, but pictures for {len(pictures)} and image_rows for {len(shown)}")
        groups = [(n, (shown == n).nonzero()[:, 0]) for n in shown.unique().tolist()]
        if not self.spare:  # every row keeps its length: one pass, each row's vectors at its pictures' places
            x = self.gpt.transformer.wte(idx)
            for n, rows in groups:
                x = self.put(x, rows, pictures[rows, :n]) if n else x
            return self.gpt(idx, targets, caches, pos0, all_logits, embeds=x)
        if caches is not None and len(groups) > 1:
            raise ValueError("a cached pass shows the same number of pictures in every row")
        # one pass: each row cut by its own number of pictures, the shorter ones padded at their end with their
        # last place (causal attention: no kept place sees the padding after it)
        cuts = {n: self.cut(idx.shape[1], n, idx.device) for n, _ in groups}
        width = max(len(inputs) for inputs, _ in cuts.values())
        take = idx.new_zeros(len(idx), width)
        to = idx.new_full((len(idx), width), -1)  # where each place's logits go; -1 for the padding
        for n, rows in groups:
            inputs, outputs = cuts[n]
            take[rows] = F.pad(inputs, (0, width - len(inputs)), value=int(inputs[-1]))
            to[rows, :len(outputs)] = outputs
        short = idx.gather(1, take)
        x = self.gpt.transformer.wte(short)
        for n, rows in groups:
            x = self.put(x, rows, pictures[rows, :n], self.spare) if n else x
        full, real = all_logits or targets is not None, to >= 0
        out, _ = self.gpt(short, None, caches, 0, full or len(groups) > 1, embeds=x)
        if not full and len(groups) == 1:  # no row is padded: the pass's last place is every row's
            return out, None
        if not full:  # each row's last kept place
            return out[torch.arange(len(idx), device=idx.device), real.sum(1) - 1][:, None], None
        logits = out.new_zeros(len(idx), idx.shape[1], out.shape[-1])
        logits[real.nonzero()[:, 0], to[real]] = out[real]
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-1)

    def generate(self, idx, max_new_tokens, *, images=None, **sampling):
        """GPT.generate, the prompt's pictures (all P of each row) read in its first, cached, pass."""
        if images is None:
            return self.gpt.generate(idx, max_new_tokens, **sampling)
        pictures = images[:, None] if images.dim() == 3 else images
        short, _ = self.squeeze(idx, pictures.shape[1])
        x = self.put(self.gpt.transformer.wte(short), torch.arange(len(idx), device=idx.device), pictures, self.spare)
        out = self.gpt.generate(short, max_new_tokens, embeds=x, **sampling)
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
