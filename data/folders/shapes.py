"""A colour dataset of one's own making: 32x32 RGB PNGs of shapes, in ImageFolder's layout, with captions.

    python -m data.folders.shapes --out=shapes        # then `make all IMAGES=shapes`

Ten labels, five shapes in two colours ('red circle', 'blue circle', ..., 'blue cross'): neither the
colour alone nor the shape alone tells a label, so a reader that drops colour cannot pass 0.5. Each
picture varies what does not name it: the shape's size, place and turn, its hue within its colour,
a ground of a random other colour shading across the picture, pixel noise, and a small blob of a
third colour. Drawn four times larger and scaled down, so edges are smooth as a photo's.

captions.jsonl (beside train/ and test/) says what else is in each picture, in words a reader can
check ('a small red circle at the top left on green'): the caption task's data (docs/your_pictures.md).
Made from nothing but numpy and PIL, seeded: the same command writes the same bytes.
"""
import json
import math
import os
import sys

if __name__ == '__main__' and not __package__:
    raise SystemExit("error: run it as a module from the project root: python -m data.folders.shapes --out=...")

import numpy as np

SHAPES = ('circle', 'square', 'triangle', 'star', 'cross')
COLOURS = {'red': 0.0, 'blue': 0.62}  # hue of each named colour, in [0, 1)
GROUNDS = {'green': 0.33, 'yellow': 0.15, 'purple': 0.8, 'grey': None}  # the ground's colour: never a label's
SIDE, SCALE = 32, 4

# -----------------------------------------------------------------------------
out = ''  # the folder to write: train/<label>/*.png, test/<label>/*.png, captions.jsonl
train_per_label = 700  # 7,000 training pictures
test_per_label = 100  # 1,000 test pictures
seed = 1337  # the same seed writes the same pictures
# -----------------------------------------------------------------------------


def hsv(h, s, v):
    """A colour as (r, g, b) in 0..255 from hue, saturation and value in [0, 1]."""
    i = int(h * 6) % 6
    f = h * 6 - math.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return tuple(int(round(255 * c)) for c in rgb)


def outline(shape, cx, cy, r, turn):
    """The polygon (or circle box) of a shape of radius r centred at (cx, cy), turned by `turn` radians."""
    if shape == 'circle':
        return [(cx - r, cy - r), (cx + r, cy + r)]
    if shape == 'square':
        corners = [(math.pi / 4 + k * math.pi / 2) for k in range(4)]
        return [(cx + r * math.cos(a + turn), cy + r * math.sin(a + turn)) for a in corners]
    if shape == 'triangle':
        return [(cx + r * math.cos(a + turn), cy + r * math.sin(a + turn)) for a in
                (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    if shape == 'star':
        return [(cx + (r if k % 2 == 0 else 0.45 * r) * math.cos(turn - math.pi / 2 + k * math.pi / 5),
                 cy + (r if k % 2 == 0 else 0.45 * r) * math.sin(turn - math.pi / 2 + k * math.pi / 5))
                for k in range(10)]
    w = 0.33 * r  # cross: a plus of arms r long and 2w wide
    arm = [(w, r), (w, w), (r, w), (r, -w), (w, -w), (w, -r), (-w, -r), (-w, -w), (-r, -w), (-r, w), (-w, w), (-w, r)]
    c, s = math.cos(turn), math.sin(turn)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in arm]


def picture(rng, shape, colour):
    """One picture (PIL RGB, SIDE x SIDE) and the words that caption it."""
    from PIL import Image, ImageDraw
    big = SIDE * SCALE
    ground = str(rng.choice(list(GROUNDS)))
    hue = GROUNDS[ground]
    a = hsv(hue, 0.5, 0.35) if hue is not None else (90, 90, 90)
    b = hsv(hue, 0.6, 0.6) if hue is not None else (150, 150, 150)
    t = np.linspace(0, 1, big)[None, :, None] if rng.random() < 0.5 else np.linspace(0, 1, big)[:, None, None]
    shade = (1 - t) * np.array(a) + t * np.array(b)
    img = Image.fromarray(np.broadcast_to(shade, (big, big, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    other = hsv(rng.choice([0.1, 0.45, 0.9]), 0.7, 0.9)  # a small blob of a third colour, somewhere
    bx, by = rng.uniform(0, big, 2)
    draw.ellipse([bx - 2 * SCALE, by - 2 * SCALE, bx + 2 * SCALE, by + 2 * SCALE], fill=other)
    size = 'small' if rng.random() < 0.5 else 'large'
    r = rng.uniform(5, 7.5) if size == 'small' else rng.uniform(9, 12)
    cx, cy = rng.uniform(r + 1, SIDE - r - 1, 2)
    fill = hsv((COLOURS[colour] + rng.uniform(-0.04, 0.04)) % 1, rng.uniform(0.75, 1), rng.uniform(0.75, 1))
    points = outline(shape, cx * SCALE, cy * SCALE, r * SCALE, rng.uniform(0, 2 * math.pi))
    (draw.ellipse if shape == 'circle' else draw.polygon)(points, fill=fill)
    small = np.asarray(img.resize((SIDE, SIDE), Image.LANCZOS), dtype=np.float32)
    small = np.clip(small + rng.normal(0, 6, small.shape), 0, 255).astype(np.uint8)
    where = f"{'top' if cy < SIDE / 2 else 'bottom'} {'left' if cx < SIDE / 2 else 'right'}"
    return Image.fromarray(small), f"a {size} {colour} {shape} at the {where} on {ground}"


def write(folder, per_train, per_test, seed_):
    """The whole folder: every picture of every label and split, then captions.jsonl."""
    if os.path.exists(os.path.join(folder, 'train')):
        raise SystemExit(f"error: {folder}/train exists; pass a new --out (nothing was written)")
    rng = np.random.default_rng(seed_)
    captions = []
    for split, n in (('train', per_train), ('test', per_test)):
        for colour in COLOURS:
            for shape in SHAPES:
                label = f'{colour} {shape}'
                os.makedirs(os.path.join(folder, split, label), exist_ok=True)
                for i in range(n):
                    img, text = picture(rng, shape, colour)
                    name = f'{split}/{label}/{i:05d}.png'
                    img.save(os.path.join(folder, name))
                    captions.append(dict(image=name, text=text))
    with open(os.path.join(folder, 'captions.jsonl'), 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(c) + '\n' for c in captions)
    return len(captions)


def main():
    from common.configurator import configure
    configure(globals())
    if not out:
        raise SystemExit("error: pass the folder to write: python -m data.folders.shapes --out=shapes")
    n = write(out, train_per_label, test_per_label, seed)
    print(f"{out}: {n:,} pictures of {SIDE}x{SIDE} RGB, {len(COLOURS) * len(SHAPES)} labels, captions.jsonl",
          file=sys.stderr)


if __name__ == '__main__':
    main()
