"""Ask the model which digit an image shows.

    python -m eval.ask --image=path/to/digit.png [--out_dir=out/mnist_vlm]
    python -m eval.ask --image=path/to/digit.png --out_dir=out/mnist_vlm_cnn   # a run that reads pixels

Any grayscale or colour image of at least 28x28 pixels; larger ones are resized. Dark digits
on a light background are inverted to MNIST's white on black; where the picture is
transparent, its alpha channel is the ink (as drawing tools save a stroke on no background).
"""
import numpy as np
import torch

from common.configurator import configure
from common.runtime import pick_device
from data.mnist_vlm.format import letters
from data.mnist_vlm.tasks import READ
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
image = ''  # path of a PNG or JPEG of one digit
out_dir = RUN_DIR
device = 'auto'
# -----------------------------------------------------------------------------
MAX_PIXELS = 4096 * 4096  # a picture of one digit needs no more; larger ones are refused before decoding


def load_digit(path):
    """A 28x28 uint8 white-on-black image from any readable picture, or one clear error."""
    from PIL import Image, UnidentifiedImageError
    try:
        img = Image.open(path)
        if img.size[0] * img.size[1] > MAX_PIXELS:
            raise SystemExit(f"error: {path} is {img.size[0]}x{img.size[1]} pixels; a digit needs at most "
                             f"{MAX_PIXELS:,} pixels: shrink it first")
        img.load()
    except FileNotFoundError:
        raise SystemExit(f"error: {path} not found; pass the path of a PNG or JPEG of a digit")
    except Image.DecompressionBombError:
        raise SystemExit(f"error: {path} is too large to decode safely; a digit needs at most {MAX_PIXELS:,} pixels")
    except (UnidentifiedImageError, OSError) as e:
        raise SystemExit(f"error: {path} is not a readable image ({type(e).__name__}); pass a PNG or JPEG of a digit")
    if min(img.size) < 28:
        raise SystemExit(f"error: {path} is {img.size[0]}x{img.size[1]} pixels; the digit needs at least 28x28")
    if img.mode not in ('1', 'L', 'P', 'RGB', 'RGBA', 'LA', 'I', 'I;16', 'F', 'CMYK', 'YCbCr'):
        raise SystemExit(f"error: {path} has image mode {img.mode}, which cannot be read as grayscale; "
                         "save it as an 8-bit grayscale or RGB PNG")
    if img.mode in ('I', 'I;16', 'F'):
        a = np.asarray(img, dtype=np.float64)
        a = (a - a.min()) / max(1e-9, a.max() - a.min()) * 255
        img = Image.fromarray(a.astype(np.uint8))
    if img.mode in ('RGBA', 'LA', 'P') and img.convert('RGBA').getextrema()[3][0] < 255:
        # some pixels are transparent: the ink is where the picture is opaque, whatever its colour
        return np.asarray(img.convert('RGBA').getchannel('A').resize((28, 28), Image.LANCZOS), dtype=np.uint8)
    a = np.asarray(img.convert('L').resize((28, 28), Image.LANCZOS), dtype=np.uint8)
    if np.median(a) > 127:
        a = 255 - a  # dark ink on light paper: MNIST is light ink on black
    return a


def main():
    configure(globals())
    if not image:
        raise SystemExit("error: pass the picture to read: python -m eval.ask --image=path/to/digit.png")
    digit = load_digit(image)
    vlm = VLM.load(out_dir, device=pick_device(device))
    codes = vlm.encode(digit[None])
    scores = READ.answer_scores(vlm.gpt, vlm.reading_input(digit[None]), vlm.meta, device=vlm.device)
    probs = torch.softmax(scores[0], 0)  # over the ten labels only: constrained decoding
    seen = f"tokens {letters(codes[0], vlm.meta)}" if vlm.image_input == 'letters' else \
        f"read as pixels through '{vlm.image_input}'"
    print(f"{vlm.meta['labels'][READ.parse(scores)[0]]}  (p={probs.max():.3f}; {seen})")


if __name__ == '__main__':
    main()
