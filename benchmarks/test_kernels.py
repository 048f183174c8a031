"""Micro-benchmarks of the native kernels in ocsea_match._core (pytest-benchmark).

    pytest benchmarks/test_kernels.py --benchmark-only

Not part of the test suite: pyproject's ``testpaths = ["tests"]`` keeps a bare ``pytest`` away
from this folder. Each benchmark checks the shape of what it timed, nothing more; correctness is
the test suite's job.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

from ocsea_match import _core  # noqa: E402

HEIGHT, WIDTH = 1000, 1500


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


@pytest.fixture(scope="module")
def rgb(rng: np.random.Generator) -> np.ndarray:
    """A 1000x1500 RGB picture: smooth gradients plus noise, like a photo more than pure noise."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = 127 + 60 * np.sin(x / 97.0) * np.cos(y / 53.0)
    noise = rng.normal(0, 12, size=(HEIGHT, WIDTH, 3))
    return np.clip(base[..., None] + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def luma(rgb: np.ndarray) -> np.ndarray:
    return _core.luma_from_rgb(rgb)


def pdq_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def test_luma_from_rgb(benchmark, rgb: np.ndarray) -> None:
    out = benchmark(_core.luma_from_rgb, rgb)
    assert out.shape == (HEIGHT, WIDTH) and out.dtype == np.float32


def test_pdq_downsample(benchmark, luma: np.ndarray) -> None:
    out = benchmark(_core.pdq_downsample, luma)  # only reads its input: the fixture stays intact
    assert out.shape == (64, 64)


def test_pdq_from_luma(benchmark, luma: np.ndarray) -> None:
    hashes, quality = benchmark(_core.pdq_from_luma, luma, dihedral=False, inplace=False)
    assert hashes.shape == (1, 32) and 0 <= quality <= 100


def test_pdq_from_luma_dihedral(benchmark, luma: np.ndarray) -> None:
    hashes, _ = benchmark(_core.pdq_from_luma, luma, dihedral=True, inplace=False)
    assert hashes.shape == (8, 32)


def test_phash_dct_scipy(benchmark, rng: np.random.Generator) -> None:
    """The pHash DCT as imagehash and hashers.py compute it (SciPy: no native kernel does it)."""
    dct = pytest.importorskip("scipy.fft").dct
    pixels = rng.integers(0, 256, size=(32, 32), dtype=np.uint8)
    out = benchmark(lambda px: dct(dct(px, axis=0), axis=1)[:8, :8], pixels)
    assert out.shape == (8, 8)


def test_hamming_one_to_many_100k(benchmark, rng: np.random.Generator) -> None:
    rows = pdq_rows(rng, 100_000)
    out = benchmark(_core.hamming_one_to_many, rows[0], rows)
    assert out.shape == (100_000,) and out[0] == 0


@pytest.mark.parametrize("threads", [1, 0], ids=["1-thread", "all-threads"])
def test_hamming_many_to_many_1000x10000(benchmark, rng: np.random.Generator, threads: int) -> None:
    a, b = pdq_rows(rng, 1_000), pdq_rows(rng, 10_000)
    out = benchmark(_core.hamming_many_to_many, a, b, threads)
    assert out.shape == (1_000, 10_000) and 0 <= out.max() <= 256
