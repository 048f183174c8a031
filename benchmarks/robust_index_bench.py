"""What robust matching costs the index: queries/s with and without it, one thread, one run.

    python benchmarks/robust_index_bench.py [--rule frame|anchored] [--listed 1000000] [--queries 100]
                                            [--derived ROWS] [--probes PROBES] [--measure 12] [--repeat 3]

Random PDQ rows stand in for a list: ``--listed`` plain hashes, each listed picture with
``--derived`` robust rows under its own entry, as a list made with ``hash --robust`` gives them,
and each query carries its plain PDQ and ``--probes`` robust variants. By default both are
measured first on the code as it is (``measure``): the derived rows ``robust.list_hashes`` makes
for the first ``--measure`` corpus pictures, and the probes ``robust.query_hashes`` makes for
one edit of each of them by every family of ``robust_families`` (seeded), with ``--rule
frame`` (the default ``--robust``) or ``anchored`` (``--anchored``); without the corpus, the
last measured figures in ``RULES``. ``benchmarks/robustness.py`` calls ``rates`` with the rows
and probes of its own run. Prints, for the plain and the robust index: queries/s
of ``HashIndex.match_many`` (batches of ``--queries``, best of ``--repeat``), the time the first
robust query takes to build the substring tables (``robust_search``), and the bytes the index
holds per listed picture, in all and by part (``HashIndex.nbytes``: rows, entry numbers, substring
tables, entry metadata).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ocsea_match import HashIndex

#: Robust rows per listed picture and probes per query of each rule, as ``measure`` last gave them
#: (12 corpus pictures): the fallback where the corpus is absent.
RULES = {"frame": (6.3, 15), "anchored": (10.2, 271)}


def measure(rule: str, pictures: int = 12, seed: int = 0) -> tuple[float, int] | None:
    """(derived rows a listed picture, probes a query) as ``robust.list_hashes`` and
    ``robust.query_hashes`` make them now with ``rule``, on the first ``pictures`` corpus pictures
    (at most 1024 px, as ``robustness.py`` lists them) and one edit of each by every family of
    ``robust_families``; None without the corpus."""
    import sys
    from pathlib import Path

    from PIL import Image

    from ocsea_match import robust

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare_peers import DEFAULT_FOLDER, find_pictures
    from robust_families import FAMILIES

    if not DEFAULT_FOLDER.is_dir():
        return None
    paths, _ = find_pictures(DEFAULT_FOLDER, pictures)
    if not paths:
        return None
    anchored = rule == "anchored"
    rows, probes = [], []
    for i, path in enumerate(paths):
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        rgb.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        rows.append(len(robust.list_hashes(np.asarray(rgb), anchored=anchored)) - 1)
        for f, edit in enumerate(FAMILIES.values()):
            copy = np.asarray(edit(rgb, np.random.default_rng([seed, f, i])).convert("RGB"))
            probes.append(len(robust.query_hashes(copy, anchored=anchored)) - 1)
    return float(np.mean(rows)), round(float(np.mean(probes)))


def _hex_rows(rows: np.ndarray) -> list[dict[str, object]]:
    return [{"hex": r.tobytes().hex(), "quality": 100} for r in rows]


def rates(listed: int, derived: float, probes: int, queries: int = 300, verbose: bool = False,
          repeat: int = 3) -> tuple[float, float]:
    """(plain, robust) queries/s of a one-thread index of ``listed`` random pictures, the robust
    one with ``derived`` extra rows a picture (under the picture's entry), its queries with
    ``probes`` robust rows each."""
    rng = np.random.default_rng(0)
    plain = rng.integers(0, 256, (listed, 32), dtype=np.uint8)
    extra = rng.integers(0, 256, (int(listed * derived), 32), dtype=np.uint8)
    owners = np.sort(rng.integers(0, listed, len(extra))).astype(np.uint32)  # ~derived rows a picture
    batch = [{"hashes": {"pdq": _hex_rows(plain[i:i + 1])[0]},
              "robust": {"query": _hex_rows(rng.integers(0, 256, (probes, 32), dtype=np.uint8))}}
             for i in range(queries)]
    out = []
    for robust in (False, True):
        index = HashIndex(threads=1, robust=robust)
        index.add_hashes("plain", "pdq", plain)
        warm = 0.0
        if robust:
            index.parts.add_rows("pdq-robust", extra, owners)  # as add_list files a record's robust rows
            start = time.perf_counter()
            index.match_many(batch[:1])  # builds the substring tables
            warm = time.perf_counter() - start
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            answers = index.match_many(batch)
            best = min(best, time.perf_counter() - start)
        assert all(any(m["distance"] == 0 for m in a) for a in answers), "a query missed its own listed hash"
        out.append(queries / best)
        if verbose:
            parts = index.nbytes()  # after the queries: the robust search tables are built on the first
            nbytes = sum(parts.values())
            rows = len(plain) + (len(extra) if robust else 0)
            print(f"{'robust' if robust else 'plain':6}: {listed:,} listed pictures ({rows:,} rows), "
                  f"{nbytes / listed:,.0f} bytes a picture, {out[-1]:,.1f} queries/s"
                  + (f", tables built in {warm:.1f} s (first query)" if robust else ""))
            print("        bytes a picture: " + ", ".join(f"{k} {v / listed:.0f}" for k, v in parts.items() if v))
    return out[0], out[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rule", choices=sorted(RULES), default="frame",
                        help="rows a listed picture and probes a query as this rule makes them")
    parser.add_argument("--listed", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--derived", type=float, help="robust rows a listed picture (default: the rule's)")
    parser.add_argument("--probes", type=int, help="robust rows a query (default: the rule's)")
    parser.add_argument("--measure", type=int, default=12,
                        help="corpus pictures to measure rows and probes on (0: the figures in RULES)")
    parser.add_argument("--repeat", type=int, default=3, help="timed batches; the best is printed")
    args = parser.parse_args()
    measured = measure(args.rule, args.measure) if args.measure and (args.derived is None or args.probes is None) else None
    derived, probes = measured or RULES[args.rule]
    where = f"measured on {args.measure} corpus pictures and their edits" if measured else "RULES"
    derived = args.derived if args.derived is not None else derived
    probes = args.probes if args.probes is not None else probes
    print(f"rule {args.rule}: {derived:.1f} robust rows a listed picture, {probes} probes a query ({where}), one thread")
    plain, robust = rates(args.listed, derived, probes, args.queries, verbose=True, repeat=args.repeat)
    print(f"robust / plain: {robust / plain:.4f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
