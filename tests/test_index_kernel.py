"""The two-stage PDQ range search (_core.range_search_256) against NumPy brute force and FAISS.

Every instruction set the CPU has is checked (AVX-512, popcnt, portable), on random rows, planted
near-duplicates, and data where the first-half filter lets many or all rows through.
"""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from ocsea_match import _core

LEVELS = sorted({0, min(1, _core.SCAN256_LEVEL), _core.SCAN256_LEVEL})
BLOCK = 1024  # the kernel's block of rows


def brute(queries: np.ndarray, rows: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FAISS-shaped result from full distance matrices in NumPy."""
    bits_q = np.unpackbits(queries, axis=1).astype(np.int16)
    bits_r = np.unpackbits(rows, axis=1).astype(np.int16)
    lims, distances, labels = [0], [], []
    for q in bits_q:
        d = (bits_r != q).sum(axis=1) if len(rows) else np.zeros(0, np.int64)
        hit = np.flatnonzero(d <= threshold)
        labels.append(hit)
        distances.append(d[hit])
        lims.append(lims[-1] + len(hit))
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
    return np.asarray(lims, np.int64), cat(distances, np.int32), cat(labels, np.int64)


def split(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(rows[:, :16]).view(np.uint64), np.ascontiguousarray(rows[:, 16:]).view(np.uint64)


def search(queries: np.ndarray, rows: np.ndarray, threshold: int, **kw: int) -> tuple[np.ndarray, ...]:
    head, tail = split(rows)
    return _core.range_search_256(queries, head, tail, threshold, **kw)


def assert_same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    for x, y, what in zip(a, b, ("lims", "distances", "labels")):
        np.testing.assert_array_equal(x, y, err_msg=what)


def flip(row: np.ndarray, k: int, rng: np.random.Generator, where: slice = slice(0, 256)) -> np.ndarray:
    bits = np.unpackbits(row)
    positions = np.arange(256)[where]
    bits[rng.choice(positions, k, replace=False)] ^= 1
    return np.packbits(bits)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 7])
def test_random_rows_and_planted_copies_agree_with_brute_force(n: int, level: int, rng: np.random.Generator) -> None:
    rows = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, (6, 32), dtype=np.uint8)
    if n:
        for i, k in enumerate((0, 1, 15, 31, 32)):  # planted at the threshold's edges
            queries[i] = flip(rows[(i * 7919) % n], k, rng)
    for threshold in (-1, 0, 1, 31, 32, 128, 255, 256):
        assert_same(search(queries, rows, threshold, level=level), brute(queries, rows, threshold))


@pytest.mark.parametrize("level", LEVELS)
def test_correlated_rows_the_first_half_filter_cannot_reject(level: int, rng: np.random.Generator) -> None:
    """Rows that share the query's first half (distance 0 there) and differ in the second."""
    base = rng.integers(0, 256, 32, dtype=np.uint8)
    n = 2 * BLOCK + 13
    rows = np.repeat(base[None, :], n, axis=0)
    for i in range(n):
        rows[i] = flip(base, i % 64, rng, slice(128, 256))
    rows[::97] = 0
    rows[1::97] = 255
    queries = np.stack([base, flip(base, 3, rng, slice(0, 128)), np.zeros(32, np.uint8), np.full(32, 255, np.uint8)])
    for threshold in (0, 2, 31, 63, 64, 256):
        assert_same(search(queries, rows, threshold, level=level), brute(queries, rows, threshold))


def test_every_instruction_set_and_thread_count_gives_the_same_hits(rng: np.random.Generator) -> None:
    n = 2 * 65536 + 333  # enough rows for two threads
    rows = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    queries = np.stack([flip(rows[i], k, rng) for i, k in ((0, 0), (65535, 7), (65536, 31), (n - 1, 20))]
                       + [rng.integers(0, 256, 32, dtype=np.uint8) for _ in range(3)])
    expected = brute(queries, rows, 31)
    assert expected[0][-1] == 4
    for level in LEVELS:
        for threads in (1, 2, 0):
            assert_same(search(queries, rows, 31, level=level, threads=threads), expected)


def test_faiss_range_search_gives_the_same_result(rng: np.random.Generator) -> None:
    rows = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    queries = np.concatenate([rows[:50] ^ (rng.random((50, 32)) < 0.05).astype(np.uint8),
                              rng.integers(0, 256, (20, 32), dtype=np.uint8)])
    flat = faiss.IndexBinaryFlat(256)
    flat.add(rows)
    for threshold in (0, 10, 31, 100):
        lims, distances, labels = flat.range_search(queries, threshold + 1)
        assert_same(search(queries, rows, threshold), (lims, distances.astype(np.int32), labels))


def test_shapes_are_checked() -> None:
    head = np.zeros((3, 2), np.uint64)
    with pytest.raises(ValueError):
        _core.range_search_256(np.zeros((1, 16), np.uint8), head, head, 31)
    with pytest.raises(ValueError):
        _core.range_search_256(np.zeros((1, 32), np.uint8), head, np.zeros((2, 2), np.uint64), 31)
    with pytest.raises(ValueError):
        _core.range_search_256(np.zeros((1, 32), np.uint8), np.zeros((3, 4), np.uint64), np.zeros((3, 4), np.uint64), 31)
    lims, distances, labels = _core.range_search_256(np.zeros((0, 32), np.uint8), head, head, 31)
    assert lims.tolist() == [0] and len(distances) == len(labels) == 0
