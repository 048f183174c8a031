"""TMK+PDQF in lists and in the index: reading ``.tmk`` files into lists, and matching them.

A list holds TMKs as a folder of ``.tmk`` files (Meta's ``tmk-hash-video`` output; the entry id is
the file name without ``.tmk``), a single ``.tmk`` file, or JSONL records with a ``tmk`` field
(the file's bytes in base64, as ``hash``/``match`` write them for a video when ``tmk`` is asked
for). Each listed TMK is one entry of algorithm ``tmk`` whose ``hex`` is the SHA-256 of its file;
the bytes ride along in ``HashList.tmk_files``.

A query video matches a listed one under Meta's two-level rule: level 1 (cosine of the mean
features, one matrix product over every listed TMK) >= 0.7, then level 2 (the TMK score at the
best time offset, native) >= 0.7 for those that pass. A match reports both scores, and, so that
every match has a distance under a threshold, ``distance = 1 - min(level1, level2)`` against
``threshold = 0.3``.

>>> import io, pathlib, tempfile, av
>>> from ocsea_match import HashIndex, hash_video_tmk, load_list
>>> buffer = io.BytesIO()  # a generated 2 s clip
>>> with av.open(buffer, "w", format="mp4") as out:
...     stream = out.add_stream("mpeg4", rate=8)
...     stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
...     for i in range(16):
...         gray = (np.indices((48, 64)).sum(axis=0) * (i + 1) % 256).astype(np.uint8)
...         out.mux(stream.encode(av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")))
...     out.mux(stream.encode())
>>> tmk = hash_video_tmk(buffer.getvalue())
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "known_tmks"
>>> folder.mkdir()
>>> _ = (folder / "clip-a.tmk").write_bytes(tmk.to_bytes())
>>> hash_list, report = load_list(folder)  # a folder of .tmk files
>>> index, reports = HashIndex.from_lists([hash_list])
>>> [(m["list"], m["entry_id"], m["algorithm"], m["level1"]) for m in index.match({"tmk": tmk_to_text(tmk)})]
[('known_tmks', 'clip-a', 'tmk', 1.0)]
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._tmk import level2_many
from .formats.model import HashList, ListEntry, ListError, LoadReport
from .matches import Match, sort_key
from .tmk import COEFFICIENTS, PERIODS, TMK, TMK_FILE_SIZE, TMK_THRESHOLDS, TMKError

__all__ = ["TMKTable", "read_tmk_field", "read_tmk_folder", "is_tmk", "tmk_to_text", "tmk_from_text"]

_MAGIC = b"TMK1FVEC"


def is_tmk(head: bytes) -> bool:
    """Whether a file's first bytes are a TMK feature-vector file's."""
    return head.startswith(_MAGIC)


def tmk_to_text(tmk: TMK) -> str:
    """The ``.tmk`` bytes in base64, as a record's ``tmk`` field carries them."""
    return base64.b64encode(tmk.to_bytes()).decode("ascii")


def tmk_from_text(text: str) -> TMK:
    """A record's ``tmk`` field back into a TMK; ``TMKError`` if it is not one."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise TMKError("the tmk field is not base64") from None
    return TMK.from_bytes(data)


def _add(hash_list: HashList, entry_id: str, category: str | None, data: bytes) -> None:
    TMK.from_bytes(data)  # refuse what is not a TMK before it is listed
    digest = hashlib.sha256(data).hexdigest()
    hash_list.tmk_files[digest] = data
    hash_list.entries.append(ListEntry(entry_id, "tmk", digest, category=category))


def read_tmk_folder(path: Path, hash_list: HashList, report: LoadReport) -> None:
    """Every ``*.tmk`` file of a folder (not its subfolders), one entry each, named after the file."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".tmk" and p.is_file())
    if not files:
        raise ListError(f"{path}: a folder with no .tmk file (a folder is read as a list of .tmk files)")
    for number, file in enumerate(files, 1):
        read_tmk_file(file, hash_list, report, number)


def read_tmk_file(path: Path, hash_list: HashList, report: LoadReport, number: int = 1) -> None:
    """One ``.tmk`` file as one entry named after the file; a bad one is a problem of ``report``."""
    try:
        with open(path, "rb") as f:
            data = f.read(TMK_FILE_SIZE * 64 + 1)
        _add(hash_list, path.stem, None, data)
    except (OSError, TMKError) as exc:
        report.problems.append((number, f"{path.name}: {exc}"))


def read_tmk_field(value: object, entry_id: str, category: str | None, number: int, hash_list: HashList,
                   report: LoadReport) -> int:
    """A JSONL record's ``tmk`` field (base64 of a ``.tmk`` file): 1 entry, or 0 and a problem."""
    if value is None:
        return 0
    try:
        if not isinstance(value, str):
            raise TMKError("the tmk field is not a base64 string")
        data = base64.b64decode(value, validate=True)
        _add(hash_list, entry_id, category, data)
    except (binascii.Error, TMKError, ValueError) as exc:
        report.problems.append((number, f"bad tmk: {exc}"))
        return 0
    return 1


