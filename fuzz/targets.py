"""Fuzz targets over the bytes entry points, shared by the fuzzer (``fuzz/run.py``) and the replay
test (``tests/test_fuzz_replay.py``).

Each target takes arbitrary bytes and raises ``Finding`` when the code under test does anything
but its documented contract: a record with a stable error code (``hash_bytes``), a ``ListError``
or a load report (``load_list``), a journal cut back to complete records (``Journal.resume``), an
``IndexFileError`` (``HashIndex.load``). Any other exception, a record with ``internal-error``, or
a warning that escapes is a finding.

>>> TARGETS["lists"](b"not a list")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

__all__ = ["Finding", "TARGETS", "scratch"]


class Finding(AssertionError):
    """The code under test broke its contract on this input."""


_SCRATCH: Path | None = None


def scratch() -> Path:
    """A private scratch folder for the targets' files (on tmpfs when there is one)."""
    global _SCRATCH
    if _SCRATCH is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        _SCRATCH = Path(tempfile.mkdtemp(prefix="ocsea-fuzz-", dir=base))
    return _SCRATCH


def _no_warnings(call: Callable[[], object]) -> object:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    leaked = [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    if leaked:
        w = leaked[0]
        raise Finding(f"a warning escaped: {w.category.__name__}: {w.message}")
    return result


# ------------------------------------------------------------------------------------------ hash_bytes


def hash_bytes_target(data: bytes) -> None:
    """Every decoder path: the bytes as a file, in both modes, pictures displayed too."""
    from ocsea_match import ERROR_CODES, hash_bytes

    for mode in ("exact", "fast"):
        record = hash_bytes(data, ("pdq", "phash"), mode=mode, displayed=True, max_pixels=4_000_000)
        if record["status"] not in ("ok", "error", "skipped"):
            raise Finding(f"status {record['status']!r}")
        error = record.get("error")
        if error is not None:
            if error.get("code") not in ERROR_CODES:
                raise Finding(f"unknown error code {error.get('code')!r}")
            if error["code"] == "internal-error":
                raise Finding(f"internal-error: {error.get('message')}")
        elif record["status"] == "ok" and not record.get("hashes") and not record.get("frames"):
            if record.get("media_type") in ("image", "video"):
                raise Finding("status ok without hashes")


# ------------------------------------------------------------------------------------------- lists


def lists_target(data: bytes) -> None:
    """``load_list`` on the bytes as a file; what loads must index and convert without a traceback."""
    from ocsea_match import HashIndex, ListError, formats, load_list

    path = scratch() / "known_list.txt"
    path.write_bytes(data)
    try:
        hash_list, report = _no_warnings(lambda: load_list(path))  # type: ignore[misc]
    except ListError:
        return
    if not hash_list.entries:
        raise Finding("a list with no entry was accepted")
    if report.loaded != len(hash_list.entries):
        raise Finding(f"the report says {report.loaded} entries, the list has {len(hash_list.entries)}")
    try:
        HashIndex().add_list(hash_list, report)
    except ListError:  # EmptyListError: loaded, but nothing in it can be matched (refused, as it should be)
        pass
    except ValueError as exc:
        raise Finding(f"a loaded list cannot be indexed: {exc!r}") from exc
    for to in formats.WRITERS:
        try:
            formats.convert_list(hash_list, to)
        except ListError:
            pass


# ----------------------------------------------------------------------------------------- journal


def journal_target(data: bytes) -> None:
    """``Journal.resume`` (``scan --resume``) on the bytes as records.jsonl."""
    from ocsea_match.scanning.journal import Journal, read_records, record_key

    path = scratch() / "records.jsonl"
    path.write_bytes(data)
    journal = Journal(path)
    done = journal.resume()
    kept = path.read_bytes().splitlines(keepends=True)
    original = iter(data.splitlines(keepends=True))
    if not all(any(line == candidate for candidate in original) for line in kept):
        raise Finding("resume kept lines that are not the journal's, in its order")
    keys, containers = set(), set()
    for record in read_records(path):
        if not isinstance(record, dict):
            raise Finding("resume kept a line that is not a record")
        if "container_file" in record:
            containers.add(record["container_file"])
        else:
            keys.add(record_key(record))
    if keys != done:
        raise Finding(f"resume says {len(done)} files are done, the kept records hold {len(keys)}")
    if not containers <= done:
        raise Finding("resume kept archive members whose archive is not done")


# ------------------------------------------------------------------------------------------- index

_INDEX: tuple[Path, dict[str, bytes]] | None = None


def _base_index() -> tuple[Path, dict[str, bytes]]:
    """A small saved index with every kind of table and id, and its files' bytes."""
    global _INDEX
    if _INDEX is None:
        import numpy as np

        from ocsea_match import HashIndex, HashList, ListEntry

        rng = np.random.default_rng(11)
        hexes = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(6)]
        lists = [
            HashList("known_list", [ListEntry("A1", "pdq", hexes[0], category="1", quality=90),
                                    ListEntry("A2", "phash", hexes[1][:16]), ListEntry("A3", "md5", hexes[2][:32])]),
            HashList("numbers", [ListEntry("17", "pdq", hexes[3]), ListEntry("18", "sha1", hexes[4][:40])]),
            HashList("video", [ListEntry("clip", "pdq", hexes[5], timestamp=0.0, quality=80),
                               ListEntry("clip", "pdq", hexes[4], timestamp=1.0, quality=80)]),
        ]
        folder = scratch() / "base-index"
        index, _ = HashIndex.from_lists(lists)
        index.save(folder)
        _INDEX = folder, {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    return _INDEX


def index_target(data: bytes) -> None:
    """``HashIndex.load`` on a saved index with one file replaced by the input; the manifest's
    SHA-256 sums are brought up to date, so that the loader's checks past them are reached."""
    _, files = _base_index()
    names = sorted(files)
    folder = scratch() / "index"
    if not folder.is_dir():  # the base index, once; each input then changes one file and the manifest
        folder.mkdir()
        for name, blob in files.items():
            (folder / name).write_bytes(blob)
    target = names[data[0] % len(names)] if data else "manifest.json"
    content = data[1:]
    contents = {"manifest.json": files["manifest.json"], target: content}
    try:
        manifest = json.loads(contents["manifest.json"])
    except ValueError:
        manifest = None
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict):
        manifest["files"] = {name: hashlib.sha256(content).hexdigest() if name == target else digest
                             for name, digest in manifest["files"].items()}
        contents["manifest.json"] = json.dumps(manifest).encode()
    for name, blob in contents.items():
        (folder / name).write_bytes(blob)
    try:
        _load_and_query(folder)
    finally:
        (folder / target).write_bytes(files[target])  # back to the base index for the next input
        (folder / "manifest.json").write_bytes(files["manifest.json"])


def _load_and_query(folder: Path) -> None:
    from ocsea_match import HashIndex, IndexFileError

    try:
        index = HashIndex.load(folder)
    except IndexFileError:
        return
    index.match({"hashes": {"pdq": {"hex": "0" * 64, "quality": 100}, "phash": {"hex": "0" * 16}}, "md5": "0" * 32})
    len(index), index.lists, index.algorithms


TARGETS: dict[str, Callable[[bytes], None]] = {
    "hash_bytes": hash_bytes_target,
    "lists": lists_target,
    "journal": journal_target,
    "index": index_target,
}
