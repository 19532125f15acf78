"""common/pictures.py: grids of digits and the plots of scores are written as PNG files."""
import numpy as np
from PIL import Image

from common.pictures import confusion_heatmap, plot_curves, plot_trail, save_grid, side_by_side, tile


def test_tiles_and_plots_are_written(tmp_path):
    images = np.full((7, 28, 28), 255, dtype=np.uint8)
    grid = tile(images, 2)
    assert grid.shape == (60, 120) and grid[1, 1] == 255 and grid[0, 0] == 0  # a black frame between digits
    assert tile(images, 2)[31:59, 91:119].max() == 0  # the eighth cell has no digit
    save_grid(images, 2, str(tmp_path / 'sub' / 'grid.png'), scale=2)
    assert Image.open(tmp_path / 'sub' / 'grid.png').size == (240, 120)
    side_by_side([grid, grid], ['real', 'drawn'], str(tmp_path / 'side.png'))
    confusion_heatmap(np.eye(10, dtype=int) * 5, str(tmp_path / 'confusion.png'))
    plot_trail([[0, 1.0, 0.1, 0.05, 0.2], [100, 9.0, 0.9, 0.85, 0.95]], str(tmp_path / 'trail.png'), 'val')
    plot_curves({'letters': [[(0, 0.1), (5, 0.9), (9, None)]], 'cnn': [[(0, 0.1), (4, 0.95)]]},
                str(tmp_path / 'curves.png'))
    for name in ('side', 'confusion', 'trail', 'curves'):
        assert Image.open(tmp_path / f'{name}.png').format == 'PNG'
