"""An index's folder: ``save_parts`` writes an index's ``IndexParts`` and settings (NumPy ``.npy``
without pickle, JSON, a manifest of SHA-256 sums); ``load_parts`` reads them back, refusing a
folder that is missing, corrupt, altered or inconsistent (``IndexFileError``).

Package-internal: ``HashIndex.save`` / ``HashIndex.load`` are the way in, the latter building the
index with ``HashIndex.from_parts``.

>>> import tempfile
>>> from ocsea_match._index_store import IndexParts
>>> parts = IndexParts()
>>> first = parts.entries.append("known", Ids(1), parts.entries.encode("1", 1))
>>> parts.add_rows("pdq", np.zeros((1, 32), np.uint8), np.array([first]))
>>> folder = tempfile.mkdtemp()
>>> save_parts(parts, {"thresholds": {"pdq": 31}, "pdq_quality_floor": 50}, folder)
>>> settings, again = load_parts(folder)
>>> settings["pdq_quality_floor"], again.entries.describe(0), len(again.perceptual["pdq"])
(50, ('known', 'known:1', '1'), 1)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._index_store import Digests, Entries, Ids, IndexParts
from .algorithms import ALGORITHM_INFO, EXACT
from .tmk_lists import TMKTable

__all__ = ["FORMAT_VERSION", "IndexFileError", "load_parts", "read_npy", "save_parts"]

FORMAT_VERSION = 2


class IndexFileError(ValueError):
    """A saved index is missing, corrupt or altered."""


def _sha256(path: Path) -> str:
    from .files import file_sha256  # files.py is the picture pipeline's: only when saving or loading

    return file_sha256(path)


def save_parts(parts: IndexParts, settings: Mapping[str, Any], directory: str | Path) -> None:
    """Write the parts to a folder with ``settings`` (thresholds, floor ...) in its manifest."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}

    def put_array(name: str, array: np.ndarray) -> None:
        np.save(folder / name, array, allow_pickle=False)
        files[name] = _sha256(folder / name)

    entries = parts.entries
    lists = []
    for i, (name, ids) in enumerate(zip(entries.names, entries.ids)):
        lists.append({"name": name, "entries": ids.count, "ids": ids.kind})
        for part in ("blob", "offsets", "numbers", "values"):
            if getattr(ids, part) is not None:
                put_array(f"list{i}.ids_{part}.npy", getattr(ids, part))
    put_array("entries.categories.npy", entries.codes)
    for algorithm, table in parts.perceptual.items():
        put_array(f"{algorithm}.rows.npy", table.rows)
        put_array(f"{algorithm}.entries.npy", table.entries)
        if algorithm in parts.times:
            put_array(f"{algorithm}.times.npy", parts.times[algorithm])
    if parts.video_frames:
        put_array("video.entries.npy", np.fromiter(parts.video_frames, np.uint32, len(parts.video_frames)))
        put_array("video.frames.npy", np.fromiter(parts.video_frames.values(), np.uint32, len(parts.video_frames)))
    parts.tmk.save(put_array)
    for algorithm, exact in parts.exact.items():
        values, counts, numbers = exact.columns()
        put_array(f"{algorithm}.values.npy", values)
        put_array(f"{algorithm}.counts.npy", counts)
        put_array(f"{algorithm}.entries.npy", numbers)
    manifest = {
        "format": "ocsea-match-index", "version": FORMAT_VERSION, "lists": lists,
        "categories": entries.vocabulary, "thresholds": settings["thresholds"],
        "pdq_quality_floor": settings["pdq_quality_floor"], "perceptual": sorted(parts.perceptual),
        **{k: v for k, v in settings.items() if k not in ("thresholds", "pdq_quality_floor")}, "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")


def load_parts(directory: str | Path) -> tuple[dict[str, Any], IndexParts]:
    """The manifest (settings as saved) and the parts of a folder written by ``save_parts``;
    ``IndexFileError`` if anything is missing, altered or does not fit together."""
    folder = Path(directory)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"{folder}: no readable manifest.json ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise IndexFileError(f"{folder}: manifest.json is not an ocsea-match index manifest")
    if manifest.get("format") != "ocsea-match-index" or manifest.get("version") != FORMAT_VERSION:
        raise IndexFileError(f"{folder}: not an ocsea-match index of version {FORMAT_VERSION} "
                             f"(found version {manifest.get('version')!r}; build it again from its lists)")
    files: dict[str, str] = manifest.get("files", {})
    for name, digest in files.items():
        path = folder / name
        if Path(name).name != name or not path.is_file() or _sha256(path) != digest:
            raise IndexFileError(f"{path}: missing, corrupt or altered (SHA-256 differs from the manifest)")
    try:
        return manifest, _Reader(folder, files).parts(manifest)
    except IndexFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever an altered file makes fail is a refused index
        raise IndexFileError(f"{folder}: inconsistent index ({type(exc).__name__}: {exc})") from None


