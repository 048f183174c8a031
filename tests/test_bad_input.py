"""Ugly files: every one gets a record with a stable code, and the batch goes on."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ocsea_match
from ocsea_match import ERROR_CODES, MediaError, hash_file, hash_files, hash_image

from helpers import encode, png_declaring


@pytest.fixture()
def photo_jpeg(images: dict[str, Image.Image]) -> bytes:
    return encode(images["photo-400x300"], "JPEG", quality=90)


@pytest.fixture()
def ugly(tmp_path: Path, photo_jpeg: bytes, images: dict[str, Image.Image]) -> dict[str, Path]:
    files = {
        "empty.jpg": b"",
        "text.png": b"this is a text file, not a picture\n" * 20,
        "random.jpg": np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "bomb.png": png_declaring(40000, 40000),
        "truncated.jpg": photo_jpeg[: len(photo_jpeg) * 6 // 10],
        "truncated.png": encode(images["photo-400x300"], "PNG")[:20000],
        "header-only.jpg": photo_jpeg[:200],
        "corrupt.jpg": photo_jpeg[:300] + b"\x00" * 3000 + photo_jpeg[-500:],
        "picture.txt": photo_jpeg,
        "movie.mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 500,
        "photo.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 500,
        "archive.zip": b"PK\x03\x04" + b"\x00" * 100,
        "good.jpg": photo_jpeg,
    }
    out = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        out[name] = tmp_path / name
    (tmp_path / "folder").mkdir()
    out["folder"] = tmp_path / "folder"
    out["missing.jpg"] = tmp_path / "missing.jpg"
    return out


EXPECTED = {
    "empty.jpg": ("skipped", "empty-file"),  # nothing to hash, nothing failed (as in the scan)
    "text.png": ("skipped", "not-media"),
    "random.jpg": ("skipped", "not-media"),
    "bomb.png": ("error", "decompression-bomb"),
    "header-only.jpg": ("error", "corrupt"),
    "corrupt.jpg": ("error", "corrupt"),
    "picture.txt": ("ok", None),
    "movie.mp4": ("error", "corrupt"),  # a video header over junk: FFmpeg cannot read it
    "photo.heic": ("error", "unsupported-format"),
    "archive.zip": ("skipped", "unsupported-format"),
    "good.jpg": ("ok", None),
    "folder": ("error", "is-directory"),
    "missing.jpg": ("error", "not-found"),
    "truncated.jpg": ("ok", None),
    "truncated.png": ("ok", None),
}


def test_every_ugly_file_gets_the_expected_record(ugly: dict[str, Path]) -> None:
    got = {}
    for name, path in ugly.items():
        record = hash_file(path, ["pdq", "phash"])
        got[name] = (record["status"], (record["error"] or {}).get("code"))
        assert record["path"] == os.fsdecode(path)
        if record["error"]:
            assert record["error"]["code"] in ERROR_CODES and record["error"]["message"]
        if record["status"] == "ok":
            assert set(record["hashes"]) == {"pdq", "phash"}
        else:
            assert record["hashes"] == {}
    assert got == EXPECTED


def test_crypto_hashes_are_there_for_every_readable_file(ugly: dict[str, Path]) -> None:
    import hashlib

    for name in ("text.png", "bomb.png", "movie.mp4", "good.jpg", "truncated.jpg"):
        record = hash_file(ugly[name])
        data = ugly[name].read_bytes()
        assert record["size"] == len(data)
        assert record["md5"] == hashlib.md5(data).hexdigest()
        assert record["sha1"] == hashlib.sha1(data).hexdigest()
        assert record["sha256"] == hashlib.sha256(data).hexdigest()


def test_truncated_pictures_are_hashed_and_flagged(ugly: dict[str, Path]) -> None:
    whole = hash_file(ugly["good.jpg"])
    assert "truncated" not in whole
    for name in ("truncated.jpg", "truncated.png"):
        record = hash_file(ugly[name])
        assert record["status"] == "ok"
        assert record["truncated"] is True
        assert record["warnings"] and "truncated" in record["warnings"][0]
        assert record["hashes"]["pdq"]["hex"] != whole["hashes"]["pdq"]["hex"]


def test_mislabelled_picture_is_sniffed_by_its_bytes(ugly: dict[str, Path]) -> None:
    record = hash_file(ugly["picture.txt"])
    assert (record["media_type"], record["format"]) == ("image", "JPEG")
    assert record["hashes"] == hash_file(ugly["good.jpg"])["hashes"]


def test_bomb_is_refused_before_any_large_allocation(ugly: dict[str, Path]) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    record = hash_file(ugly["bomb.png"])
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert record["error"]["code"] == "decompression-bomb"
    assert "1600000000" in record["error"]["message"]
    assert grown_mb < 100  # decoding it would take 1.6 GB


def test_pixel_limit_is_configurable(ugly: dict[str, Path]) -> None:
    record = hash_file(ugly["good.jpg"], max_pixels=100 * 100)
    assert record["error"]["code"] == "decompression-bomb"
    with pytest.raises(MediaError) as info:
        hash_image(ugly["good.jpg"].read_bytes(), max_pixels=100 * 100)
    assert info.value.code == "decompression-bomb"


def test_batch_goes_on_and_loses_nothing(ugly: dict[str, Path]) -> None:
    paths = list(ugly.values())
    records = list(hash_files(paths, ["pdq"], jobs=1))
    assert [r["path"] for r in records] == [os.fsdecode(p) for p in paths]
    records2 = list(hash_files(paths, ["pdq"], jobs=2))
    assert [(r["path"], r["status"]) for r in records2] == [(r["path"], r["status"]) for r in records]


def test_sixteen_bit_file_is_scaled_not_clipped(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    gray16 = images["gray-16bit"]
    path = tmp_path / "gray16.png"
    gray16.save(path)
    record = hash_file(path, ["pdq"], mode="exact")
    expected = hash_image(np.asarray(images["gray"]), ["pdq"])["pdq"]
    assert record["hashes"]["pdq"]["hex"] == expected.hex


@pytest.mark.parametrize(
    "value, code",
    [
        (np.zeros((10, 10), np.float32), "bad-input"),
        (np.zeros((10, 10, 2), np.uint8), "bad-input"),
        (np.zeros((0, 10, 3), np.uint8), "empty-image"),
        (12345, "bad-input"),
        (b"", "empty-file"),
        (b"not a picture at all", "not-media"),
    ],
)
def test_bad_api_input_raises_media_error(value: object, code: str) -> None:
    with pytest.raises(MediaError) as info:
        hash_image(value)  # type: ignore[arg-type]
    assert info.value.code == code


def test_unknown_algorithm_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        hash_image(np.zeros((8, 8), np.uint8), ["md6"])
    with pytest.raises(ValueError):
        hash_file("whatever", ["md6"])


def test_every_code_is_documented() -> None:
    assert all(code == code.lower() and " " not in code for code in ocsea_match.ERROR_CODES)
    with pytest.raises(ValueError):
        MediaError("no-such-code", "x")
