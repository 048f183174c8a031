"""mode="fast": JPEGs decoded at reduced scale; how far it may drift from mode="exact"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ocsea_match import Hash, hash_file, hash_image


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(11)
    base = Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)).resize((3600, 2400), Image.Resampling.BICUBIC)
    base = base.filter(ImageFilter.GaussianBlur(6))
    path = tmp_path_factory.mktemp("fast") / "big.jpg"
    base.save(path, quality=88)
    return path


def distance(a: dict, b: dict, name: str) -> int:
    return Hash.from_hex(name, a["hashes"][name]["hex"]) - Hash.from_hex(name, b["hashes"][name]["hex"])


def test_fast_decodes_fewer_pixels_and_stays_close(big_jpeg: Path) -> None:
    exact = hash_file(big_jpeg, ["pdq", "phash"], mode="exact")
    fast = hash_file(big_jpeg, ["pdq", "phash"], mode="fast")
    assert "decoded_size" not in exact
    assert fast["decoded_size"] == [1800, 1200]  # 1/2 scale: 1/4 would go under 768 px
    assert (fast["width"], fast["height"]) == (exact["width"], exact["height"]) == (3600, 2400)
    assert fast["md5"] == exact["md5"]
    assert distance(exact, fast, "pdq") <= 16
    assert distance(exact, fast, "phash") <= 3


def test_fast_equals_exact_when_no_reduction_is_possible(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    jpg = tmp_path / "small.jpg"
    png = tmp_path / "big.png"
    images["photo-400x300"].save(jpg, quality=90)
    images["photo-400x300"].resize((2000, 1500)).save(png)
    for path in (jpg, png):
        exact = hash_file(path, ["pdq", "whash"], mode="exact")
        fast = hash_file(path, ["pdq", "whash"], mode="fast")
        assert exact["hashes"] == fast["hashes"]


def test_fast_decode_size_follows_the_algorithms(big_jpeg: Path) -> None:
    # pHash alone shrinks to 32 px: a 1/8 decode (450x300 of 3600x2400) keeps both sides >= 256
    assert hash_file(big_jpeg, ["phash"], mode="fast")["decoded_size"] == [450, 300]
    assert hash_file(big_jpeg, ["phash", "pdq"], mode="fast")["decoded_size"] == [1800, 1200]
    assert hash_file(big_jpeg, ["whash"], mode="fast")["decoded_size"] == [1800, 1200]


def test_in_memory_pixels_are_hashed_as_given(images: dict[str, Image.Image]) -> None:
    photo = images["photo-400x300"]
    assert hash_image(photo, ["pdq"], mode="fast") == hash_image(photo, ["pdq"], mode="exact")


def test_unknown_mode_is_refused(big_jpeg: Path) -> None:
    with pytest.raises(ValueError):
        hash_file(big_jpeg, ["pdq"], mode="turbo")


def test_exif_orientation_is_reported_and_displayed_hashes_on_request(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    photo = images["photo-400x300"]
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: a viewer rotates it 90 degrees clockwise
    path = tmp_path / "turned.jpg"
    photo.save(path, quality=95, exif=exif.tobytes())
    plain = hash_file(path, ["pdq"])
    assert plain["exif_orientation"] == 6 and "hashes_displayed" not in plain
    record = hash_file(path, ["pdq"], displayed=True)
    assert record["status"] == "ok", record["error"]
    assert record["hashes"] == plain["hashes"]  # as stored, what the reference lists assume
    shown = hash_image(np.ascontiguousarray(np.rot90(np.asarray(Image.open(path)), -1)), ["pdq"])["pdq"]
    assert record["hashes_displayed"]["pdq"]["hex"] == shown.hex
    untagged = tmp_path / "plain.jpg"
    photo.save(untagged, quality=95)
    assert "exif_orientation" not in hash_file(untagged, ["pdq"], displayed=True)


@pytest.mark.parametrize("options", [{"lossless": False, "quality": 80}, {"lossless": True}])
def test_webp_decoded_by_opencv_gives_pillows_pixels(tmp_path: Path, images: dict[str, Image.Image], options: dict) -> None:
    path = tmp_path / "picture.webp"
    images["rgba"].save(path, "WEBP", **options)
    expected = hash_image(Image.open(path).convert("RGB"), ["pdq", "phash", "whash"])
    for mode in ("exact", "fast"):
        record = hash_file(path, ["pdq", "phash", "whash"], mode=mode)
        assert {k: v["hex"] for k, v in record["hashes"].items()} == {k: v.hex for k, v in expected.items()}


def test_truncated_webp_falls_back_to_pillow_and_is_reported(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    whole = tmp_path / "whole.webp"
    images["photo-400x300"].save(whole, "WEBP", quality=80)
    cut = tmp_path / "cut.webp"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    record = hash_file(cut, ["pdq"])
    # libwebp decodes nothing from half a file: an error record, not a silent partial hash
    assert (record["status"], record["error"]["code"]) == ("error", "corrupt")


def test_displayed_hashes_for_every_orientation_and_decoder(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    from PIL import ImageOps

    photo = images["photo-400x300"]
    for fmt in ("JPEG", "WEBP"):
        for orientation in range(2, 9):
            exif = Image.Exif()
            exif[0x0112] = orientation
            path = tmp_path / f"o{orientation}.{fmt.lower()}"
            photo.save(path, fmt, quality=95, exif=exif.tobytes())
            record = hash_file(path, ["pdq", "dhash"], displayed=True)
            shown = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
            expected = hash_image(shown, ["pdq", "dhash"])
            assert record["exif_orientation"] == orientation
            assert {k: v["hex"] for k, v in record["hashes_displayed"].items()} == {
                k: v.hex for k, v in expected.items()
            }, (fmt, orientation)


def test_fast_mode_box_reduces_large_pictures_of_any_format(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    big = images["photo-400x300"].resize((3200, 2400), Image.Resampling.BICUBIC)
    for fmt in ("PNG", "WEBP"):
        path = tmp_path / f"big.{fmt.lower()}"
        big.save(path, fmt, quality=90)
        exact = hash_file(path, ["pdq", "phash"], mode="exact")
        fast = hash_file(path, ["pdq", "phash"], mode="fast")
        assert "decoded_size" not in fast  # decoded whole; PDQ averages 3 x 3 blocks (sides >= 768)
        assert 0 < distance(exact, fast, "pdq") <= 16
        assert fast["hashes"]["phash"] == exact["hashes"]["phash"]  # resized from the full picture
