"""Where the evidence is on the workers: ``--path-map LOCAL=REMOTE``.

The client walks the evidence at its own paths (LOCAL); a worker reads each file at REMOTE instead
(the same read-only store mounted elsewhere), and every path in the records it sends back is
turned back into LOCAL, so that the records, the journal and ``--resume`` are exactly those of a
scan on one machine. Without a map, workers read the same paths as the client.

>>> m = PathMap.parse(["/mnt/case=/srv/evidence"])
>>> m.to_remote("/mnt/case/a.jpg")
'/srv/evidence/a.jpg'
>>> m.to_local({"path": "/srv/evidence/a.jpg"})["path"]
'/mnt/case/a.jpg'
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["PathMap"]

#: Record fields that hold a path (a member's own, its archive's, its parent's).
_PATH_FIELDS = ("path", "parent", "container_file")


def _swap(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        stem = old.rstrip("/")
        if text == stem or text.startswith(stem + "/"):
            return (new.rstrip("/") + text[len(stem):]) or "/"
    return text


@dataclass(frozen=True)
class PathMap:
    """Prefix pairs ``(local, remote)``; the first pair whose local prefix a path starts with applies."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, specs: Iterable[str]) -> PathMap:
        """``["LOCAL=REMOTE", ...]`` (absolute paths, as ``--path-map`` takes them); ValueError otherwise."""
        pairs = []
        for spec in specs:
            local, sep, remote = spec.partition("=")
            if not sep or not os.path.isabs(local) or not os.path.isabs(remote):
                raise ValueError(f"--path-map wants LOCAL=REMOTE, two absolute paths; got {spec!r}")
            pairs.append((os.path.abspath(local), remote.rstrip("/") or "/"))
        return cls(tuple(pairs))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def to_remote(self, item: Any) -> Any:
        """A path (or a walked entry, anything with a ``path`` field) as the workers see it."""
        if isinstance(item, (str, os.PathLike)):
            return _swap(os.fspath(item), self.pairs)
        if dataclasses.is_dataclass(item) and isinstance(getattr(item, "path", None), str):
            return dataclasses.replace(item, path=_swap(item.path, self.pairs))  # type: ignore[type-var]
        return item

    def to_local(self, result: Any) -> Any:
        """A record (or a list of records) with every path turned back into the client's."""
        if isinstance(result, list):
            return [self.to_local(r) for r in result]
        if not isinstance(result, dict):
            return result
        back = tuple((remote, local) for local, remote in self.pairs)
        for key in _PATH_FIELDS:
            if isinstance(result.get(key), str):
                result[key] = _swap(result[key], back)
        raw = result.get("path_hex")
        if isinstance(raw, str):  # a name that is not UTF-8: its exact bytes, prefix swapped the same way
            name = os.fsdecode(bytes.fromhex(raw))
            result["path_hex"] = os.fsencode(_swap(name, back)).hex()
        return result
