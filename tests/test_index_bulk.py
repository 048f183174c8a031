"""HashIndex.add_hashes, the columnar entry metadata, format version 2, and matching at the index
level against brute force (random, benign data)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ocsea_match import Hash, HashIndex, IndexFileError
from ocsea_match.formats import read_list_text


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(77)


def near(row: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(row)
    bits[rng.choice(bits.size, k, replace=False)] ^= 1
    return np.packbits(bits)


def pdq(row: np.ndarray) -> dict[str, Hash]:
    return {"pdq": Hash("pdq", row.tobytes())}


def distances(query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.unpackbits(rows ^ query, axis=1).sum(axis=1)


def test_generated_ids_categories_and_the_match_shape(rng: np.random.Generator) -> None:
    rows = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    index = HashIndex()
    assert index.add_hashes("export", "pdq", rows, categories="1") == 300
    assert len(index) == 300 and index.lists == ["export"] and index.algorithms == ["pdq"]
    matches = index.match(pdq(near(rows[41], 5, rng)))
    assert matches == [{"list": "export", "entry_id": "export:42", "category": "1", "algorithm": "pdq",
                        "distance": 5, "threshold": 31}]
    assert index.nbytes() == {"pdq hashes": 300 * 32, "pdq entry numbers": 300 * 4,
                              "entry categories": 300 * 2, "entry ids": 0}


def test_explicit_ids_per_row_categories_and_quality_floor(rng: np.random.Generator) -> None:
    rows = rng.integers(0, 256, (6, 32), dtype=np.uint8)
    ids = ["a", "b", "ç-é", "d", "é€", "f"]
    index = HashIndex()
    index.add_hashes("x", "pdq", rows, entry_ids=ids, categories=["1", None, "2", "1", "2", None],
                     qualities=[90, 10, 90, 90, 90, 49])
    assert len(index) == 4  # two rows under the floor of 50
    assert [index.match(pdq(r)) != [] for r in rows] == [True, False, True, True, True, False]
    found = index.match(pdq(rows[4]))[0]
    assert (found["entry_id"], found["category"]) == ("é€", "2")
    index.add_hashes("y", "pdq", rows[:3], qualities=np.array([10, 60, 60]))
    assert [m["entry_id"] for m in index.match(pdq(rows[2])) if m["list"] == "y"] == ["y:3"]


def test_rows_are_checked_and_a_list_is_added_once(rng: np.random.Generator) -> None:
    index = HashIndex()
    index.add_hashes("x", "pdq", rng.integers(0, 256, (2, 32), dtype=np.uint8))
    for bad in (np.zeros((2, 31), np.uint8), np.zeros((2, 32), np.int64), np.zeros(64, np.uint8)):
        with pytest.raises(ValueError):
            index.add_hashes("y", "pdq", bad)
    with pytest.raises(ValueError, match="already"):
        index.add_hashes("x", "pdq", np.zeros((1, 32), np.uint8))
    with pytest.raises(ValueError):
        index.add_hashes("y", "nohash", np.zeros((1, 32), np.uint8))
    with pytest.raises(ValueError):
        index.add_hashes("y", "pdq", np.zeros((2, 32), np.uint8), entry_ids=["one"])
    with pytest.raises(TypeError):
        index.add_hashes("y", "pdq", np.zeros((1, 32), np.uint8), entry_ids=[7])  # type: ignore[list-item]
    assert index.lists == ["x"] and len(index) == 2


def test_other_algorithms_and_duplicate_ids(rng: np.random.Generator) -> None:
    index = HashIndex()
    md5 = rng.integers(0, 256, (3, 16), dtype=np.uint8)
    index.add_hashes("digests", "md5", md5, entry_ids=["m0", "m1", "m2"])
    phash = rng.integers(0, 256, (50, 8), dtype=np.uint8)
    index.add_hashes("p", "phash", phash)
    base = rng.integers(0, 256, 32, dtype=np.uint8)
    index.add_hashes("frames", "pdq", np.stack([near(base, 4, rng), base]), entry_ids=["same", "same"])
    assert index.match({"md5": md5[1].tobytes().hex()})[0]["entry_id"] == "m1"
    assert [m["entry_id"] for m in index.match({"phash": Hash("phash", phash[7].tobytes())})] == ["p:8"]
    found = index.match(pdq(base))
    assert [(m["entry_id"], m["distance"]) for m in found] == [("same", 0)]  # one match for the one id


def test_index_matches_equal_brute_force(rng: np.random.Generator) -> None:
    rows = rng.integers(0, 256, (20000, 32), dtype=np.uint8)
    half = len(rows) // 2
    index = HashIndex(threads=2)
    index.add_hashes("one", "pdq", rows[:half])
    index.add_list(read_list_text("\n".join(r.tobytes().hex() for r in rows[half:half + 5]) + "\n", "two")[0])
    index.add_hashes("three", "pdq-thumb512", rows[half + 5:])
    queries = [near(rows[i], k, rng) for i, k in zip(rng.integers(0, len(rows), 60), rng.integers(0, 40, 60))]
    queries += [rng.integers(0, 256, 32, dtype=np.uint8) for _ in range(20)]
    names = {"one": (0, half), "two": (half, half + 5), "three": (half + 5, len(rows))}
    for query, matches in zip(queries, index.match_many([pdq(q) for q in queries])):
        d = distances(query, rows)
        expected = []
        for m in np.flatnonzero(d <= 31):
            name = next(n for n, (a, b) in names.items() if a <= m < b)
            k = m - names[name][0] + 1
            expected.append((int(d[m]), name, f"{name}:{k}" if name != "two" else f"two:{k}"))
        assert sorted(expected) == [(m["distance"], m["list"], m["entry_id"]) for m in matches]


@pytest.mark.parametrize("threads", [1, 0])  # 0: each search on OpenMP threads too
def test_threads_querying_at_once_agree(rng: np.random.Generator, threads: int) -> None:
    rows = rng.integers(0, 256, (200000, 32), dtype=np.uint8)
    index = HashIndex(threads=threads)
    index.add_hashes("big", "pdq", rows)
    queries = [pdq(near(rows[i * 997], i % 32, rng)) for i in range(40)]
    expected = index.match_many(queries)
    assert all(len(m) == 1 for m in expected)
    with ThreadPoolExecutor(8) as pool:  # the kernel releases the GIL: searches overlap
        results = list(pool.map(index.match, queries))
    assert results == expected


def saved(tmp_path: Path, rng: np.random.Generator) -> tuple[HashIndex, Path, np.ndarray]:
    rows = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    index = HashIndex(thresholds={"pdq": 25})
    index.add_hashes("gen", "pdq", rows[:400], categories=["A", "B"] * 200, qualities=[80] * 399 + [3])
    index.add_hashes("ids", "pdq", rows[400:], entry_ids=[f"é{i}" for i in range(100)])
    index.add_hashes("sums", "sha1", rows[:2, :20])
    index.save(tmp_path / "idx")
    return index, tmp_path / "idx", rows


def test_save_load_version_2_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    index, folder, rows = saved(tmp_path, rng)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == 2 and manifest["categories"] == [None, "A", "B"]
    assert not any(name.endswith(".json") and name != "manifest.json" for name in manifest["files"])
    loaded = HashIndex.load(folder)
    assert loaded.lists == ["gen", "ids", "sums"] and len(loaded) == len(index) == 501
    assert loaded.thresholds["pdq"] == 25 and loaded.nbytes() == index.nbytes()
    queries = [pdq(near(r, 3, rng)) for r in rows[::7]] + [{"sha1": rows[1, :20].tobytes().hex()}]
    assert loaded.match_many(queries) == index.match_many(queries)
    assert loaded.match(pdq(rows[401]))[0]["entry_id"] == "é1"
    loaded.add_hashes("more", "pdq", rows[:1])  # a loaded index grows like a new one
    assert {m["list"] for m in loaded.match(pdq(rows[0]))} == {"gen", "more"}


@pytest.mark.parametrize("name", ["entries.categories.npy", "list1.ids_blob.npy", "list1.ids_offsets.npy",
                                  "pdq.entries.npy", "list0.ids_numbers.npy"])
def test_altered_files_are_refused(tmp_path: Path, rng: np.random.Generator, name: str) -> None:
    _, folder, _ = saved(tmp_path, rng)
    data = bytearray((folder / name).read_bytes())
    data[-1] ^= 1
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="altered"):
        HashIndex.load(folder)


def test_inconsistent_or_old_manifests_are_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    _, folder, _ = saved(tmp_path, rng)
    original = (folder / "manifest.json").read_text()
    manifest = json.loads(original)
    for edit in (lambda m: m.update(version=1), lambda m: m["lists"][1].update(entries=99),
                 lambda m: m["lists"][0].update(ids="other"), lambda m: m.update(categories=["A"]),
                 lambda m: m["files"].pop("pdq.entries.npy")):
        changed = json.loads(original)
        edit(changed)
        (folder / "manifest.json").write_text(json.dumps(changed))
        with pytest.raises(IndexFileError):
            HashIndex.load(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert len(HashIndex.load(folder)) == 501


def test_numeric_ids_cost_eight_bytes_and_come_back_as_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    rows = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    numeric = [str(10**12 + i) for i in range(50)]
    mixed = [str(i) for i in range(49)] + ["007"]  # a leading zero must survive: kept as text
    index = HashIndex()
    index.add_hashes("numeric", "pdq", rows, entry_ids=numeric)
    index.add_hashes("mixed", "pdq", rows, entry_ids=mixed)
    assert index.parts.entries.ids[0].kind == "numeric" and index.parts.entries.ids[0].nbytes == 50 * 8
    assert index.parts.entries.ids[1].kind == "explicit"
    index.save(tmp_path / "ix")
    again = HashIndex.load(tmp_path / "ix")
    for ix in (index, again):
        found = {(m["list"], m["entry_id"]) for m in ix.match({"pdq": Hash("pdq", rows[49].tobytes())})}
        assert found == {("numeric", numeric[49]), ("mixed", "007")}
