"""Facts measured from a picture's pixels: what a caption (tasks/caption.py) says besides the label.

    values = measure(images, 'mnist')           # {'size': (N,), 'thickness': (N,), 'slant': (N,)}
    cuts = tercile_cuts(values)                 # from the training images
    levels = to_levels(values, cuts)            # {'size': 0|1|2 per image, ...}

Each attribute is one number per 28x28 uint8 image, cut into three levels at the terciles of
the training images, so each level holds about a third of them. Ink is a pixel >= 128.
- size: the area of the ink's bounding box, in pixels.
- thickness: ink per stroke length. A stroke of width w and length L has w*L ink pixels and
  about 2*(L + w) ink-to-background edges, so ink area over half the edge count is close to w.
- slant: the shear of the ink, -mu11/mu02 of its image moments (rows grow downwards, so a digit
  whose top lies to the right has a negative mu11): above 0 leans right, below 0 leans left.
- brightness (Fashion-MNIST): the mean intensity of the item's pixels (those above 0).
- fill (Fashion-MNIST): the share of the bounding box the item covers.
MNIST's digits are centred by their centre of mass, so position in the frame tells nothing
there; Fashion-MNIST's items fill their frame, so their slant and thickness mean little.
"""
import numpy as np

INK = 128
# the attributes of each dataset, and the words of each attribute's three levels (low, middle, high)
ATTRIBUTES = {
    'mnist': ('size', 'thickness', 'slant'),
    'fashion_mnist': ('size', 'brightness', 'fill'),
}
LEVELS = {
    'size': ('small', 'medium', 'large'),
    'thickness': ('thin', 'regular', 'thick'),
    'slant': ('tilted left', 'upright', 'tilted right'),
    'brightness': ('dark', 'grey', 'light'),
    'fill': ('sparse', 'half-filled', 'solid'),
}


def attributes_of(dataset):
    if dataset not in ATTRIBUTES:
        raise SystemExit(f"error: no attributes are measured for dataset {dataset!r}; use one of "
                         f"{', '.join(ATTRIBUTES)}")
    return ATTRIBUTES[dataset]


def _box(ink):
    """Height and width of each image's ink bounding box (0 for an empty image)."""
    rows, cols = ink.any(2), ink.any(1)

    def extent(m):
        first = m.argmax(1)
        last = m.shape[1] - 1 - m[:, ::-1].argmax(1)
        return np.where(m.any(1), last - first + 1, 0)
    return extent(rows), extent(cols)


def size(images):
    h, w = _box(np.asarray(images) >= INK)
    return (h * w).astype(np.float64)


def thickness(images):
    ink = np.pad(np.asarray(images) >= INK, ((0, 0), (1, 1), (1, 1)))
    edges = (ink[:, 1:, :] != ink[:, :-1, :]).sum((1, 2)) + (ink[:, :, 1:] != ink[:, :, :-1]).sum((1, 2))
    return ink.sum((1, 2)) / np.maximum(edges / 2, 1)


def slant(images):
    # the ink's central moments as matrix products over the pixels' coordinates (sum w(x-mx)(y-my) is
    # sum wxy - total mx my): ten times faster than moments taken about each picture's centre
    w = np.asarray(images, dtype=np.float64)
    y, x = (c.ravel().astype(np.float64) for c in np.mgrid[:w.shape[1], :w.shape[2]])
    w = w.reshape(len(w), -1)
    total = np.maximum(w.sum(1), 1e-9)
    my, mx = w @ y / total, w @ x / total
    mu11, mu02 = w @ (x * y) - total * mx * my, w @ (y * y) - total * my * my
    return -mu11 / np.maximum(mu02, 1e-9)


def brightness(images):
    a = np.asarray(images, dtype=np.float64)
    on = a > 0
    return (a * on).sum((1, 2)) / np.maximum(on.sum((1, 2)), 1)


def fill(images):
    on = np.asarray(images) > 0
    h, w = _box(on)
    return on.sum((1, 2)) / np.maximum(h * w, 1)


MEASURES = dict(size=size, thickness=thickness, slant=slant, brightness=brightness, fill=fill)


def measure(images, dataset, batch=10000):
    """Each attribute of the dataset, measured on uint8 images (N, S, S): {name: float array (N,)}; pictures in
    colour (N, S, S, 3) are measured on their brightness."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images.mean(-1).round().astype(np.uint8)
    return {a: np.concatenate([MEASURES[a](images[i:i + batch]) for i in range(0, len(images), batch)] or [np.zeros(0)])
            for a in attributes_of(dataset)}


def tercile_cuts(values):
    """The two cut points of each attribute that split these (training) values into thirds."""
    return {a: [float(c) for c in np.quantile(v, [1 / 3, 2 / 3])] for a, v in values.items()}


def to_levels(values, cuts):
    """Each value's level, 0 (low), 1 or 2 (high), by the cut points."""
    return {a: np.digitize(v, cuts[a]).astype(np.int64) for a, v in values.items()}
