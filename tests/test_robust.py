"""Robust matching (ocsea_match.robust) on generated pictures: the plain PDQ hash is kept as it is,
re-framed copies match their original, different pictures do not, bad input fails as in hash_image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocsea_match import MediaError, hash_image
from ocsea_match.robust import (
    DIHEDRAL,
    PLAIN_THRESHOLD,
    THRESHOLD,
    _bars,
    best_distance,
    is_match,
    list_hashes,
    query_hashes,
)

from helpers import caption, jpeg, scene

ORIGINAL = scene(1)
LISTED = list_hashes(ORIGINAL)


def pad(img: Image.Image, share: float, colour: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    w, h = img.size
    canvas = Image.new("RGB", (round(w * (1 + 2 * share)), round(h * (1 + 2 * share))), colour)
    canvas.paste(img, (round(w * share), round(h * share)))
    return canvas


def crop(img: Image.Image, share: float) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * share), round(h * share), w - round(w * share), h - round(h * share)))


def banner(img: Image.Image) -> Image.Image:
    out = img.copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, round(h * 0.85), w, h), fill="white")
    draw.text((20, round(h * 0.88)), "shared 1,024 times", fill="black", font=ImageFont.load_default(size=30))
    return out


def caption_strip(img: Image.Image) -> Image.Image:
    return caption(img, "when it finally works", 0.2, (250, 220, 40), "black", 40)


# ------------------------------------------------------------------------------------ the plain hash


@pytest.mark.parametrize("make", [
    lambda: ORIGINAL,
    lambda: np.asarray(ORIGINAL),
    lambda: np.asarray(ORIGINAL.convert("L")),
    lambda: jpeg(ORIGINAL),
], ids=["pil", "rgb-array", "gray-array", "jpeg-bytes"])
def test_plain_pdq_comes_first_and_equals_hash_image(make):
    image = make()
    plain = hash_image(image, ["pdq"])["pdq"]
    assert list_hashes(image)[0] == plain
    assert query_hashes(image)[0] == plain
    assert list_hashes(image)[0].quality == plain.quality


def test_plain_pdq_in_fast_mode_too(tmp_path):
    big = scene(2, 1600, 2000)  # large enough for fast mode to decode the JPEG at a reduced scale
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg(big, 90))
    for mode in ("fast", "exact"):
        plain = hash_image(path, ["pdq"], mode=mode)["pdq"]
        assert list_hashes(path, mode=mode)[0] == plain
        assert query_hashes(path, mode=mode)[0] == plain
    assert hash_image(path, ["pdq"], mode="fast")["pdq"] != hash_image(path, ["pdq"])["pdq"]


def test_hashes_are_distinct_pdq_rows():
    for hashes in (LISTED, query_hashes(ORIGINAL)):
        assert len(hashes) == len(set(hashes)) > 1
        assert all(h.algorithm == "pdq" and h.nbits == 256 for h in hashes)
    assert len(list_hashes(ORIGINAL, anchored=False)) <= 9  # plain, trimmed, 3 centre, 4 one-side crops
    assert len(LISTED) <= 9 + 45  # and the squares framed by pairs of 10 keypoints


@pytest.mark.parametrize("shape", [(200, 300, 3), (3, 3, 3), (1, 40)])
def test_flat_or_tiny_pictures_get_only_their_plain_hash(shape):
    image = np.full(shape, 90, np.uint8)
    image.flat[0] = 200  # not quite flat: still no derived hash of quality 50
    plain = hash_image(image, ["pdq"])["pdq"]
    assert list_hashes(image) == [plain]
    assert query_hashes(image)[0] == plain


# ------------------------------------------------------------------------------------ matching


REFRAMED = {
    "pad 10% black": lambda img: pad(img, 0.10),
    "pad 7% grey, jpeg": lambda img: Image.open(io.BytesIO(jpeg(pad(img, 0.07, (128, 128, 128))))),
    "crop 5% per side": lambda img: crop(img, 0.05),
    "banner over the bottom 15%": banner,
    "caption strip added on top": caption_strip,
    "rotated 6 degrees on a black canvas": lambda img: img.rotate(6, Image.Resampling.BICUBIC, expand=True),
}


@pytest.mark.parametrize("name", list(REFRAMED))
def test_reframed_copy_matches_by_robust_hashes_and_not_by_plain_pdq(name):
    copy = REFRAMED[name](ORIGINAL)
    queries = query_hashes(copy)
    assert queries[0] - LISTED[0] > PLAIN_THRESHOLD  # plain PDQ misses it ...
    assert best_distance(queries, LISTED) <= THRESHOLD  # ... the robust hashes find it
    assert is_match(queries, LISTED)


@pytest.mark.parametrize("name", ["mirror", "rotate 90", "jpeg q40"])
def test_copies_plain_pdq_dihedral_finds_still_match(name):
    copy = {
        "mirror": lambda: ORIGINAL.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "rotate 90": lambda: ORIGINAL.transpose(Image.Transpose.ROTATE_90),
        "jpeg q40": lambda: jpeg(ORIGINAL, 40),
    }[name]()
    assert is_match(query_hashes(copy), LISTED)


@pytest.mark.parametrize("turn", list(Image.Transpose), ids=lambda t: t.name)
def test_rotations_and_flips_match_by_pdq_dihedrals_rule_alone(turn):
    """The rule includes PDQ-dihedral's: the first DIHEDRAL query hashes against the listed plain
    one at PDQ's own threshold, whatever the robust threshold."""
    queries = query_hashes(jpeg(ORIGINAL.transpose(turn), 50))
    assert len(queries) > DIHEDRAL and len(set(queries[:DIHEDRAL])) == DIHEDRAL
    assert min(q - LISTED[0] for q in queries[:DIHEDRAL]) <= PLAIN_THRESHOLD
    assert is_match(queries, LISTED[:1], threshold=0)
    assert not is_match(query_hashes(scene(3).transpose(turn)), LISTED[:1], threshold=0)


