"""What robust matching costs the index: queries/s with and without it, one thread, one run.

    python benchmarks/robust_index_bench.py [--listed 200000] [--queries 300] [--derived 30] [--probes 150]

Random PDQ rows stand in for a list: ``--listed`` plain hashes, and for the robust index also
``--derived`` rows per listed picture (``benchmarks/robustness.py`` prints what robust.list_hashes
makes on the corpus, and calls ``rates`` with it); each query carries its plain PDQ and
``--probes`` robust variants (robust.query_hashes). Prints queries/s of ``HashIndex.match_many``
(batches of ``--queries``), best of 3, the ratio, and the bytes the index holds per listed picture
(``HashIndex.nbytes``, by part: the robust probe's substring tables, ``robust_search``, are built
on the first robust query and counted).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ocsea_match import HashIndex


def _hex_rows(rows: np.ndarray) -> list[dict[str, object]]:
    return [{"hex": r.tobytes().hex(), "quality": 100} for r in rows]


def rates(listed: int, derived: float, probes: int, queries: int = 300, verbose: bool = False) -> tuple[float, float]:
    """(plain, robust) queries/s of a one-thread index of ``listed`` random pictures, the robust
    one with ``derived`` extra rows a picture, its queries with ``probes`` robust rows each."""
    rng = np.random.default_rng(0)
    plain = rng.integers(0, 256, (listed, 32), dtype=np.uint8)
    extra = rng.integers(0, 256, (int(listed * derived), 32), dtype=np.uint8)
    batch = [{"hashes": {"pdq": _hex_rows(plain[i:i + 1])[0]},
              "robust": {"query": _hex_rows(rng.integers(0, 256, (probes, 32), dtype=np.uint8))}}
             for i in range(queries)]
    out = []
    for robust in (False, True):
        index = HashIndex(threads=1, robust=robust)
        index.add_hashes("plain", "pdq", plain)
        if robust:
            index.add_hashes("derived", "pdq-robust", extra)
        best = float("inf")
        for _ in range(3 if listed * (1 + derived) * probes < 5e9 else 1):
            start = time.perf_counter()
            answers = index.match_many(batch)
            best = min(best, time.perf_counter() - start)
        assert all(any(m["distance"] == 0 for m in a) for a in answers), "a query missed its own listed hash"
        out.append(queries / best)
        if verbose:
            parts = index.nbytes()  # after the queries: the robust search tables are built on the first
            nbytes = sum(parts.values())
            print(f"{'robust' if robust else 'plain':6}: {listed:,} listed pictures ({len(plain) + (len(extra) if robust else 0):,} "
                  f"rows, {nbytes / listed:.0f} bytes a picture), {out[-1]:,.1f} queries/s")
            print("        bytes a picture: " + ", ".join(f"{k} {v / listed:.0f}" for k, v in parts.items() if v))
    return out[0], out[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listed", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--derived", type=float, default=30)
    parser.add_argument("--probes", type=int, default=150)
    args = parser.parse_args()
    plain, robust = rates(args.listed, args.derived, args.probes, args.queries, verbose=True)
    print(f"robust / plain: {robust / plain:.4f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
