"""``ocsea-match serve --substring-search`` (and ``IndexSource(substring_search=True)``): the
substring tables are built before /healthz answers, and lookups find what the exhaustive scan finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the service extra is not installed (pip install '.[service]')")

from ocsea_match import HashIndex  # noqa: E402
from ocsea_match.service.matcher import IndexSource  # noqa: E402

from service_server import Server, make_keys, post_json  # noqa: E402


def _lists(base: Path) -> tuple[Path, list[dict]]:
    """A list of 2000 random PDQ hashes, and queries: listed ones with 0-40 bits flipped, and random ones."""
    rng = np.random.default_rng(11)
    rows = rng.integers(0, 256, (2000, 32), dtype=np.uint8)
    path = base / "known_list.csv"
    path.write_text("hash,id,category\n" + "".join(f"{r.tobytes().hex()},A{i},1\n" for i, r in enumerate(rows)))
    queries = []
    for i, flips in enumerate(range(0, 41, 4)):
        q = rows[i * 7].copy()
        for b in rng.choice(256, flips, replace=False).tolist():
            q[b // 8] ^= 1 << (b % 8)
        queries.append({"hashes": {"pdq": {"hex": q.tobytes().hex(), "quality": 100}}})
    queries += [{"hashes": {"pdq": {"hex": rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(), "quality": 100}}}]
    return path, queries


def test_index_source_prepares_the_tables_at_load(tmp_path: Path) -> None:
    path, queries = _lists(tmp_path)
    index = IndexSource(lists=[path], substring_search=True).load().index
    assert index.substring_search and index.nbytes()["substring search tables"] > 0  # before any query
    plain = IndexSource(lists=[path]).load().index
    assert not plain.substring_search and "substring search tables" not in plain.nbytes()
    assert index.match_many(queries) == plain.match_many(queries)


def test_serve_with_substring_search(tmp_path: Path) -> None:
    path, queries = _lists(tmp_path)
    keys = make_keys(tmp_path / "keys.json")
    expected, _ = HashIndex.from_lists([path])
    server = Server(["--list", path.name, "--keys", "keys.json", "--workers", "1", "--substring-search"], cwd=tmp_path)
    try:
        with server.client(keys["hashes"]) as c:
            r = post_json(c, "/v1/match-hashes", queries)
            assert r.status_code == 200, r.text
            answers = [item["matches"] for item in r.json()]
    finally:
        server.stop()
    wanted = expected.match_many(queries)
    assert [[(m["entry_id"], m["distance"]) for m in a] for a in answers] == [[(m["entry_id"], m["distance"]) for m in w]
                                                                             for w in wanted]
    assert sum(map(len, answers)) >= 8  # the near ones (up to 31 bits) at least


def test_substring_search_is_chosen_for_big_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Left unset, the service searches through substring tables from AUTO_SUBSTRING_ROWS PDQ rows
    (here lowered to 2000, the list's size), with the same matches; False keeps the scan."""
    from ocsea_match.service import matcher

    path, queries = _lists(tmp_path)
    assert not IndexSource(lists=[path]).load().index.substring_search  # 2000 rows < 4M
    monkeypatch.setattr(matcher, "AUTO_SUBSTRING_ROWS", 2000)
    auto = IndexSource(lists=[path]).load().index
    assert auto.substring_search and auto.nbytes()["substring search tables"] > 0  # built at load
    scan = IndexSource(lists=[path], substring_search=False).load().index
    assert not scan.substring_search and "substring search tables" not in scan.nbytes()
    assert auto.match_many(queries) == scan.match_many(queries)


def test_robust_tables_are_built_at_load_when_asked(tmp_path: Path) -> None:
    """``warm_robust`` (create_app(robust=True), or robust lists loaded): the robust probe's tables
    exist before the first query, which then finds what a cold index finds."""
    path, queries = _lists(tmp_path)
    cold = IndexSource(lists=[path], substring_search=False).load().index
    assert "robust search tables" not in cold.nbytes()
    warm = IndexSource(lists=[path], substring_search=False, warm_robust=True).load().index
    assert warm.nbytes()["robust search tables"] > 0
    robust = [{**q, "robust": {"query": [q["hashes"]["pdq"]]}} for q in queries]
    assert warm.match_many(robust) == cold.match_many(robust)
