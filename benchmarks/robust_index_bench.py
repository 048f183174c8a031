"""What robust matching costs the index: queries/s with and without it, one thread, one run.

    python benchmarks/robust_index_bench.py [--listed 200000] [--queries 300] [--derived 6.6] [--probes 13]

Random PDQ rows stand in for a list: ``--listed`` plain hashes, and for the robust index also
``--derived`` rows per listed picture (robust.list_hashes makes 7.6 rows a picture on the corpus,
the plain one included); each query carries its plain PDQ and ``--probes`` robust variants
(robust.query_hashes: 14.3 on the corpus, the plain one included). Prints queries/s of
``HashIndex.match_many`` (batches of ``--queries``), best of 3, and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ocsea_match import HashIndex


def _hex_rows(rows: np.ndarray) -> list[dict[str, object]]:
    return [{"hex": r.tobytes().hex(), "quality": 100} for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listed", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--derived", type=float, default=6.6)
    parser.add_argument("--probes", type=int, default=13)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    plain = rng.integers(0, 256, (args.listed, 32), dtype=np.uint8)
    derived = rng.integers(0, 256, (int(args.listed * args.derived), 32), dtype=np.uint8)
    queries = [{"hashes": {"pdq": _hex_rows(plain[i:i + 1])[0]},
                "robust": {"query": _hex_rows(rng.integers(0, 256, (args.probes, 32), dtype=np.uint8))}}
               for i in range(args.queries)]
    rates = {}
    for robust in (False, True):
        index = HashIndex(threads=1, robust=robust)
        index.add_hashes("plain", "pdq", plain)
        if robust:
            index.add_hashes("derived", "pdq-robust", derived)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            answers = index.match_many(queries)
            best = min(best, time.perf_counter() - start)
        assert all(any(m["distance"] == 0 for m in a) for a in answers), "a query missed its own listed hash"
        rates[robust] = args.queries / best
        rows = len(plain) + (len(derived) if robust else 0)
        print(f"{'robust' if robust else 'plain':6}: {args.listed:,} listed pictures ({rows:,} rows), "
              f"{rates[robust]:,.0f} queries/s")
    print(f"robust / plain: {rates[True] / rates[False]:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
