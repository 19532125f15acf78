"""Ask the model which digit an image shows.

    python -m eval.ask --image=path/to/digit.png [--out_dir=out/mnist_vlm]
    python -m eval.ask --image=path/to/digit.png --out_dir=out/mnist_vlm_cnn   # a run that reads pixels
    python -m eval.ask --image=a.png --out_dir=out/mnist_all_vlm --task=caption    # `make all TASKS=all`
    python -m eval.ask --image=a.png --out_dir=out/mnist_all_vlm --question="is it even?"
    python -m eval.ask --image=a.png --image2=b.png --out_dir=out/mnist_all_vlm --question="what is their sum?"

Any grayscale or colour image of at least 28x28 pixels. Dark digits on a light background are
inverted to MNIST's white on black; where the picture is transparent, its alpha channel is the
ink (as drawing tools save a stroke on no background). The ink is then made into a digit the way
MNIST's were: its box scaled to fit 20x20 (28x28 for Fashion-MNIST's items), centred in 28x28 by its
centre of mass (load_digit, also the web page's: eval/serve.py). --task=caption writes a caption
(greedy) and --question asks a question of one picture or two (--image2), the text of a run that
learnt captions and questions (data/mnist_vlm/grounded.py); its templates answer best.
"""
import numpy as np
import torch

from common.configurator import configure
from common.runtime import pick_device
from data.mnist_vlm.decode import complete, prompt_images
from data.mnist_vlm.format import encode, letters
from data.mnist_vlm.grounded import CAPTION, QUESTION
from data.mnist_vlm.tasks import READ
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
image = ''  # path of a PNG or JPEG of one digit
image2 = ''  # a second picture, for a question about two ('what is their sum?')
task = 'read'  # 'read' (the likeliest label), 'caption' (greedy), or 'question' (set by --question)
question = ''  # a question to answer about the picture(s), e.g. 'is it more than 4?'
out_dir = RUN_DIR
device = 'auto'
# -----------------------------------------------------------------------------
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


def ink_of(img):
    """The ink of a picture as floats (H, W), light on black as in MNIST, at the picture's own size."""
    from PIL import Image
    if img.mode in ('I', 'I;16', 'F'):
        a = np.asarray(img, dtype=np.float64)
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


def load_digit(source, name=None, max_pixels=MAX_PIXELS, dataset='mnist'):
    """A 28x28 uint8 white-on-black digit, made the way MNIST's were, from a picture's path or file object;
    or one clear error. The one preprocessing of pictures: `eval.ask` and the web page (eval/serve.py)."""
    name = name or source
    ink = ink_of(open_picture(source, name, max_pixels))
    if ink.max() < 1:
        raise SystemExit(f"error: {name} shows no ink (one flat colour); draw or pass a digit")
    return mnist_style(ink, BOXES[dataset])


def grounded_answer(vlm, pictures, question=''):
    """A caption of the picture (no question), or the answer to `question` about one picture or two (uint8
    28x28 each, as load_digit makes them), by greedy decoding; one line (SystemExit) for what the run cannot
    answer. Also the web page's (eval/serve.py)."""
    name = QUESTION.name if question else CAPTION.name
    if name not in vlm.meta['tasks']:
        raise SystemExit(f"error: {vlm.out_dir} was not trained on {name}s (its tasks: "
                         f"{', '.join(vlm.meta['tasks'])}); train one with `make all TASKS=all`")
    codes, pixels = prompt_images(vlm.gpt, vlm.reading_input(np.stack(pictures)), vlm.meta)
    codes, pixels = [letters(c, vlm.meta) for c in codes], None if pixels is None else pixels[None]  # one record
    prompt = QUESTION.prompt(codes, question.strip()) if question else CAPTION.prompt(codes[0])
    if len(prompt) >= vlm.meta['seq_len']:
        raise SystemExit(f"error: the question is {len(prompt) - len(QUESTION.prompt(codes, ''))} characters; with "
                         f"its pictures a record holds {vlm.meta['seq_len']}: ask a shorter one, like 'is it even?'")
    said = complete(vlm.gpt, [encode(prompt, vlm.meta['stoi'])], vlm.meta, vlm.meta['seq_len'] - len(prompt),
                    pixels=pixels, device=vlm.device)[0]
    return said if said is not None else "(no answer ended by '.' within the record length; it wrote past it)"


def main():
    configure(globals())
    if not image:
        raise SystemExit("error: pass the picture to read: python -m eval.ask --image=path/to/digit.png")
    if task not in ('read', 'caption', 'question'):
        raise SystemExit(f"error: --task={task!r}; use read, caption or question")
    vlm = VLM.load(out_dir, device=pick_device(device))
    digit = load_digit(image, dataset=vlm.meta['dataset'])
    if question or task != 'read':
        pictures = [digit] + ([load_digit(image2, dataset=vlm.meta['dataset'])] if image2 else [])
        return print(grounded_answer(vlm, pictures, question))
    codes = vlm.encode(digit[None])
    scores = READ.answer_scores(vlm.gpt, vlm.reading_input(digit[None]), vlm.meta, device=vlm.device)
    probs = torch.softmax(scores[0], 0)  # over the ten labels only: constrained decoding
    seen = f"tokens {letters(codes[0], vlm.meta)}" if vlm.image_input == 'letters' else \
        f"read as pixels through '{vlm.image_input}'"
    print(f"{vlm.meta['labels'][READ.parse(scores)[0]]}  (p={probs.max():.3f}; {seen})")


if __name__ == '__main__':
    main()
