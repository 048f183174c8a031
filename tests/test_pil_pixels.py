"""picture.pil_pixels: a PIL picture's pixels read in place through Pillow's Arrow export, the same
values as ``np.asarray(img)``, with the copy as the fallback (issue #17, small pictures)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ocsea_match import _core
from ocsea_match.picture import pil_pixels

ARROW = hasattr(Image.Image, "__arrow_c_array__")


@pytest.mark.parametrize("size", [(1, 1), (7, 3), (693, 433), (64, 2000)])
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_same_values_as_numpy_asarray(mode: str, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(size[0] * size[1])
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    img = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    ours = pil_pixels(img)
    if mode == "RGB" and ARROW:
        assert ours.shape == (*shape[:2], 4)  # read in place: Pillow's 4 bytes a pixel
        ours = ours[:, :, :3]
    assert np.array_equal(ours, np.asarray(img))


def test_pixels_outlive_the_picture() -> None:
    img = Image.fromarray(np.full((40, 50, 3), 77, np.uint8), "RGB")
    pixels = pil_pixels(img)
    del img
    assert int(pixels[:, :, :3].min()) == int(pixels[:, :, :3].max()) == 77


def test_large_pictures_fall_back_to_a_copy() -> None:
    img = Image.new("RGB", (5000, 4000), (1, 2, 3))  # more than one of Pillow's blocks
    pixels = pil_pixels(img)
    assert pixels.shape[:2] == (4000, 5000) and pixels[3999, 4999, :3].tolist() == [1, 2, 3]


@pytest.mark.skipif(not ARROW, reason="Pillow without the Arrow export")
def test_other_layouts_are_refused() -> None:
    rgba = Image.new("RGBA", (4, 4)).__arrow_c_array__()
    _core.arrow_pixels(*rgba)  # 4 bytes a pixel as well: the layout is accepted
    with pytest.raises(ValueError):
        _core.arrow_pixels(*Image.new("I", (4, 4)).__arrow_c_array__())
    with pytest.raises((ValueError, TypeError)):
        _core.arrow_pixels(object(), object())
