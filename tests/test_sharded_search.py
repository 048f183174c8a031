"""A sharded index searched on this machine (cluster/sharded_search.py, no Dask needed): the same
matches, algorithms and idle-table note as one ``HashIndex`` of the same lists, a list added next
to it searched as one more shard, a PDQ quality floor other than the index's refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ocsea_match import HashIndex
from ocsea_match.cluster import build_sharded_index, open_any_index


def test_a_sharded_index_searched_here_is_one_index(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    known = tmp_path / "known_list.csv"
    known.write_text("hash,id,quality\n" + "".join(f"{r.tobytes().hex()},{i % 450},{40 if i % 60 == 0 else 90}\n"
                                                    for i, r in enumerate(rows)))
    digests = tmp_path / "known_md5.txt"
    digests.write_text("".join(f"{i:032x}  file{i}.jpg\n" for i in range(50)) + f"{3:032x}  again.jpg\n")
    other = tmp_path / "other_list.txt"
    other.write_text("".join(f"{r.tobytes().hex()}\n" for r in rows[::7]))
    build_sharded_index([known, digests], tmp_path / "sharded", shards=3)
    sharded = open_any_index(tmp_path / "sharded")
    single, _ = HashIndex.from_lists([known, digests])
    queries = rows[rng.integers(0, len(rows), 100)].copy()
    queries ^= ((rng.integers(0, 256, queries.shape) < 12) * rng.integers(1, 256, queries.shape)).astype(np.uint8)
    records = [{"md5": f"{i:032x}", "hashes": {"pdq": {"hex": q.tobytes().hex(), "quality": 100}}} for i, q in enumerate(queries)]
    expected = single.match_many(records)
    assert sum(map(len, expected)) > 100
    assert sharded.match_many(records) == expected and sharded.match(records[3]) == single.match(records[3])
    assert sharded.algorithms == single.algorithms and len(sharded) == len(single)
    assert sharded.idle_note(["phash"]) == single.idle_note(["phash"]) is not None
    assert sharded.add_list_file(other).to_json() == single.add_list_file(other).to_json()
    assert sharded.match_many(records) == single.match_many(records)
    with pytest.raises(ValueError, match="quality floor"):
        open_any_index(tmp_path / "sharded", pdq_quality_floor=70)
    assert isinstance(open_any_index(None), HashIndex)


def test_a_vics_list_in_a_sharded_build_is_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``index build --shards``: a VICS list (items with MediaFiles, as real exports) is read by the
    streaming path, not whole by ``load_list``: the same report and matches as one index."""
    import json

    items = [{"MediaID": i, "Category": i % 3, "MD5": f"{i:032x}", "MediaFiles": [{"FileName": f"{i}.jpg", "FilePath": "C:\\x\\"}],
              "AlternativeHashes": [{"HashName": "PDQ", "HashValue": f"{i * 7919:064x}", "Quality": 90}]} for i in range(1, 300)]
    items[5]["MD5"] = "not hex"
    vics = tmp_path / "known_list.json"
    vics.write_text(json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/"
                                                  "$metadata#Media", "value": items}))
    single, single_reports = HashIndex.from_lists([vics])
    for module in ("ocsea_match.index", "ocsea_match.cluster.index_shards"):  # (the latter read lists whole before)
        monkeypatch.setattr(f"{module}.load_list", lambda *a, **k: pytest.fail("read whole by load_list"), raising=False)
    reports = build_sharded_index([vics], tmp_path / "sharded", shards=2)
    assert [r.to_json() for r in reports] == [r.to_json() for r in single_reports]
    sharded = open_any_index(tmp_path / "sharded")
    records = [{"md5": f"{i:032x}", "hashes": {"pdq": {"hex": f"{i * 7919:064x}", "quality": 100}}} for i in (1, 6, 250)]
    assert sharded.match_many(records) == single.match_many(records) and len(sharded) == len(single)