class _Reader:
    """Reads the arrays of a checked folder into new parts, refusing arrays that do not fit together."""

    def __init__(self, folder: Path, files: Mapping[str, str]) -> None:
        self.folder, self.files = folder, files

    def array(self, name: str, ndim: int = 1) -> np.ndarray:
        if name not in self.files:
            raise IndexFileError(f"{self.folder}: the manifest does not list {name}")
        array = read_npy(self.folder / name)
        if array.ndim != ndim or array.dtype.kind not in "ui":
            raise IndexFileError(f"{self.folder}: {name} is not an integer array of {ndim} dimension(s)")
        return array

    def fail(self, what: str) -> IndexFileError:
        return IndexFileError(f"{self.folder}: {what}")

    def parts(self, manifest: Mapping[str, Any]) -> IndexParts:
        try:
            entries = Entries(list(manifest["categories"]))
        except ValueError:
            raise self.fail("the category vocabulary is malformed") from None
        parts = IndexParts(entries=entries)
        for i, item in enumerate(manifest["lists"]):
            entries.append(str(item["name"]), self.ids(i, int(item["entries"]), item["ids"]), np.zeros(0, np.uint32))
        entries.codes = self.array("entries.categories.npy")
        if len(entries.codes) != len(entries) or (len(entries.codes) and int(entries.codes.max()) >= len(entries.vocabulary)):
            raise self.fail("entry categories do not fit the entries")
        for algorithm in manifest["perceptual"]:
            family_bits = ALGORITHM_INFO[algorithm].bits
            rows, numbers = self.array(f"{algorithm}.rows.npy", 2), self.array(f"{algorithm}.entries.npy")
            if rows.shape[1] != family_bits // 8 or len(numbers) != len(rows) or rows.dtype != np.uint8:
                raise self.fail(f"{algorithm} rows and entries do not fit together")
            self.check_numbers(numbers, len(entries), algorithm)
            times = None
            if f"{algorithm}.times.npy" in self.files:
                times = read_npy(self.folder / f"{algorithm}.times.npy")
                if times.dtype != np.float32 or times.shape != (len(rows),):
                    raise self.fail(f"{algorithm} frame times do not fit its rows")
            parts.add_rows(algorithm, rows, numbers, times)
        if "video.entries.npy" in self.files:
            videos, counts = self.array("video.entries.npy"), self.array("video.frames.npy")
            if len(videos) != len(counts):
                raise self.fail("listed videos and their frame counts do not fit together")
            self.check_numbers(videos, len(entries), "video")
            parts.video_frames = dict(zip(videos.tolist(), counts.tolist()))
        parts.tmk = TMKTable.load(self.folder, self.files, len(entries))
        for algorithm in EXACT:
            values, counts, numbers = self.array(f"{algorithm}.values.npy", 2), self.array(f"{algorithm}.counts.npy"), self.array(f"{algorithm}.entries.npy")
            if values.shape[1] != ALGORITHM_INFO[algorithm].nbytes or len(counts) != len(values) or int(counts.sum()) != len(numbers):
                raise self.fail(f"{algorithm} values and entries do not fit together")
            self.check_numbers(numbers, len(entries), algorithm)
            keys = np.ascontiguousarray(values).view(f"S{values.shape[1]}").reshape(-1)
            if len(keys) > 1 and not bool((keys[1:] > keys[:-1]).all()):
                raise self.fail(f"{algorithm} values are not sorted and distinct")
            parts.exact[algorithm] = Digests.from_columns(values, counts, numbers)
        return parts

    def ids(self, i: int, count: int, kind: str) -> Ids:
        if kind == "numeric":
            values = self.array(f"list{i}.ids_values.npy")
            if len(values) != count or values.dtype != np.int64 or (count and int(values.min()) < 0):
                raise self.fail(f"the numeric entry ids of list {i} do not fit its entries")
            return Ids(count, values=values)
        if kind == "explicit":
            blob, offsets = self.array(f"list{i}.ids_blob.npy"), self.array(f"list{i}.ids_offsets.npy")
            if (len(offsets) != count + 1 or offsets[0] != 0 or int(offsets[-1]) != len(blob)
                    or (np.diff(offsets.astype(np.int64)) < 0).any()):
                raise self.fail(f"the entry ids of list {i} do not fit their offsets")
            try:
                blob.tobytes().decode("utf-8")
            except UnicodeDecodeError:
                raise self.fail(f"the entry ids of list {i} are not UTF-8") from None
            return Ids(count, blob.astype(np.uint8), offsets)
        if kind == "generated":
            numbers = self.array(f"list{i}.ids_numbers.npy") if f"list{i}.ids_numbers.npy" in self.files else None
            if numbers is not None and len(numbers) != count:
                raise self.fail(f"the entry numbers of list {i} do not fit its entries")
            return Ids(count, numbers=numbers)
        raise self.fail(f"list {i} has ids of an unknown kind {kind!r}")

    def check_numbers(self, numbers: np.ndarray, total: int, algorithm: str) -> None:
        if len(numbers) and (int(numbers.min()) < 0 or int(numbers.max()) >= total):
            raise self.fail(f"{algorithm} rows name entries the index does not have")


def read_npy(path: str | Path) -> np.ndarray:
    """A ``.npy`` file of plain numbers, read without pickle; ``ValueError`` for anything else,
    checked before any memory is given to it (a header may declare any shape)."""
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"NPY version {version} is not one this tool writes")
        except (ValueError, SyntaxError, EOFError, TypeError, MemoryError) as exc:
            raise ValueError(f"{Path(path).name}: not a NumPy array file ({type(exc).__name__}: {exc})") from None
        if dtype.hasobject or dtype.kind not in "uif" or fortran:
            raise ValueError(f"{Path(path).name}: holds {dtype} values, not plain numbers")
        offset = f.tell()
        size = os.fstat(f.fileno()).st_size
        count = math.prod(shape)
        if count * dtype.itemsize != size - offset:
            raise ValueError(f"{Path(path).name}: its header declares {shape} values of {dtype}, "
                             f"the file holds {size - offset} bytes")
        array = np.fromfile(f, dtype=dtype, count=count)
    return array.reshape(shape)
