"""The native LANCZOS shrink (``_core.lanczos_gray``) gives Pillow's bytes, so the imagehash family
(pHash, dHash, aHash, wHash) stays bit-exact while it runs 5-7x quicker than Pillow's resize.

Pillow's resize rounds to bytes between its two passes, so their order is part of the result;
Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many pixels
as the width. The sizes below are random (shrinking, enlarging, one-pixel sides, extreme ratios)
and the test checks that both orders occur among them, so a wrong order cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ocsea_match import _core
from ocsea_match.hashers import native_resize_matches_pillow, shrink_gray

LANCZOS = Image.Resampling.LANCZOS


def _pillow(a: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.asarray(Image.fromarray(a, "L").resize((w, h), LANCZOS))


def _content(rng: np.random.Generator, kind: int, h: int, w: int) -> np.ndarray:
    if kind == 0:
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == 1:  # two levels: the widest swings, where clipping and rounding show
        return np.where(rng.random((h, w)) < 0.5, 0, 255).astype(np.uint8)
    if kind == 2:
        return np.full((h, w), int(rng.integers(0, 256)), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx * 7 + yy * 3) % 256).astype(np.uint8)


def _sizes(rng: np.random.Generator, n: int) -> list[tuple[int, int, int, int]]:
    out = []
    for i in range(n):
        h, w = int(rng.integers(1, 300)), int(rng.integers(1, 300))
        if i % 3 == 0:
            new_w, new_h = [(32, 32), (9, 8), (8, 8), (64, 64)][i % 4]
        else:
            new_w, new_h = int(rng.integers(1, 120)), int(rng.integers(1, 120))
        out.append((h, w, new_h, new_w))
    out += [(1, 1, 32, 32), (1, 500, 8, 8), (500, 1, 8, 8), (2000, 3, 32, 32), (3, 2000, 32, 32), (32, 32, 32, 32)]
    return out


@pytest.fixture(scope="module")
def native() -> None:
    if not native_resize_matches_pillow():
        pytest.skip("this Pillow's LANCZOS is not Pillow 13's: hashers shrinks with Pillow itself")


def test_lanczos_gray_equals_pillow_on_random_sizes(native: None) -> None:
    rng = np.random.default_rng(2026)
    orders = set()
    for i, (h, w, new_h, new_w) in enumerate(_sizes(rng, 1200)):
        a = _content(rng, i % 4, h, w)
        got, want = _core.lanczos_gray(a, new_w, new_h), _pillow(a, new_w, new_h)
        assert got.shape == (new_h, new_w) and got.dtype == np.uint8
        assert np.array_equal(got, want), ((h, w), (new_h, new_w), i % 4)
        if i % 4 == 0 and new_w != w and new_h != h:
            horizontal_first = _pillow(_pillow(a, new_w, h), new_w, new_h)
            vertical_first = _pillow(_pillow(a, w, new_h), new_w, new_h)
            if not np.array_equal(horizontal_first, vertical_first):
                orders.add("h" if np.array_equal(want, horizontal_first) else "v")
    assert orders == {"h", "v"}, orders  # both pass orders were met and matched


def test_lanczos_gray_on_a_picture_sized_as_phones_and_cameras_make(native: None) -> None:
    rng = np.random.default_rng(5)
    for h, w in ((410, 730), (730, 410), (1080, 1920), (3000, 4000)):
        a = rng.integers(0, 256, (h, w), dtype=np.uint8)
        for new_w, new_h in ((32, 32), (9, 8), (8, 8), (256, 256)):
            assert np.array_equal(_core.lanczos_gray(a, new_w, new_h), _pillow(a, new_w, new_h)), (h, w, new_w, new_h)


def test_shrink_gray_is_pillow_whichever_path_it_takes() -> None:
    rng = np.random.default_rng(9)
    img = Image.fromarray(rng.integers(0, 256, (123, 77), dtype=np.uint8), "L")
    for size in ((32, 32), (9, 8), (8, 8), (64, 64)):
        assert np.array_equal(shrink_gray(img, *size), np.asarray(img.resize(size, LANCZOS)))


def test_lanczos_gray_refuses_empty_sizes() -> None:
    with pytest.raises(ValueError):
        _core.lanczos_gray(np.zeros((4, 4), np.uint8), 0, 4)
    with pytest.raises(ValueError):
        _core.lanczos_gray(np.zeros((0, 4), np.uint8), 4, 4)
