"""The Hash value type, packing, and the Hamming kernels against a plain NumPy count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ocsea_match import Hash, hamming_many_to_many, hamming_one_to_many, pack_hashes

BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_hex_round_trip_and_case() -> None:
    h = Hash.from_hex("pdq", BRIDGE.upper(), quality=100)
    assert h.hex == BRIDGE and h.nbits == 256 and h.quality == 100
    assert Hash.from_hex("pdq", h.hex) == h  # quality is not part of equality
    assert str(h) == BRIDGE and "pdq" in repr(h)
    assert h.to_json() == {"hex": BRIDGE, "quality": 100}


def test_distance_and_bits() -> None:
    a = Hash.from_hex("phash", "ffffffffffffffff")
    b = Hash.from_hex("phash", "fffffffffffffff0")
    assert a - b == 4 and b - a == 4 and a - a == 0
    assert a.bits.tolist() == [1] * 64
    assert Hash.from_bits("phash", b.bits) == b


@pytest.mark.parametrize("bad", ["", "xyz", "abc", "f" * 63])
def test_bad_hex_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Hash.from_hex("pdq", bad)


def test_wrong_length_and_mixed_algorithms_are_refused() -> None:
    with pytest.raises(ValueError):
        Hash.from_hex("pdq", "ff" * 8)
    with pytest.raises(TypeError):
        _ = Hash.from_hex("phash", "ff" * 8) - Hash.from_hex("dhash", "ff" * 8)


def test_pack_hashes() -> None:
    m = pack_hashes([Hash.from_hex("pdq", BRIDGE), BRIDGE], algorithm="pdq")
    assert m.shape == (2, 32) and m.dtype == np.uint8 and m.flags.c_contiguous
    assert m[0].tobytes().hex() == BRIDGE
    assert pack_hashes([], algorithm="pdq").shape == (0, 32)
    with pytest.raises(ValueError):
        pack_hashes(["ff" * 8, "ff" * 32])


def _numpy_hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(axis=2)


@settings(max_examples=60, deadline=None)
@given(
    na=st.integers(0, 9), nb=st.integers(0, 40), nbytes=st.sampled_from([1, 3, 8, 9, 32, 33]),
    seed=st.integers(0, 2**32 - 1),
)
def test_hamming_kernels_equal_numpy(na: int, nb: int, nbytes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (na, nbytes), dtype=np.uint8)
    b = rng.integers(0, 256, (nb, nbytes), dtype=np.uint8)
    expected = _numpy_hamming(a, b)
    assert np.array_equal(hamming_many_to_many(a, b), expected)
    assert np.array_equal(hamming_many_to_many(a, b, threads=2), expected)
    for i in range(na):
        assert np.array_equal(hamming_one_to_many(a[i], b), expected[i])


def test_hamming_shapes_must_agree() -> None:
    with pytest.raises(ValueError):
        hamming_one_to_many(np.zeros(32, np.uint8), np.zeros((3, 8), np.uint8))
    with pytest.raises(ValueError):
        hamming_many_to_many(np.zeros((2, 32), np.uint8), np.zeros((3, 8), np.uint8))
