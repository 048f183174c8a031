"""The listed side keeps the anchored squares that survive edits (anchored._survivors), on
generated pictures: at most LISTED_SQUARES a picture, the same rows every time, chosen among the
candidates, found again by unseen edited copies at least as often as the candidates left out; the
fixed crops are left out of anchored lists; lists made with every candidate (the earlier rule)
still match."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ocsea_match import _core
from ocsea_match.anchored import LISTED_SQUARES, anchored_hashes
from ocsea_match.robust import is_match, list_hashes, query_hashes

from helpers import jpeg, scene

PICTURES = [scene(seed, 600, 800) for seed in (41, 42)]


def _luma(img: Image.Image) -> np.ndarray:
    return _core.luma_from_rgb(np.asarray(img))


def _edits(img: Image.Image, rng: np.random.Generator, count: int) -> list[Image.Image]:
    """Crops of 0-25% off random sides, half of them mirrored, JPEG 60-90: not the listed side's own copies."""
    out = []
    w, h = img.size
    for k in range(count):
        top, bottom, left, right = (float(rng.uniform(0, 0.25)) for _ in range(4))
        copy = img.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))
        if k % 2:
            copy = copy.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out.append(Image.open(io.BytesIO(jpeg(copy, int(rng.integers(60, 91))))).convert("RGB"))
    return out


@pytest.mark.parametrize("picture", range(len(PICTURES)))
def test_kept_squares_are_a_reproducible_subset_of_the_candidates(picture):
    luma = _luma(PICTURES[picture])
    every = anchored_hashes(luma, query=False, squares=0)
    kept = anchored_hashes(luma, query=False)
    assert len(every) > LISTED_SQUARES == len(kept)
    assert set(kept) <= set(every)
    assert [h for h in every if h in set(kept)] == kept  # in the candidates' order
    assert anchored_hashes(luma.copy(), query=False) == kept  # the same rows every time
    assert anchored_hashes(luma, query=False, squares=3) == anchored_hashes(luma, query=False, squares=3)
    assert len(anchored_hashes(luma, query=False, squares=3)) == 3
    few = anchored_hashes(luma, query=False, squares=len(every) + 5)
    assert few == every  # fewer candidates than asked for: all of them


def test_kept_squares_survive_unseen_edits_better_than_the_rest():
    """Over edited copies the listed side never made, a kept square is found again (a query
    square within 16 bits) more often than a candidate left out, on both pictures together."""
    rates = {"kept": [], "left": []}
    for picture in PICTURES:
        luma = _luma(picture)
        every = anchored_hashes(luma, query=False, squares=0)
        kept = set(anchored_hashes(luma, query=False))
        rows = np.stack([h.to_array() for h in every])
        for copy in _edits(picture, np.random.default_rng(7), 6):
            queried = anchored_hashes(_luma(copy), query=True)
            if not queried:
                continue
            nearest = _core.hamming_many_to_many(rows, np.stack([h.to_array() for h in queried]), 1).min(axis=1)
            for h, d in zip(every, nearest):
                rates["kept" if h in kept else "left"].append(d <= 16)
    # here 0.23 of the kept squares against 0.08 of the others (2 x 6 copies x 10 and 34 squares)
    assert np.mean(rates["kept"]) > 1.5 * np.mean(rates["left"])
    assert np.mean(rates["kept"]) > 0.1


def test_anchored_lists_leave_out_the_fixed_crops_and_every_rule_still_matches():
    picture = PICTURES[0]
    frame = list_hashes(picture, anchored=False)
    anchored = list_hashes(picture, anchored=True)
    assert anchored[0] == frame[0]  # the plain PDQ first, always
    assert len(anchored) <= 2 + LISTED_SQUARES  # the trims, if any, and the squares
    assert not set(frame[1:]) & set(anchored[1:])  # no centre or one-side crop (this picture has no bars)
    # a list made as before (the fixed crops and every candidate square) is PDQ rows all the same
    earlier = frame + anchored_hashes(_luma(picture), query=False, squares=0)
    w, h = picture.size
    repost = Image.open(io.BytesIO(jpeg(picture.crop((round(0.1 * w), round(0.04 * h), w, round(0.83 * h))), 85)))
    queries = query_hashes(repost, anchored=True)
    assert is_match(queries, anchored) and is_match(queries, earlier)
    assert not is_match(queries, list_hashes(PICTURES[1], anchored=True))


def test_simulated_copies_of_a_long_strip_are_pictures() -> None:
    # a scrolling screenshot's shape: a tilt's corners would cut the narrow side away entirely
    # (cv2.resize then refused the empty copy); the strip stays upright instead
    from ocsea_match import anchored

    rng = np.random.default_rng(3)
    for shape in ((20, 400), (400, 20), (60, 512), (512, 40)):
        strip = rng.integers(0, 256, shape, dtype=np.uint8)
        for k in range(40):
            copy, cut = anchored._simulated_copy(strip, rng, mirror=k % 2 == 1)
            assert copy.dtype == np.float32 and min(copy.shape) >= 32
            assert cut.shape == (4,) and (0 <= cut).all() and (cut < 0.5).all()
