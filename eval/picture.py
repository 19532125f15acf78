"""The reader of one picture a person gives: a file or an upload made into a picture of the dataset.

    digit = load_digit('seven.png')                      # uint8 (28, 28), white on black, as MNIST's
    item = load_digit(f, 'the upload', dataset='fashion_mnist')

Any grayscale or colour picture of at least 28x28 pixels. Dark digits on a light background are
inverted to MNIST's white on black; where the picture is transparent, its alpha channel is the ink
(as drawing tools save a stroke on no background). The ink is then made into a digit the way MNIST's
were: its box scaled to fit 20x20 (28x28 for Fashion-MNIST's items), centred in 28x28 by its centre
of mass. `eval.ask` and the page (eval/serve.py) read pictures through it, nothing else.
"""
import numpy as np

from common.pictures import fit

MAX_PIXELS = 4096 * 4096  # a picture of one digit needs no more; larger ones are refused before decoding
# the box each dataset's images were scaled to fit, keeping their aspect ratio, before being centred in 28x28 by
# their centre of mass: MNIST's digits 20x20; Fashion-MNIST's items fill the whole 28x28
BOXES = {'mnist': 20, 'fashion_mnist': 28}
INK = 0.25  # of the brightest ink: fainter pixels (paper grain, JPEG noise) do not widen the digit's box


def open_picture(source, name, max_pixels=MAX_PIXELS):
    """A decoded PIL image from a path or a file object, or one clear error naming it."""
    from PIL import Image, UnidentifiedImageError
    try:
        img = Image.open(source)
        if img.size[0] * img.size[1] > max_pixels:
            raise SystemExit(f"error: {name} is {img.size[0]}x{img.size[1]} pixels; a digit needs at most "
                             f"{max_pixels:,} pixels: shrink it first")
        img.load()
    except FileNotFoundError:
        raise SystemExit(f"error: {name} not found; pass the path of a PNG or JPEG of a digit")
    except Image.DecompressionBombError:
        raise SystemExit(f"error: {name} is too large to decode safely; a digit needs at most {max_pixels:,} pixels")
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise SystemExit(f"error: {name} is not a readable image ({type(e).__name__}); pass a PNG or JPEG of a digit")
    if min(img.size) < 28:
        raise SystemExit(f"error: {name} is {img.size[0]}x{img.size[1]} pixels; the digit needs at least 28x28")
    if img.mode not in ('1', 'L', 'P', 'RGB', 'RGBA', 'LA', 'I', 'I;16', 'F', 'CMYK', 'YCbCr'):
        raise SystemExit(f"error: {name} has image mode {img.mode}, which cannot be read as grayscale; "
                         "save it as an 8-bit grayscale or RGB PNG")
    return img


def ink_of(img, name='the picture'):
    """The ink of a picture as floats (H, W), light on black as in MNIST, at the picture's own size."""
    from PIL import Image
    if img.mode in ('I', 'I;16', 'F'):
        a = np.asarray(img, dtype=np.float64)
        if not np.isfinite(a).all():  # NaN would read as no ink at all: a confident wrong answer
            raise SystemExit(f"error: {name} holds pixels that are not numbers (NaN or infinity); save it as an "
                             "8-bit grayscale or RGB PNG")
        img = Image.fromarray(((a - a.min()) / max(1e-9, a.max() - a.min()) * 255).astype(np.uint8))
    if img.mode in ('RGBA', 'LA', 'P') and img.convert('RGBA').getextrema()[3][0] < 255:
        # some pixels are transparent: the ink is where the picture is opaque, whatever its colour
        return np.asarray(img.convert('RGBA').getchannel('A'), dtype=np.float64)
    a = np.asarray(img.convert('L'), dtype=np.float64)
    return 255 - a if np.median(a) > 127 else a  # dark ink on light paper: MNIST is light ink on black


def mnist_style(ink, box=BOXES['mnist']):
    """MNIST's own preprocessing of a digit's ink (H, W): the box around the ink scaled to fit box x box keeping
    its aspect ratio, placed in 28x28 so that its centre of mass is at the centre, brightest pixel 255."""
    from PIL import Image
    a = np.asarray(ink, dtype=np.float32)
    rows, cols = np.nonzero(a > INK * a.max())
    a = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = box / max(a.shape)
    size = (max(1, round(a.shape[1] * scale)), max(1, round(a.shape[0] * scale)))
    a = np.clip(np.asarray(Image.fromarray(a, 'F').resize(size, Image.LANCZOS)), 0, None)  # LANCZOS rings below 0
    h, w = a.shape
    mass = max(1e-9, a.sum())
    cy, cx = (a.sum(1) @ np.arange(h)) / mass, (a.sum(0) @ np.arange(w)) / mass
    # MNIST's centre of mass sits at pixel (14, 14); a half-pixel tie goes up and left
    top, left = (int(np.clip(np.ceil(13.5 - c), 0, 28 - n)) for c, n in ((cy, h), (cx, w)))
    out = np.zeros((28, 28), dtype=np.float32)
    out[top:top + h, left:left + w] = a
    return np.round(out * (255 / max(1e-9, out.max()))).astype(np.uint8)


def load_digit(source, name=None, max_pixels=MAX_PIXELS, dataset='mnist', shape=(28, 28)):
    """A 28x28 uint8 white-on-black digit, made the way MNIST's were, from a picture's path or file object;
    or one clear error. The one preprocessing of pictures: `eval.ask` and the web page (eval/serve.py). A dataset
    of one's own (data/folder.py) takes the whole picture, fitted on black to its pictures' shape (the run's
    tokenizer's: (S, S) grey or (S, S, 3) colour), as its import does."""
    name = name or source
    if dataset not in BOXES:
        return fit(open_picture(source, name, max_pixels), shape[0], colour=len(shape) == 3)
    ink = ink_of(open_picture(source, name, max_pixels), name)
    if ink.max() - ink.min() < 1:  # one flat colour, whichever: nothing drawn on it
        raise SystemExit(f"error: {name} shows no ink (one flat colour); draw or pass a digit")
    return mnist_style(ink, BOXES[dataset])
