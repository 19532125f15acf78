"""How well a run reads hand-drawn-like pictures: test digits re-rendered as a 280x280 canvas would hold
them (large, thicker or thinner strokes, small and off-centre, shifted, dark ink on white), saved as PNG
and read back through load_digit (eval/picture.py, the page's preprocessing), against the same pictures
only shrunk to 28x28 (what load_digit did before it centred the ink MNIST's way).

    python -m sweeps.handdrawn [--out_dir=out/mnist_letters] [--n=1000]
"""
import io

import numpy as np
from PIL import Image, ImageFilter

from common.configurator import configure
from common.runtime import pick_device
from data.pictures import load_split
from eval.picture import ink_of, load_digit
from nanogpt.vlm import VLM

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_letters'
n = 1000  # the first n test images: enough to tell 0.01 apart (a 95% CI of about +-0.01 near 0.97)
device = 'auto'
# -----------------------------------------------------------------------------
CANVAS = 280  # the page's drawing pad


def large(img):
    """A test image as a digit drawn to fill the pad."""
    return Image.fromarray(img).resize((CANVAS, CANVAS), Image.BILINEAR)


def placed(img, size, top, left):
    """A test image drawn size x size at (top, left) on an empty pad."""
    pad = Image.new('L', (CANVAS, CANVAS))
    pad.paste(Image.fromarray(img).resize((size, size), Image.BILINEAR), (left, top))
    return pad


# each a test image -> a pad-sized picture as a person might draw it
VARIANTS = {
    'large (the digit drawn to fill the pad)': large,
    'thicker strokes (+0.7 MNIST pixels on each side)': lambda img: large(img).filter(ImageFilter.MaxFilter(15)),
    'thinner strokes (-0.3 MNIST pixels on each side)': lambda img: large(img).filter(ImageFilter.MinFilter(7)),
    'small and off-centre (100x100 in the lower left)': lambda img: placed(img, 100, 160, 10),
    'shifted (35 px right and up)': lambda img: placed(img, CANVAS, -35, 35),
    'dark ink on white paper, RGB': lambda img: Image.fromarray(255 - np.asarray(large(img))).convert('RGB'),
}


def through_png(picture):
    buf = io.BytesIO()
    picture.save(buf, 'PNG')
    return io.BytesIO(buf.getvalue())


def shrunk(picture):
    """The whole picture resized to 28x28 (light ink on black), as load_digit read pictures before."""
    ink = ink_of(Image.open(through_png(picture))).astype(np.uint8)
    return np.asarray(Image.fromarray(ink).resize((28, 28), Image.LANCZOS))


def main():
    configure(globals())
    vlm = VLM.from_pretrained(out_dir, device=pick_device(device))
    images, labels = load_split('test', vlm.vocab['dataset'])
    images, labels = images[:n], labels[:n]

    def accuracy(digits):
        return float((vlm.read(np.stack(digits)) == labels).mean())

    def ours(pictures):
        return accuracy([load_digit(through_png(p), dataset=vlm.vocab['dataset']) for p in pictures])

    print(f"{out_dir} ({vlm.image_input}), first {n} test images: accuracy through load_digit / only shrunk to 28x28")
    print(f"| the test images as they are | {accuracy(images):.4f} | - |")
    print(f"| the test images through load_digit | {ours([Image.fromarray(i) for i in images]):.4f} | - |")
    for name, render in VARIANTS.items():
        pictures = [render(img) for img in images]
        print(f"| {name} | {ours(pictures):.4f} | {accuracy([shrunk(p) for p in pictures]):.4f} |")


if __name__ == '__main__':
    main()
