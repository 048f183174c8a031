"""Helpers of compare_peers.py: the small-pictures set it makes, the draft-decode floor, and
``--profile``: where the time of one file record goes, stage by stage.

    python benchmarks/compare_peers.py --profile FOLDER [--mode fast|exact]

The profile runs the stages of ``hash_file(path, ["pdq", "phash"])`` one after the other on
each file, each timed alone (read, MD5/SHA-1/SHA-256, decode, luma, PDQ filter + decimation,
PDQ DCT + quality + bits, pHash), then the whole record as ``hash_file`` builds it (digests on
its helper thread). The stages use the library's own internals, so they are what the record
does, not an imitation; ``rest`` is the record's time minus the stages on its critical path
(the digests run beside them), i.e. Python glue, record assembly and waiting for the digests.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

import ocsea_match
from ocsea_match import _core
from ocsea_match.decode import DEFAULT_MAX_PIXELS, open_image
from ocsea_match.hashers import draft_for, run
from ocsea_match.picture import picture_from_decoded

#: The draft size of the floor row: what the issue compares the fast path to.
DRAFT_FLOOR = (768, 768)


def draft_decode(path: str) -> str:
    """The floor: Pillow decodes the file as gray at its JPEG draft size (other formats: whole)."""
    with Image.open(path) as img:
        img.draft("L", DRAFT_FLOOR)
        img.load()
        return f"{img.width}x{img.height}"


def make_small_set(paths: list[str], megapixels: float, folder: Path) -> list[str]:
    """Each picture scaled down (Lanczos) to about ``megapixels``, saved in its own format
    (JPEG quality 90) under ``folder``; pictures already that small are copied as they are."""
    out = []
    for i, path in enumerate(paths):
        with Image.open(path) as img:
            fmt = img.format or "PNG"
            img.load()
            scale = (megapixels * 1e6 / (img.width * img.height)) ** 0.5
            if scale < 1:
                size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
                img = img.resize(size, Image.Resampling.LANCZOS)
            if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
                img = img.convert("RGB")
            target = folder / f"{i:04d}-{Path(path).stem}.{fmt.lower()}"
            options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
            img.save(target, fmt, **options)
            out.append(str(target))
    return out


def small_set_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="ocsea-small-set-")


# ------------------------------------------------------------------------------------------------
# --profile
# ------------------------------------------------------------------------------------------------


def _timed(totals: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = fn()
    totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
    return out


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _digests(data: bytes) -> tuple[str, ...]:
    return tuple(h(data).hexdigest() for h in (hashlib.md5, hashlib.sha1, hashlib.sha256))


def profile(paths: list[str], mode: str = "fast", repeat: int = 1) -> dict[str, float]:
    """Seconds per stage over all files (best pass of ``repeat``) for pdq + phash records."""
    names = ("pdq", "phash")
    draft = draft_for(mode, names)
    best: dict[str, float] = {}
    for path in paths[:1]:  # warm-up: imports, caches
        ocsea_match.hash_file(path, list(names), mode=mode)
    for _ in range(repeat):
        t: dict[str, float] = {}
        for path in paths:
            data = _timed(t, "read", lambda: _read(path))
            _timed(t, "digests (MD5+SHA-1+SHA-256)", lambda: _digests(data))
            decoded = _timed(t, "decode", lambda: open_image(data, DEFAULT_MAX_PIXELS, draft))
            pic = picture_from_decoded(decoded, mode)
            luma = _timed(t, "luma (+ fast mode's box average)", pic.luma)
            a64 = _timed(t, "PDQ filter + decimation", lambda: _core.pdq_downsample(luma, False))
            _timed(t, "PDQ DCT + quality + bits", lambda: _core.pdq_from_luma(a64, inplace=True))
            _timed(t, "pHash (gray, resize, DCT)", lambda: run(pic, ("phash",)))
            record = _timed(t, "whole record: hash_file", lambda: ocsea_match.hash_file(path, list(names), mode=mode))
            if record["status"] != "ok":
                raise RuntimeError(f"{path}: {record['error']}")
        for key, value in t.items():
            best[key] = min(value, best.get(key, value))
    on_path = sum(v for k, v in best.items() if not k.startswith(("digests", "whole")))
    best["rest (glue, record, waiting for digests)"] = best["whole record: hash_file"] - on_path
    return best


def print_profile(title: str, paths: list[str], stages: dict[str, float]) -> None:
    n = len(paths)
    mp = sum(_megapixels(p) for p in paths)
    whole = stages["whole record: hash_file"]
    print(f"\n### Stages: {title} ({n} files, {mp:.0f} MP, {mp / n:.2f} MP per file)\n")
    print("| stage | ms/file | share of the record |\n|---|---:|---:|")
    for name, seconds in stages.items():
        print(f"| {name} | {1000 * seconds / n:.2f} | {100 * seconds / whole:.0f}% |")


def _megapixels(path: str) -> float:
    with Image.open(path) as img:
        return img.width * img.height / 1e6


def print_goals(title: str, rows: dict[str, float], n_files: int) -> dict[str, float]:
    """The issue's ratios for one set (files/s of the rows by label): printed and returned."""
    def rate(label: str) -> float:
        return n_files / rows[label] if label in rows else float("nan")

    peer = rate("peer pdqhash (cv2 decode)")
    ratios = {
        "PDQ fast / pdqhash (goal >= 6)": rate("ours PDQ fast") / peer,
        "PDQ exact / pdqhash (goal >= 3)": rate("ours PDQ exact") / peer,
        "all-in-one / pdqhash (goal >= 4.5)": rate("ours all-in-one: pdq+phash fast + md5/sha1/sha256") / peer,
        "PDQ fast / draft-decode floor (goal >= 0.6)": rate("ours PDQ fast") / rate(FLOOR_LABEL),
    }
    print(f"\nRatios on {title}: " + "; ".join(f"{k}: {v:.2f}" for k, v in ratios.items()))
    return ratios


FLOOR_LABEL = f"floor: Pillow draft('L', {DRAFT_FLOOR}) + load, no hash"

__all__ = ["DRAFT_FLOOR", "FLOOR_LABEL", "draft_decode", "make_small_set", "print_goals", "print_profile",
           "profile", "small_set_folder"]