def test_whatever_plain_pdq_matches_robust_matches():
    copy = jpeg(ORIGINAL, 60)
    plain = hash_image(copy, ["pdq"])["pdq"]
    assert plain - LISTED[0] <= PLAIN_THRESHOLD
    assert is_match([plain], LISTED[:1], threshold=0)  # the plain rule alone, whatever the threshold


def test_different_pictures_do_not_match():
    others = [scene(seed) for seed in (3, 4, 5)]
    for other in others:
        for copy in (other, pad(other, 0.1), crop(other, 0.05), banner(other)):
            queries = query_hashes(copy)
            assert best_distance(queries, LISTED) > THRESHOLD
            assert not is_match(queries, LISTED)


def test_empty_sides_never_match():
    assert not is_match([], LISTED)
    assert not is_match(query_hashes(ORIGINAL), [])
    assert best_distance([], LISTED) == 257


# ------------------------------------------------------------------------------------ border finding


def test_bars_of_any_colour_with_text_are_trimmed():
    luma = np.asarray(caption_strip(ORIGINAL).convert("L"), dtype=np.float32)
    top, bottom, left, right = _bars(luma)
    assert abs(top - round(ORIGINAL.height * 0.2)) <= 2
    assert (bottom, left, right) == (luma.shape[0], 0, luma.shape[1])


def test_a_flat_sky_fading_into_the_picture_is_not_a_bar():
    h, w = 400, 600
    sky = np.tile(np.linspace(200, 120, h // 2, dtype=np.float32)[:, None], (1, w))  # fades downwards
    ground = np.asarray(scene(6, h // 2, w).convert("L"), dtype=np.float32) * 0.5 + 60
    assert _bars(np.ascontiguousarray(np.vstack([sky, ground]))) is None


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("bad, code", [
    (np.zeros((0, 5, 3), np.uint8), "empty-image"),
    (np.zeros((8, 8), np.float32), "bad-input"),
    (np.zeros((8, 8, 2), np.uint8), "bad-input"),
    (b"certainly not a picture", "not-media"),
    ("/nonexistent/picture.jpg", "not-found"),
    (12345, "bad-input"),
])
def test_bad_input_raises_media_error_like_hash_image(bad, code):
    with pytest.raises(MediaError) as plain:
        hash_image(bad, ["pdq"])
    assert plain.value.code == code
    for func in (list_hashes, query_hashes):
        with pytest.raises(MediaError) as robust:
            func(bad)
        assert robust.value.code == code
