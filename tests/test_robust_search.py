"""The robust probe's substring index (robust_search, _mih) returns exactly what the exhaustive
scan returns, on random rows with neighbours planted at every distance up to past the threshold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ocsea_match import HashIndex, _core
from ocsea_match._index_store import IndexParts, Split256
from ocsea_match.robust_search import (
    RobustSearch,
    SubstringIndex,
    for_parts,
    parts_nbytes,
    planned_nbytes,
    radius_for,
)

from helpers import flip_bits, planted_rows


def _planted(seed: int, threshold: int, listed: int = 6000, queries: int = 40) -> tuple[np.ndarray, np.ndarray]:
    return planted_rows(seed, threshold, listed, queries)


def _table(rows: np.ndarray, first_entry: int = 0) -> Split256:
    return Split256(rows[:, :16], rows[:, 16:], np.arange(first_entry, first_entry + len(rows), dtype=np.uint32))


def _truth(q: np.ndarray, rows: np.ndarray, threshold: int) -> set[tuple[int, int, int]]:
    d = _core.hamming_many_to_many(q, rows, 1)
    qi, ri = np.nonzero(d <= threshold)
    return set(zip(qi.tolist(), ri.tolist(), d[qi, ri].tolist()))


def _found(lims: np.ndarray, distances: np.ndarray, labels: np.ndarray) -> list[tuple[int, int, int]]:
    owners = np.repeat(np.arange(len(lims) - 1), np.diff(lims))
    return list(zip(owners.tolist(), labels.tolist(), distances.tolist()))


@pytest.mark.parametrize("threshold", [0, 1, 5, 23, 31])
def test_substring_index_equals_the_exhaustive_scan(threshold: int) -> None:
    q, rows = _planted(threshold, threshold)
    split = len(rows) // 3
    index = SubstringIndex(_table(rows[:split]), _table(rows[split:]), threshold=threshold)
    found = _found(*index.search(q, threshold))
    truth = _truth(q, rows, threshold)
    assert _found(*index.search(q, threshold, threads=3)) == found  # queries shared by threads: same hits
    assert len(found) == len(set(found)), "a row reported twice"
    assert set(found) == truth
    assert len(truth) >= 2 * len(q) * (threshold + 1)  # every planted neighbour within the threshold
    # a lower threshold on the same index, and the second table alone
    found = _found(*index.search(q, max(threshold - 3, 0), only_b=True))
    assert set(found) == {(a, r, d) for a, r, d in _truth(q, rows, max(threshold - 3, 0)) if r >= split}
    lims, _, labels = index.search(q, threshold)
    assert all((np.diff(labels[lims[i]:lims[i + 1]]) > 0).all() for i in range(len(q)))  # rows ascending
    assert index.nbytes == planned_nbytes(threshold, len(rows))
    shared = SubstringIndex(_table(rows[:split]), _table(rows[split:]), threshold=threshold, threads=3)
    assert (shared.offsets == index.offsets).all() and (shared.ids == index.ids).all()  # tables built by threads


def _evenly_spread(q: np.ndarray, m: int, rng: np.random.Generator, threshold: int) -> np.ndarray:
    """Rows at every distance 0 .. threshold + 2 of each query with the flipped bits dealt out over
    the ``m`` substrings as evenly as possible: the hardest case for the pigeonhole (at the
    threshold only one substring is within the searched neighbourhood)."""
    lengths = [256 // m + (1 if j < 256 % m else 0) for j in range(m)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    out = []
    for row in q:
        for d in range(threshold + 3):
            per = [d // m + (1 if j < d % m else 0) for j in rng.permutation(m)]
            bits = [starts[j] + rng.choice(lengths[j], k, replace=False) for j, k in enumerate(per) if k]
            out.append(flip_bits(row, np.concatenate(bits) if bits else np.zeros(0, int)))
    return np.stack(out)


@pytest.mark.parametrize("threshold", [11, 23, 31, 35])
def test_every_neighbourhood_radius_equals_the_exhaustive_scan(threshold: int) -> None:
    """Tables built for 23 (12 substrings) answer 0-11 with 0-bit, up to 23 with 1-bit and up to 35
    with 2-bit neighbourhoods, exactly, also on rows spread evenly over the substrings, on the
    first table alone (PDQ-dihedral's probe of the plain rows) and the second alone."""
    rng = np.random.default_rng(threshold)
    q, rows = _planted(threshold + 100, threshold, listed=4000, queries=12)
    rows = np.concatenate([rows, _evenly_spread(q, 12, rng, threshold)])
    rows = rows[rng.permutation(len(rows))]
    split = len(rows) // 2
    index = SubstringIndex(_table(rows[:split]), _table(rows[split:]), threshold=23)
    assert index.m == 12 and index.exact_up_to() == 35
    truth = _truth(q, rows, threshold)
    assert set(_found(*index.search(q, threshold))) == truth
    assert set(_found(*index.search(q, threshold, only_a=True))) == {t for t in truth if t[1] < split}
    assert set(_found(*index.search(q, threshold, only_b=True))) == {t for t in truth if t[1] >= split}
    assert sum(1 for t in truth if t[2] == threshold) >= 3 * len(q)  # planted at the threshold itself


def test_whole_substrings_as_keys_equal_the_exhaustive_scan() -> None:
    """Enough rows that each 16-bit substring is keyed whole (the 1M-row case), at PDQ's 31."""
    q, rows = _planted(31, 31, listed=300_000, queries=20)
    index = SubstringIndex(_table(rows), None, threshold=31)
    assert index.key_bits == 16
    assert set(_found(*index.search(q, 31))) == _truth(q, rows, 31)


def test_substring_index_refuses_what_it_cannot_answer_exactly() -> None:
    q, rows = _planted(1, 3, listed=100, queries=2)
    index = SubstringIndex(_table(rows), None, threshold=23)
    assert index.exact_up_to() == 35  # 12 substrings, each one's 2-bit neighbourhood
    with pytest.raises(ValueError):
        index.search(q, 36)
    with pytest.raises(ValueError):
        SubstringIndex(_table(rows), None, threshold=64)


def test_robust_search_names_each_hit_entry_and_table() -> None:
    q, rows = _planted(7, 31, listed=3000, queries=10)
    pdq, derived = rows[:2000], rows[2000:]
    search = RobustSearch(_table(pdq), _table(derived, 2000), plain=31, robust=23)
    lims, distances, labels = search.turned(q, shared=True)  # through the tables of all rows
    assert set(_found(lims, distances, labels)) == _truth(q, pdq, 31)
    assert search.nbytes == planned_nbytes(23, len(rows))  # one table set
    lims, distances, labels = search.turned(q)  # through tables of its own (plain_search's)
    assert set(_found(lims, distances, labels)) == _truth(q, pdq, 31)
    lims, distances, entries, is_derived = search.variants(q)
    assert set(_found(lims, distances, entries)) == _truth(q, rows, 23)
    assert (is_derived == (entries >= 2000)).all()
    lims, distances, entries, _ = search.variants(q, derived_only=True)
    assert set(_found(lims, distances, entries - 2000)) == _truth(q, derived, 23)
    # past what substrings answer: the exhaustive scan, same hits
    wide = RobustSearch(_table(pdq), _table(derived, 2000), plain=31, robust=64)
    lims, distances, entries, _ = wide.variants(q)
    assert set(_found(lims, distances, entries)) == _truth(q, rows, 64)


def test_the_search_is_built_on_the_first_robust_query_rebuilt_after_adds_and_counted() -> None:
    rng = np.random.default_rng(3)
    index = HashIndex(threads=1)
    plain = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    index.add_hashes("a", "pdq", plain)
    parts: IndexParts = index.parts
    query = {"hashes": {"pdq": {"hex": plain[4].tobytes().hex(), "quality": 100}}}
    index.match(query)
    assert "robust search tables" not in index.nbytes()  # plain queries build nothing
    turned = flip_bits(plain[9], np.arange(30))  # 30 bits from a listed row: PDQ-dihedral's threshold
    robust_query = {**query, "robust": {"query": [{"hex": turned.tobytes().hex(), "quality": 100}]}}
    found = {(m["entry_id"], m["algorithm"], m["distance"]) for m in index.match(robust_query)}
    assert ("a:10", "pdq-dihedral", 30) in found and ("a:5", "pdq", 0) in found
    first = for_parts(parts, plain=31, robust=23)
    assert first is for_parts(parts, plain=31, robust=23)
    assert index.nbytes()["robust search tables"] == first.nbytes == planned_nbytes(23, 500)  # one table set
    derived = rng.integers(0, 256, (800, 32), dtype=np.uint8)
    index.add_hashes("b", "pdq-robust", derived)
    near = flip_bits(derived[3], np.arange(20))
    found = {(m["entry_id"], m["algorithm"], m["distance"])
             for m in index.match({"hashes": {"pdq": {"hex": near.tobytes().hex(), "quality": 100}}})}
    assert found == {("b:4", "pdq-robust", 20)}
    second = for_parts(parts, plain=31, robust=23)
    assert second is not first
    assert parts_nbytes(parts) == second.nbytes == planned_nbytes(23, 1300)  # only what was asked for
    assert "robust search tables" not in HashIndex(robust=False).nbytes()


def test_query_rows_parsed_in_one_go_keep_the_rules_of_each_row() -> None:
    """Upper-case hex, ``Hash`` values and bare strings match; rows under the quality floor are left
    out; a malformed row is refused with the parser's own error, not skipped."""
    from ocsea_match import Hash

    rng = np.random.default_rng(11)
    listed = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    index = HashIndex(threads=1)
    index.add_hashes("a", "pdq", listed)
    near = [flip_bits(listed[i], np.arange(3 * i, 3 * i + 20)) for i in range(4)]  # 20 bits away
    rows: list[object] = [{"hex": near[0].tobytes().hex().upper(), "quality": 90},
                          Hash("pdq", near[1].tobytes(), 100), near[2].tobytes().hex(),
                          {"hex": near[3].tobytes().hex(), "quality": 10}]  # under the floor of 50
    query = {"hashes": {}, "robust": {"query": [{"hex": "00" * 32, "quality": 100}] * 7 + rows}}
    found = {(m["entry_id"], m["algorithm"], m["distance"]) for m in index.match(query)}
    assert found == {("a:1", "pdq-robust", 20), ("a:2", "pdq-robust", 20), ("a:3", "pdq-robust", 20)}
    bad = {"hashes": {}, "robust": {"query": [{"hex": "zz" * 32, "quality": 100}]}}
    with pytest.raises(ValueError, match="not a pdq hash"):
        index.match(bad)


def test_prepare_builds_the_robust_tables_only_for_lists_with_robust_rows() -> None:
    rng = np.random.default_rng(5)
    index = HashIndex(threads=1)
    index.add_hashes("a", "pdq", rng.integers(0, 256, (300, 32), dtype=np.uint8))
    index.prepare()
    assert "robust search tables" not in index.nbytes()  # bare PDQ: built on the first robust query
    index.add_hashes("b", "pdq-robust", rng.integers(0, 256, (700, 32), dtype=np.uint8))
    index.prepare()
    assert index.nbytes()["robust search tables"] == planned_nbytes(23, 1000)
    assert "robust search tables" not in HashIndex(robust=False).nbytes()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), plain=st.integers(0, 40), robust=st.integers(0, 36),
       n_pdq=st.integers(0, 400), n_derived=st.integers(0, 400))
