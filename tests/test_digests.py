"""MD5, SHA-1 and SHA-256 in file records: computed on a helper thread for larger pictures,
always filled, whatever happens to the perceptual part."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

import ocsea_match
from ocsea_match.errors import MediaError
from ocsea_match.files import _DIGEST_THREAD_MIN_BYTES


def _expected(data: bytes) -> tuple[str, str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


def _digests(record: dict) -> tuple[str, str, str]:
    return record["md5"], record["sha1"], record["sha256"]


def _noisy_png(side: int) -> bytes:
    rng = np.random.default_rng(side)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_large_and_small_pictures_get_their_digests(tmp_path: Path) -> None:
    for side in (16, 200):  # under and over the size handed to the helper thread
        data = _noisy_png(side)
        assert (len(data) >= _DIGEST_THREAD_MIN_BYTES) == (side == 200)
        path = tmp_path / f"p{side}.png"
        path.write_bytes(data)
        record = ocsea_match.hash_file(path, ["pdq"])
        assert record["status"] == "ok" and record["size"] == len(data)
        assert _digests(record) == _expected(data)
        assert _digests(ocsea_match.hash_bytes(data, ["pdq"])) == _expected(data)


def test_a_picture_that_fails_to_decode_still_has_its_digests(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
    broken = b"\x89PNG\r\n\x1a\n" + noise  # a PNG signature, then no valid chunk
    path = tmp_path / "broken.png"
    path.write_bytes(broken)
    for record in (ocsea_match.hash_file(path, ["pdq"]), ocsea_match.hash_bytes(broken, ["pdq"])):
        assert record["status"] == "error"
        assert _digests(record) == _expected(broken)


def test_a_skip_check_sees_the_digests(tmp_path: Path) -> None:
    data = _noisy_png(200)
    path = tmp_path / "known.png"
    path.write_bytes(data)
    seen = []

    def skip(record: dict) -> MediaError | None:
        seen.append(record["sha256"])
        return MediaError("known-good", "on the known-good list")

    record = ocsea_match.hash_file(path, ["pdq"], skip=skip)
    assert seen == [hashlib.sha256(data).hexdigest()]
    assert record["status"] == "skipped" and _digests(record) == _expected(data)
