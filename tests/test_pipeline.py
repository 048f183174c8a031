"""The pipeline's seams (issue #12): one picture handed down to every hasher, one reader of a path,
plain-data options, typed records. Same hashes and records as before the seams moved."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocsea_match import hash_bytes, hash_file, robust
from ocsea_match.errors import MediaError
from ocsea_match.evidence import read_evidence
from ocsea_match.hashers import hash_image


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    """A smooth benign picture with structure (gradients and blobs), not noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        for _ in range(4):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(w / 8, w / 3)
            img[:, :, c] += 120 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        img[:, :, c] += 60 * x / w + 40 * y / h
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _encoded(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "size", "mode"), [
    ("PNG", (1700, 1600), "fast"),   # fast mode box-averages PDQ's luma: robust keeps the whole picture's
    ("PNG", (300, 200), "exact"),
    ("JPEG", (640, 480), "fast"),
    ("WEBP", (400, 300), "exact"),   # OpenCV's BGR array path
])
def test_robust_rows_from_the_handed_down_picture_are_a_fresh_pictures(fmt: str, size: tuple[int, int], mode: str) -> None:
    img = _photo(*size, seed=size[0])
    data = _encoded(img, fmt)
    record = hash_bytes(data, ["pdq"], mode=mode, robust="both", anchored=True)
    assert record["status"] == "ok", record["error"]
    # the old way: the decoded pixels as a new picture (no fast-mode averaging), hashed from scratch
    with Image.open(io.BytesIO(data)) as fresh:
        fresh.load()
        if fmt == "JPEG" and mode == "fast":
            fresh = Image.open(io.BytesIO(data))
            fresh.draft("RGB", (768, 768))
            fresh.load()
        query, listed = robust.both_hashes(fresh.convert("RGB"), anchored=True)
    assert record["robust"]["query"] == [h.to_json() for h in query[1:]]
    assert record["robust"]["list"] == [h.to_json() for h in listed[1:]]
    assert record["hashes"]["pdq"] == hash_image(data, ["pdq"], mode=mode)["pdq"].to_json()
    only_list = hash_bytes(data, ["pdq"], mode=mode, robust="list", anchored=True)
    assert only_list["robust"] == {"list": record["robust"]["list"]}


def test_one_reader_for_a_path(tmp_path: Path) -> None:
    picture = tmp_path / "a.png"
    picture.write_bytes(_encoded(_photo(64, 48), "PNG"))
    assert read_evidence(picture) == picture.read_bytes()
    assert hash_image(picture, ["pdq"]) == hash_image(picture.read_bytes(), ["pdq"])
    for path, code in ((tmp_path / "missing.png", "not-found"), (tmp_path, "is-directory")):
        with pytest.raises(MediaError) as caught:
            hash_image(path, ["pdq"])
        record = hash_file(path, ["pdq"])
        assert caught.value.code == record["error"]["code"] == code
        assert caught.value.message == record["error"]["message"]  # one set of messages


def test_hash_options_are_plain_data_and_replace_the_keywords(tmp_path: Path) -> None:
    from ocsea_match.files import hash_files
    from ocsea_match.options import HashOptions, ScanSettings

    options = HashOptions(("pdq", "phash"), mode="fast", robust="list", every_seconds=2.0)
    assert HashOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options
    settings = ScanSettings(("pdq",), jobs=2, robust=True, anchored=True)
    assert ScanSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    with pytest.raises(ValueError):
        HashOptions(("nope",))
    with pytest.raises(ValueError):
        HashOptions.from_dict({"algorithms": ["pdq"], "colour": "blue"})
    with pytest.raises(ValueError):
        ScanSettings(mode="slow")
    pictures = []
    for i in range(3):
        pictures.append(tmp_path / f"{i}.png")
        pictures[-1].write_bytes(_encoded(_photo(96, 64, seed=i), "PNG"))
    by_keywords = [hash_file(p, ["pdq", "phash"], mode="fast", robust="list") for p in pictures]
    assert [hash_file(p, options=options) for p in pictures] == by_keywords
    # across worker processes as they are (the pool pickles its arguments in memory; nothing is loaded from disk)
    assert list(hash_files(pictures, options=options, jobs=2)) == by_keywords


def test_archives_are_routed_by_their_sniffed_type(tmp_path: Path) -> None:
    import zipfile

    from ocsea_match import scan

    (tmp_path / "src").mkdir()
    inner = _encoded(_photo(80, 60), "PNG")
    with zipfile.ZipFile(tmp_path / "src" / "photos.dat", "w") as z:  # a ZIP under a misleading name
        z.writestr("a.png", inner)
    record = hash_file(tmp_path / "src" / "photos.dat", ["pdq"])  # 'hash' does not descend: said so
    assert (record["status"], record["error"]["code"], record["format"]) == ("skipped", "unsupported-format", "ZIP")
    left_open = hash_file(tmp_path / "src" / "photos.dat", ["pdq"], archives=("ZIP",))
    assert (left_open["status"], left_open["error"], left_open["sha256"]) == ("skipped", None, record["sha256"])
    records = list(scan([tmp_path / "src"], algorithms=["pdq"]))
    assert [(Path(r["path"]).name, r["status"]) for r in records] == [("a.png", "ok"), ("photos.dat", "ok")]
    assert records[1]["members"] == 1 and records[1]["error"] is None
    assert records[0]["hashes"] == hash_bytes(inner, ["pdq"], mode="fast")["hashes"]
