"""``HashIndex(substring_search=True)``: the plain PDQ probe through substring tables gives what the
exhaustive scan gives (same matches, order and distances), on random rows with neighbours planted at
every distance 0 .. threshold + 2; rebuilt when a list is added; chosen at load, never saved."""

from __future__ import annotations

import numpy as np
import pytest

from ocsea_match import HashIndex
from ocsea_match.plain_search import search_pdq

from helpers import flip_bits, planted_rows


def _planted(seed: int, threshold: int, listed: int = 5000, queries: int = 30) -> tuple[np.ndarray, np.ndarray]:
    return planted_rows(seed, threshold, listed, queries)


def _records(queries: np.ndarray) -> list[dict]:
    """One record per query; every third also carries a second dialect (a neighbour of its own)."""
    out = []
    for i, q in enumerate(queries):
        hashes = {"pdq": {"hex": q.tobytes().hex(), "quality": 100}}
        if i % 3 == 0:
            hashes["pdq-thumb512"] = {"hex": flip_bits(q, np.array([5, 77])).tobytes().hex(), "quality": 90}
        out.append({"hashes": hashes})
    return out


def _pair(rows: np.ndarray, threshold: int, **settings) -> tuple[HashIndex, HashIndex]:
    indexes = []
    for flag in (False, True):
        index = HashIndex(thresholds={"pdq": threshold}, threads=1, substring_search=flag, **settings)
        half = len(rows) // 2  # two lists, ids of the second one explicit
        index.add_hashes("known_list", "pdq", rows[:half], categories="1")
        index.add_hashes("second_list", "pdq", rows[half:], entry_ids=[f"S{i}" for i in range(len(rows) - half)])
        indexes.append(index)
    return indexes[0], indexes[1]


@pytest.mark.parametrize("threshold", [0, 16, 31])
def test_same_matches_as_the_scan(threshold: int) -> None:
    queries, rows = _planted(threshold, threshold)
    scan, substring = _pair(rows, threshold, robust=False)
    records = _records(queries)
    expected = scan.match_many(records)
    assert sum(len(m) for m in expected) >= len(queries) * 2 * (threshold + 1)  # the planted ones at least
    assert substring.match_many(records) == expected
    # the raw search too: same rows, same order, same distances as the exhaustive scan
    table = substring.parts.table("pdq")
    for found, scanned in zip(search_pdq(substring.parts, queries, substring.thresholds, 1),
                              table.search(queries, threshold, 1)):
        np.testing.assert_array_equal(found, scanned)
    assert substring.nbytes()["substring search tables"] >= 4 * len(rows) * (threshold + 1) // 2
    assert "substring search tables" not in scan.nbytes()


def test_with_the_robust_probe_and_after_adding_a_list(tmp_path) -> None:
    queries, rows = _planted(7, 31, listed=3000, queries=12)
    scan, substring = _pair(rows, 31)  # robust on: the tables are shared with the robust probe
    substring.prepare()
    built = substring.nbytes()["substring search tables"]
    records = _records(queries)
    assert substring.match_many(records) == scan.match_many(records)
    # a list added after the tables were built: they are built again, and the new rows are found
    extra = np.stack([flip_bits(q, np.array([1, 2, 3])) for q in queries])
    for index in (scan, substring):
        index.add_hashes("added_list", "pdq", extra)
    after = substring.match_many(records)
    assert after == scan.match_many(records)
    assert all(any(m["list"] == "added_list" and m["distance"] == 3 for m in found) for found in after)
    assert substring.nbytes()["substring search tables"] > built
    # not saved: a loaded index searches through substring tables only when asked to
    substring.save(tmp_path / "index")
    loaded = HashIndex.load(tmp_path / "index", substring_search=True)
    assert loaded.substring_search and not HashIndex.load(tmp_path / "index").substring_search
    assert not any("substring" in p.name for p in (tmp_path / "index").iterdir())
    loaded.prepare()
    assert loaded.match_many(records) == after


def test_past_the_substring_layout_the_scan() -> None:
    queries, rows = _planted(5, 66, listed=500, queries=3)
    index = HashIndex(substring_search=True)
    index.add_hashes("known_list", "pdq", rows)
    thresholds = {"pdq": 66, "pdq-robust": 23}  # past robust_search.MAX_THRESHOLD (PDQ's own limit is 63)
    for found, scanned in zip(search_pdq(index.parts, queries, thresholds, 1), index.parts.table("pdq").search(queries, 66, 1)):
        np.testing.assert_array_equal(found, scanned)


def test_no_pdq_rows() -> None:
    index = HashIndex(substring_search=True)
    index.add_hashes("known_list", "phash", np.zeros((2, 8), np.uint8))
    index.prepare()  # nothing to build
    assert index.match({"hashes": {"pdq": {"hex": "00" * 32, "quality": 100}}}) == []
    rows = np.random.default_rng(3).integers(0, 256, (50, 32), dtype=np.uint8)
    index.add_hashes("pdq_list", "pdq", rows)
    assert [m["entry_id"] for m in index.match({"hashes": {"pdq": {"hex": rows[4].tobytes().hex()}}})] == ["pdq_list:5"]
