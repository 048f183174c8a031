"""Known-good lists (NSRL and the like) as sorted digest arrays that worker processes share.

The digests are written once as ``.npy`` files (fixed-width bytes, sorted) and memory-mapped by
every worker, so a list of tens of millions of hashes costs each worker no copy and the parent
ships only a folder name to them. A file whose MD5, SHA-1 or SHA-256 is on a list is
``skipped`` with the code ``known-good`` and the list's name, before any decoding.

>>> import tempfile
>>> from ocsea_match.formats import HashList, ListEntry
>>> nsrl = HashList("nsrl", [ListEntry("1", "md5", "d41d8cd98f00b204e9800998ecf8427e")])
>>> with tempfile.TemporaryDirectory() as folder:
...     known = KnownGood.build([nsrl], folder)
...     known({"md5": "d41d8cd98f00b204e9800998ecf8427e", "sha1": None, "sha256": None}).code
'known-good'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..algorithms import ALGORITHM_INFO, DIGESTS
from ..errors import MediaError

if TYPE_CHECKING:  # a type only: workers unpickling a KnownGood import no list format
    from ..formats import HashList

__all__ = ["KnownGood"]

_WIDTHS = {a: ALGORITHM_INFO[a].nbytes for a in DIGESTS}  # bytes of each digest
_loaded: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}  # per process: folder -> arrays


class KnownGood:
    """A picklable skip check (``hash_file(..., skip=known)``) over digest arrays in ``folder``."""

    def __init__(self, folder: str | Path, names: Sequence[str]) -> None:
        self.folder = str(folder)
        self.names = list(names)

    @classmethod
    def build(cls, lists: Sequence[HashList], folder: str | Path) -> KnownGood:
        """Write the lists' MD5/SHA-1/SHA-256 entries into ``folder`` as sorted arrays."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        for algorithm, width in _WIDTHS.items():
            values: list[bytes] = []
            owners: list[int] = []
            for code, hash_list in enumerate(lists):
                for entry in hash_list.entries:
                    if entry.algorithm == algorithm:
                        values.append(bytes.fromhex(entry.hex))
                        owners.append(code)
            keys = np.array(values, dtype=f"S{width}") if values else np.zeros(0, f"S{width}")
            list_codes = np.asarray(owners, dtype=np.uint16)
            order = np.argsort(keys, kind="stable")
            np.save(out / f"{algorithm}.keys.npy", keys[order], allow_pickle=False)
            np.save(out / f"{algorithm}.lists.npy", list_codes[order], allow_pickle=False)
            counts[algorithm] = len(values)
        names = [h.name for h in lists]
        (out / "known_good.json").write_text(json.dumps({"lists": names, "counts": counts}), encoding="utf-8")
        return cls(out, names)

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._arrays().values())

    def _arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        arrays = _loaded.get(self.folder)
        if arrays is None:
            folder = Path(self.folder)
            arrays = {
                a: (np.load(folder / f"{a}.keys.npy", mmap_mode="r", allow_pickle=False),
                    np.load(folder / f"{a}.lists.npy", mmap_mode="r", allow_pickle=False))
                for a in _WIDTHS
            }
            _loaded[self.folder] = arrays
        return arrays

    def lookup(self, record: dict[str, Any]) -> tuple[str, str] | None:
        """``(algorithm, list name)`` of the first digest of the record on a list, else ``None``."""
        for algorithm, (keys, owners) in self._arrays().items():
            value = record.get(algorithm)
            if not value or not len(keys):
                continue
            key = np.array(bytes.fromhex(value), dtype=keys.dtype)
            i = int(np.searchsorted(keys, key))
            if i < len(keys) and keys[i] == key:
                return algorithm, self.names[int(owners[i])]
        return None

    def __call__(self, record: dict[str, Any]) -> MediaError | None:
        found = self.lookup(record)
        if found is None:
            return None
        algorithm, name = found
        record["known_good"] = name
        return MediaError("known-good", f"{algorithm.upper()} is on the known-good list {name!r}")
