"""eval/picture.py: one picture a person gives, made into a 28x28 picture the way the dataset's were."""
import numpy as np
import pytest
from PIL import Image

from eval.picture import BOXES, load_digit


def test_a_stroke_on_a_transparent_background_is_ink(tmp_path):
    rgba = np.zeros((56, 56, 4), np.uint8)
    rgba[10:46, 26:30] = (255, 255, 255, 255)  # a white vertical bar, opaque; the rest transparent
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'one.png')
    digit = load_digit(str(tmp_path / 'one.png'))
    assert digit[:, 13:15].mean() > 150 and digit[:, :8].max() == 0 and digit.mean() < 60


def test_the_ink_fills_the_box_of_its_dataset(tmp_path):
    square = np.zeros((100, 100), np.uint8)
    square[20:60, 30:70] = 255  # dark paper, light ink: a 40x40 square off-centre
    Image.fromarray(square).save(tmp_path / 'square.png')
    for dataset, box in BOXES.items():
        digit = load_digit(str(tmp_path / 'square.png'), dataset=dataset)
        rows, cols = np.nonzero(digit > 64)
        assert digit.shape == (28, 28) and digit.dtype == np.uint8 and digit.max() == 255
        assert rows.max() - rows.min() + 1 == box == cols.max() - cols.min() + 1  # MNIST 20x20, Fashion 28x28
        assert abs(rows.mean() - 13.5) <= 0.5 and abs(cols.mean() - 13.5) <= 0.5  # centred by its mass


def test_load_digit_rejects_bad_images_with_one_line(tmp_path):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / 'small.png')
    (tmp_path / 'text.png').write_text('not an image')
    Image.new('L', (5000, 5000)).save(tmp_path / 'huge.png')  # 25 million pixels: a few KB on disk
    Image.new('L', (60, 60), 128).save(tmp_path / 'flat.png')
    nan = np.zeros((60, 60), np.float32)
    nan[20:40, 28:32], nan[5, 5] = 1.0, np.nan  # a stroke, and one pixel that is not a number
    Image.fromarray(nan, 'F').save(tmp_path / 'nan.tiff')
    for name, message in (('small.png', '20x20 pixels'), ('text.png', 'not a readable image'),
                          ('missing.png', 'not found'), ('huge.png', 'shrink it first'), ('flat.png', 'no ink'),
                          ('nan.tiff', 'not numbers (NaN or infinity)')):
        with pytest.raises(SystemExit) as e:
            load_digit(str(tmp_path / name))
        assert message in str(e.value) and '\n' not in str(e.value)
