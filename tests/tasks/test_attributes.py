"""The attribute measures on hand-made pictures: a thick stroke measures thick, a stroke leaning right
leans right, and the levels come from the training distribution's terciles."""
import os

import numpy as np
import pytest

from tasks.attributes import ATTRIBUTES, LEVELS, measure, tercile_cuts, to_levels


def bar(width, height=20, lean=0.0, top=4, left=12):
    """A white stroke on black, `width` pixels wide, its column moving `lean` pixels right per row up."""
    img = np.zeros((28, 28), dtype=np.uint8)
    for r in range(top, top + height):
        c = int(round(left + lean * (top + height - 1 - r)))
        img[r, c:c + width] = 255
    return img


def test_a_thicker_stroke_measures_thicker_and_lands_in_the_thick_level():
    strokes = np.stack([bar(w) for w in (1, 2, 3, 4, 5)])
    t = measure(strokes, 'mnist')['thickness']
    assert np.all(np.diff(t) > 0)
    assert t[1] == pytest.approx(40 / 22)  # 2 x 20 ink pixels, 2 x (20 + 2) edges: close to the width
    cuts = tercile_cuts(measure(np.stack([bar(w) for w in (1, 2, 2, 3, 3, 4)]), 'mnist'))
    levels = to_levels(measure(np.stack([bar(1), bar(5)]), 'mnist'), cuts)
    assert [LEVELS['thickness'][v] for v in levels['thickness']] == ['thin', 'thick']


def test_slant_says_which_way_a_stroke_leans_and_size_its_box():
    m = measure(np.stack([bar(2, lean=0.4), bar(2), bar(2, lean=-0.4, left=20)]), 'mnist')
    assert m['slant'][0] > 0.3 and abs(m['slant'][1]) < 1e-9 and m['slant'][2] < -0.3
    small, large = bar(3, height=8), bar(12, height=20, left=8)
    assert list(measure(np.stack([small, large]), 'mnist')['size']) == [3 * 8, 12 * 20]
    assert measure(np.zeros((1, 28, 28), dtype=np.uint8), 'mnist')['size'][0] == 0  # an empty picture is no error


def test_slant_is_the_inks_second_moments_about_its_centre():
    w = np.random.default_rng(0).integers(0, 256, (20, 28, 28)).astype(np.float64) * \
        (np.random.default_rng(1).random((20, 28, 28)) < 0.2)
    y, x = np.mgrid[:28, :28]
    my, mx = ((w * c).sum((1, 2)) / w.sum((1, 2)) for c in (y, x))
    dy, dx = y - my[:, None, None], x - mx[:, None, None]
    want = -(w * dx * dy).sum((1, 2)) / (w * dy * dy).sum((1, 2))
    assert np.allclose(measure(w.astype(np.uint8), 'mnist')['slant'], want, rtol=1e-9, atol=1e-12)


def test_fashion_brightness_and_fill():
    solid = np.zeros((28, 28), dtype=np.uint8)
    solid[4:24, 4:24] = 200
    sparse = solid.copy()
    sparse[6:22, 6:22] = 0
    dark = (solid // 4).astype(np.uint8)
    m = measure(np.stack([solid, sparse, dark]), 'fashion_mnist')
    assert m['fill'][0] == 1.0 and m['fill'][1] < 0.5
    assert m['brightness'][0] == pytest.approx(200) and m['brightness'][2] == pytest.approx(50)
    assert set(m) == set(ATTRIBUTES['fashion_mnist'])
    with pytest.raises(SystemExit, match='no attributes are measured'):
        measure(np.stack([solid]), 'cifar')


@pytest.mark.skipif(not os.environ.get('MNIST_DIR'), reason='MNIST_DIR not set: the real digits are not here')
def test_terciles_of_real_digits_split_them_into_levels_of_a_fifth_or_more():
    from data.mnist import load_split
    images, _ = load_split('train')
    values = measure(images[:6000], 'mnist')
    shares = {a: np.bincount(v, minlength=3) / 6000 for a, v in to_levels(values, tercile_cuts(values)).items()}
    for a in ('thickness', 'slant'):  # continuous: thirds
        assert np.all(np.abs(shares[a] - 1 / 3) < 0.02), a
    # a box area is a whole number of pixels, mostly 20 rows times a width: ties fall into the higher level
    assert np.all(shares['size'] > 0.2) and shares['size'].max() < 0.5