class TMKTable:
    """Listed TMKs of an index: unit mean features (n x 256) and the cosine and sine stacks."""

    def __init__(self) -> None:
        self.entries = np.zeros(0, np.int64)
        self.means = np.zeros((0, 256), np.float32)
        self.cos = np.zeros((0, len(PERIODS), len(COEFFICIENTS), 256), np.float32)
        self.sin = np.zeros_like(self.cos)
        self.frames = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, items: list[tuple[int, bytes]]) -> None:
        """Append ``(entry number, .tmk bytes)`` pairs (already checked when the list was read)."""
        if not items:
            return
        tmks = [TMK.from_bytes(data) for _, data in items]
        for t in tmks:
            if t.periods != PERIODS or t.cos.shape[1:] != self.cos.shape[2:] or not np.allclose(t.coefficients, COEFFICIENTS, rtol=1e-6):
                raise TMKError("a listed TMK was made with parameters other than Meta's defaults")
        means = np.stack([t.average for t in tmks]).astype(np.float64)
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        means = np.divide(means, norms, out=np.zeros_like(means), where=norms > 0).astype(np.float32)
        self.entries = np.concatenate([self.entries, np.asarray([n for n, _ in items], np.int64)])
        self.means = np.concatenate([self.means, means])
        self.cos = np.concatenate([self.cos, np.stack([t.cos for t in tmks])])
        self.sin = np.concatenate([self.sin, np.stack([t.sin for t in tmks])])
        self.frames = np.concatenate([self.frames, np.asarray([t.frame_count for t in tmks], np.int64)])

    def search(self, query: TMK, level1: float = TMK_THRESHOLDS["level1"],
               level2: float = TMK_THRESHOLDS["level2"]) -> list[tuple[int, float, float]]:
        """``(entry number, level1, level2)`` of every listed TMK that passes both levels."""
        if not len(self) or query.periods != PERIODS or query.cos.shape[1:] != self.cos.shape[2:]:
            return []
        mean = query.average.astype(np.float64)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            return []
        first = (self.means @ (mean / norm).astype(np.float32)).astype(np.float64)
        rows = np.flatnonzero(first >= level1).astype(np.int64)
        if not len(rows):
            return []
        second = level2_many(query.cos, query.sin, self.cos, self.sin, rows, np.asarray(PERIODS, np.int32), COEFFICIENTS)
        return [(int(self.entries[r]), float(first[r]), float(s)) for r, s in zip(rows.tolist(), second.tolist()) if s >= level2]

    def match_record(self, record: Mapping[str, Any], describe: Callable[[int], tuple[str, str, str | None]]) -> list[Match]:
        """The matches of a query record's ``tmk`` (base64 text or a ``TMK``), best first."""
        value = record.get("tmk")
        if value is None or not len(self):
            return []
        try:
            query = value if isinstance(value, TMK) else tmk_from_text(str(value))
        except TMKError:
            return []
        best: dict[tuple[str, str], Match] = {}
        for entry, l1, l2 in self.search(query):
            list_name, entry_id, category = describe(entry)
            match: Match = {"list": list_name, "entry_id": entry_id, "category": category, "algorithm": "tmk",
                     "distance": round(1.0 - min(l1, l2), 6), "threshold": round(1.0 - min(TMK_THRESHOLDS.values()), 6),
                     "level1": round(l1, 6), "level2": round(l2, 6)}
            key = (list_name, entry_id)
            if key not in best or match["distance"] < best[key]["distance"]:
                best[key] = match
        return sorted(best.values(), key=sort_key)

    # ------------------------------------------------------------------------- persistence

    def save(self, put_array: Callable[[str, np.ndarray], None]) -> None:
        """Write the table's arrays through the index's ``put_array`` (nothing when empty)."""
        if len(self):
            for name in ("entries", "means", "cos", "sin", "frames"):
                put_array(f"tmk.{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, folder: Path, files: Mapping[str, str], entry_count: int) -> TMKTable:
        """Read what ``save`` wrote (files already checked against the manifest); ``ValueError``
        when the arrays do not fit together."""
        table = cls()
        if "tmk.entries.npy" not in files:
            return table
        arrays = {name: np.load(folder / f"tmk.{name}.npy", allow_pickle=False) for name in ("entries", "means", "cos", "sin", "frames")}
        n = len(arrays["entries"])
        shapes = {"entries": (n,), "means": (n, 256), "cos": (n, *table.cos.shape[1:]), "sin": (n, *table.cos.shape[1:]), "frames": (n,)}
        for name, array in arrays.items():
            if array.shape != shapes[name] or array.dtype != getattr(table, name).dtype:
                raise ValueError(f"tmk.{name}.npy does not fit the listed TMKs")
        if n and (int(arrays["entries"].min()) < 0 or int(arrays["entries"].max()) >= entry_count):
            raise ValueError("tmk rows name entries the index does not have")
        for name, array in arrays.items():
            setattr(table, name, array)
        return table