def test_robust_search_equals_the_exhaustive_scan_for_any_thresholds(seed: int, plain: int, robust: int,
                                                                      n_pdq: int, n_derived: int) -> None:
    """Any thresholds, any table sizes (either table absent), queries at every distance from
    listed rows: the turned and variant probes, through shared or own tables, find exactly the
    pairs the brute-force scan finds."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 256, (n_pdq + n_derived, 32), dtype=np.uint8)
    if len(rows):
        picks = rng.integers(0, len(rows), 30)
        q = np.stack([flip_bits(rows[i], rng.choice(256, int(rng.integers(0, 42)), replace=False)) for i in picks])
    else:
        q = rng.integers(0, 256, (5, 32), dtype=np.uint8)
    pdq = _table(rows[:n_pdq]) if n_pdq else None
    derived = _table(rows[n_pdq:], n_pdq) if n_derived else None
    search = RobustSearch(pdq, derived, plain=plain, robust=robust)
    if pdq is not None:
        for shared in (True, False):
            assert set(_found(*search.turned(q, shared=shared))) == _truth(q, rows[:n_pdq], plain)
    lims, distances, entries, _ = search.variants(q)
    assert set(_found(lims, distances, entries)) == _truth(q, rows, robust)
    lims, distances, entries, _ = search.variants(q, derived_only=True)
    assert set(_found(lims, distances, entries)) == {t for t in _truth(q, rows, robust) if t[1] >= n_pdq}


def test_robust_rows_filed_under_their_entry_cost_a_run_not_a_row(tmp_path) -> None:
    """A picture's robust rows, one after another under its entry, keep their entry numbers as runs
    (8 bytes a picture), match as before, and survive a save and a load."""
    rng = np.random.default_rng(8)
    plain = rng.integers(0, 256, (200, 32), dtype=np.uint8)
    derived = rng.integers(0, 256, (1000, 32), dtype=np.uint8)
    index = HashIndex(threads=1)
    index.add_hashes("a", "pdq", plain)
    index.parts.add_rows("pdq-robust", derived, np.repeat(np.arange(200, dtype=np.uint32), 5))
    assert index.nbytes()["pdq-robust entry numbers"] == 200 * 8
    near = flip_bits(derived[637], np.arange(18))  # a robust row of entry 127
    query = {"hashes": {"pdq": {"hex": near.tobytes().hex(), "quality": 100}}}
    expected = [("a:128", "pdq-robust", 18)]
    assert [(m["entry_id"], m["algorithm"], m["distance"]) for m in index.match(query)] == expected
    index.save(tmp_path / "saved")
    again = HashIndex.load(tmp_path / "saved", threads=1)
    assert [(m["entry_id"], m["algorithm"], m["distance"]) for m in again.match(query)] == expected
    assert again.nbytes()["pdq-robust entry numbers"] == 200 * 8
    assert np.array_equal(np.asarray(again.parts.perceptual["pdq-robust"].entries), np.repeat(np.arange(200), 5))


@pytest.mark.parametrize("threshold", [11, 20, 23, 31, 35])
def test_each_substring_alone_finds_a_row_at_the_threshold(threshold: int) -> None:
    """Tables of 12 substrings (the robust 23's) searched at ``threshold``: substrings at radius r
    or r - 1 as ``SubstringIndex.search`` deals them. For each substring, a row with as many
    flipped bits there as its radius and one more than theirs in every other substring: exactly
    ``threshold`` bits away and within reach of that substring alone, so a wrong radius or a
    wrongly skipped substring loses it; with one more bit there (threshold + 1) it must not be found."""
    rng = np.random.default_rng(threshold)
    m = 12
    lengths = [256 // m + (1 if j < 256 % m else 0) for j in range(m)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    radius = radius_for(m, threshold, 21)
    wide = m if radius == 0 else threshold + 1 - m * radius
    radii = [radius if j < wide else radius - 1 for j in range(m)]
    q = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    planted = []
    for row in q:
        for k in range(m):
            for extra in (0, 1):
                flips = [radii[j] + 1 if j != k else radii[j] + extra for j in range(m)]
                bits = [starts[j] + rng.choice(lengths[j], n, replace=False) for j, n in enumerate(flips) if n > 0]
                planted.append(flip_bits(row, np.concatenate(bits)))
    rows = np.concatenate([rng.integers(0, 256, (3000, 32), dtype=np.uint8), np.stack(planted)])
    rows = rows[rng.permutation(len(rows))]
    index = SubstringIndex(_table(rows[:1000]), _table(rows[1000:]), threshold=23)
    truth = _truth(q, rows, threshold)
    assert sum(1 for t in truth if t[2] == threshold) == len(q) * m  # every substring's row, at the threshold
    assert set(_found(*index.search(q, threshold))) == truth
