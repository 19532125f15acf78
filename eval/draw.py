"""Draw pictures of one label (or from a caption) into a grid PNG.

    python -m eval.draw --digit=7 --n=16 --out=sevens.png [--guidance=0] [--temperature=0.7]
    python -m eval.draw --out_dir=out/fashion_mnist_cnn --word="ankle boot" --out=boots.png
    python -m eval.draw --out_dir=out/mnist_all_cnn --caption="a small thick two, tilted right" --out=twos.png

Prompts 'number:7, image:' (or 'word:ankle boot, image:': --word names a label of a run trained
with words, --digit its index 0-9 in any run), samples the image letters (constrained to the image
alphabet, with classifier-free guidance unless --guidance=0), draws a picture of a label again while the
run itself does not read it as the label surely (--sure; up to --tries drawings), and decodes them with the
run's tokenizer. --caption prompts 'caption: <caption>, image:' instead (a run trained to draw from
captions, `make all TASKS=all`): any words of its vocabulary, best its own (tasks/caption.py); a
caption that names one label is drawn again alike while the run does not read that label.
"""
import os

import numpy as np

from common.configurator import configure
from common.files import writable_folder
from common.pictures import save_grid
from common.runtime import pick_device
from nanogpt.engine import GUIDANCE
from nanogpt.vlm import VLM
from tasks.caption import CAPTION
from tasks.caption_draw import CAPTION_DRAW
from tasks.draw import DRAW, SURE, TRIES

# -----------------------------------------------------------------------------
digit = 7
word = ''  # a label of the run, e.g. 'seven' or 'ankle boot'; '' draws `digit`
caption = ''  # a caption to draw from, e.g. 'a small thick two, tilted right'; '' draws a label
n = 16  # images to draw
out = 'digits.png'
temperature = 1.0
top_k = 0  # 0: no top-k cut
guidance = GUIDANCE  # classifier-free guidance weight; 0: plain sampling
tries = TRIES  # a label's picture is drawn again while the run does not read it as asked, up to this many times
sure = SURE  # ... and while the run gives the label less than this probability (0: its reading alone)
seed = 1337
out_dir = 'out/mnist_letters'
device = 'auto'
# -----------------------------------------------------------------------------


def main():
    configure(globals())  # checks digit 0-9, 1 <= n <= 10000, 0 <= temperature <= 100 (common/configurator.py)
    if not out.lower().endswith('.png'):
        raise SystemExit(f"error: --out={out!r}: the grid is written as PNG; name a .png file")
    writable_folder(os.path.dirname(out) or '.', '--out')
    vlm = VLM.from_pretrained(out_dir, device=pick_device(device))
    if word and word not in vlm.vocab['labels']:
        raise SystemExit(f"error: --word={word!r} is not a label of {out_dir}; use one of "
                         f"{', '.join(vlm.vocab['labels'])}")
    sampling = dict(temperature=temperature, top_k=top_k or None, guidance=guidance, seed=seed)
    if caption:
        vlm.needs(CAPTION_DRAW)
        prompts, label = [CAPTION_DRAW.prompt(caption)] * n, CAPTION.parse(caption, vlm.vocab)[0]
        if label < 0:  # no one label to read the drawings back as: each is drawn once
            codes = vlm.engine().draw(prompts, **sampling)
        else:
            codes = DRAW.until_read(vlm.engine(), np.full(n, label), tries, sure=sure, prompts=prompts, **sampling)[1]
        images, ok = vlm.decode(codes)
        what = repr(caption) + ('' if label >= 0 else " (it names no one label: drawn once each)")
    else:
        if not word and digit >= len(vlm.vocab['labels']):
            raise SystemExit(f"error: --digit={digit}: {out_dir} has {len(vlm.vocab['labels'])} labels (0-"
                             f"{len(vlm.vocab['labels']) - 1}); pass one of them, or --word= one of "
                             f"{', '.join(vlm.vocab['labels'])}")
        label = vlm.vocab['labels'].index(word) if word else digit
        _, images, ok = vlm.draw(np.full(n, label), tries=tries, sure=sure, **sampling)
        what = vlm.vocab['labels'][label]
    save_grid(images, max(1, int(np.sqrt(n))), out)
    print(f"drew {n} x {what} ({ok.mean():.0%} well formed) -> {out}")


if __name__ == '__main__':
    main()
