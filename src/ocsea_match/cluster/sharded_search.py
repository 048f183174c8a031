"""A sharded index (``index build --shards N``) used where a saved index is: ``match --index DIR``
and ``scan --index DIR``, on one machine (every shard loaded here, each searched, the matches
merged) or with a cluster (``ShardedIndex``: each shard loaded once on a worker). Lists given with
``--list`` next to it go into an index of their own, searched as one more shard. The matches are
those of one ``HashIndex`` of every list: a threshold search is exact per shard (``merge_matches``).

>>> import numpy as np
>>> from ocsea_match.cluster import build_sharded_index
>>> rows = np.random.default_rng(1).integers(0, 256, (4, 32), dtype=np.uint8)
>>> _ = open("known_list.txt", "w").write("".join(r.tobytes().hex() + "\\n" for r in rows))
>>> _ = build_sharded_index(["known_list.txt"], "sharded-2", shards=2)
>>> index = open_any_index("sharded-2")
>>> len(index), index.algorithms, [m["entry_id"] for m in index.match({"hashes": {"pdq": {"hex": rows[2].tobytes().hex()}}})]
(4, ['pdq'], ['known_list:3'])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._wording import idle_sentence
from ..hashes import match_family
from ..index import HashIndex, open_index
from ..thresholds import check_quality_floor
from .index_shards import ShardedIndex, is_sharded_index, merge_matches, shard_folders, shard_info

__all__ = ["ShardSet", "open_any_index"]


class ShardSet:
    """What ``match`` and ``scan`` ask of an index (``algorithms``, ``thresholds``, the PDQ quality
    floor, ``idle_note``, ``add_list_file``, ``match``, ``match_many``), over a sharded index's shards.

    ``client``: a Dask client or ``Cluster`` (the shards are loaded on its workers), or None (loaded
    here, each with ``HashIndex.load``).
    """

    sharded = True  # (match and scan send it records in batches)

    def __init__(self, folder: str | Path, *, client: Any = None, pdq_quality_floor: int | None = None) -> None:
        folder = Path(folder)
        paths = shard_folders(folder)  # the manifest and every shard's SHA-256 checked
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.thresholds: dict[str, int] = dict(manifest.get("thresholds") or {})
        self.pdq_quality_floor = int(manifest.get("pdq_quality_floor", 50))
        if pdq_quality_floor is not None and check_quality_floor(pdq_quality_floor) != self.pdq_quality_floor:
            raise ValueError(f"{folder} was built with the PDQ quality floor {self.pdq_quality_floor}, not "
                             f"{pdq_quality_floor}: build it again with --pdq-quality-floor {pdq_quality_floor}, "
                             "or leave the option out")
        self.remote = ShardedIndex(client, folder) if client is not None else None
        self.local = [HashIndex.load(p) for p in paths] if client is None else []
        self.infos = self.remote.infos if self.remote is not None else [shard_info(i) for i in self.local]
        self.robust = any(info["robust"] for info in self.infos)
        self.extra = HashIndex(thresholds=self.thresholds, pdq_quality_floor=self.pdq_quality_floor)

    def __len__(self) -> int:
        return sum(info["entries"] for info in self.infos) + len(self.extra)

    @property
    def algorithms(self) -> list[str]:
        """The algorithms that have entries in any shard (or in a list added here)."""
        return sorted(set(self.extra.algorithms).union(*(info["algorithms"] for info in self.infos)))

    def add_list_file(self, path: str | Path, *, strict: bool = False) -> Any:
        """A list given next to the sharded index: into an index of its own, searched as a shard."""
        return self.extra.add_list_file(path, strict=strict)

    def idle_note(self, algorithms: Iterable[str]) -> str | None:
        """``HashIndex.idle_note`` over every shard's tables."""
        algorithms = list(algorithms)
        families = {match_family(a) for a in algorithms}
        if "pdq" in families and self.robust:
            families.add("pdq-robust")
        tables: dict[str, int] = {}
        for info in [*self.infos, shard_info(self.extra)]:
            for family, rows in info["tables"].items():
                tables[family] = tables.get(family, 0) + rows
        return idle_sentence({f: n for f, n in sorted(tables.items()) if f not in families}, algorithms)

    def match(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Matches of one file record, as one ``HashIndex`` of every list gives them."""
        return self.match_many([query])[0]

    def match_many(self, queries: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
        """``match`` for many records: every shard searched, the matches merged exactly."""
        per_shard = [index.match_many(queries) for index in self.local]
        if self.remote is not None:
            per_shard.append(self.remote.match_many(queries))
        if len(self.extra):
            per_shard.append(self.extra.match_many(queries))
        return [merge_matches([found[i] for found in per_shard]) for i in range(len(queries))]


def open_any_index(index_dir: str | Path | None = None, *, pdq_quality_floor: int | None = None,
                   client: Any = None) -> HashIndex | ShardSet:
    """``index.open_index``, or a ``ShardSet`` when ``index_dir`` holds a sharded index (searched on
    the workers of ``client`` when it is a Dask client or ``Cluster``, else here)."""
    if index_dir is not None and is_sharded_index(index_dir):
        dask = client is not None and hasattr(getattr(client, "executor", client), "scheduler_info")
        return ShardSet(index_dir, client=client if dask else None, pdq_quality_floor=pdq_quality_floor)
    return open_index(index_dir, pdq_quality_floor=pdq_quality_floor)
