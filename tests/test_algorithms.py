"""The algorithm table is the one source of the algorithm vocabulary, and parse_hex the one hex check."""

from __future__ import annotations

import pytest

from ocsea_match import robust
from ocsea_match.algorithms import ALGORITHM_INFO, DIGESTS, PDQ_DIALECTS, parse_hex
from ocsea_match.formats.model import HEX_LENGTHS
from ocsea_match.hashers import PDQ_DIALECTS as HASHER_DIALECTS, VIDEO_ALGORITHMS
from ocsea_match.hashes import HASH_BITS, Hash, match_family
from ocsea_match.index import EXACT_ALGORITHMS
from ocsea_match.thresholds import DEFAULT_THRESHOLDS


def test_derived_tables_keep_their_values() -> None:
    assert HASH_BITS == {"pdq": 256, "pdq-thumb512": 256, "pdq-nearest512": 256, "phash": 64, "dhash": 64, "ahash": 64,
                         "whash": 64, "pdq-robust": 256}
    assert HEX_LENGTHS == {"pdq": 64, "pdq-thumb512": 64, "pdq-nearest512": 64, "pdq-robust": 64, "phash": 16,
                           "dhash": 16, "ahash": 16, "whash": 16, "md5": 32, "sha1": 40, "sha256": 64}
    assert DEFAULT_THRESHOLDS == {"pdq": 31, "phash": 10, "dhash": 10, "ahash": 10, "whash": 10, "pdq-robust": 23}
    assert EXACT_ALGORITHMS == DIGESTS == ("md5", "sha1", "sha256")
    assert PDQ_DIALECTS == HASHER_DIALECTS == ("pdq-thumb512", "pdq-nearest512")
    assert VIDEO_ALGORITHMS == ("tmk",)
    assert [match_family(a) for a in ("pdq", "pdq-thumb512", "pdq-nearest512", "pdq-robust", "phash", "md5", "tmk")] == [
        "pdq", "pdq", "pdq", "pdq-robust", "phash", "md5", "tmk"]


def test_robust_threshold_is_the_tables() -> None:
    assert ALGORITHM_INFO["pdq-robust"].default_threshold == robust.THRESHOLD


@pytest.mark.parametrize("name", list(ALGORITHM_INFO))
def test_parse_hex_takes_exactly_the_algorithms_length(name: str) -> None:
    n = ALGORITHM_INFO[name].hex_length
    assert parse_hex(name, "aB" * (n // 2)) == "ab" * (n // 2)
    for bad in ("ab" * (n // 2 - 1), "ab" * (n // 2) + "a", "g" * n, " " + "a" * (n - 1), None, 12):
        with pytest.raises(ValueError, match=f"not a {name} hash: expected {n} hex characters"):
            parse_hex(name, bad)


def test_unknown_algorithm_takes_whole_bytes() -> None:
    assert parse_hex("photodna", "00FF") == "00ff"
    with pytest.raises(ValueError, match="not a hex hash"):
        parse_hex("photodna", "0f0")


def test_hash_from_hex_goes_through_parse_hex() -> None:
    assert Hash.from_hex("phash", " C3D0BC3C3C2BC34C\n").hex == "c3d0bc3c3c2bc34c"
    with pytest.raises(ValueError, match="not a pdq hash"):
        Hash.from_hex("pdq", "c3d0bc3c3c2bc34c")
