#!/usr/bin/env python3
"""Recall of perceptual hashes after randomised crops, rotations, paddings, captions, screenshots, at FPR 1e-4.

    python benchmarks/robustness.py [FOLDER] [--pictures N] [--draws D] [--seed S] [--quick]
                                             [--listed 200000] [--no-index] [--json OUT]

The first N pictures of FOLDER (reduced to at most 1024 px: the list's copy) are each edited D
times by every family of ``robust_families.FAMILIES``, every crop amount, side, angle, padding and
layout drawn from the seed. Each strategy compares every listed picture A with every edited picture
T(B): the pairs A == B are the positives, the pairs A != B the negatives. One threshold per strategy
is calibrated at a false-positive rate of 1e-4 on the negatives of all families pooled (their count
is printed), and recall is given per family at it, and at the strategy's conventional threshold.

Strategies: pHash (imagehash), PDQ and PDQ-dihedral (pdqhash), ``robust (frame)``: today's robust
rule, the re-framings of ``robust.py`` without the content-anchored squares and without
PDQ-dihedral's rule (what ``--robust`` did before issue #15), ``robust``: the current default rule
(PDQ-dihedral's rule at 31, plus any pair within the calibrated threshold), and ``robust
--anchored``: the same with the content-anchored squares (``anchored=True``). Then bytes per listed picture, hashing files/s, and the index's queries/s with the
measured rows and probes (``robust_index_bench.rates``). ``--quick``: 16 pictures, one draw, a
100,000-row index.
"""

from __future__ import annotations

import os

# One thread each: set before numpy / OpenCV / BLAS are imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image

import ocsea_match
from ocsea_match import robust

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_peers import DEFAULT_FOLDER, find_pictures, machine  # noqa: E402
from robust_families import FAMILIES  # noqa: E402
from robust_index_bench import rates  # noqa: E402

cv2.setNumThreads(1)
TARGET_FPR = 1e-4
#: Corpus pictures that show one scene (OpenCV's stereo pairs and its calibration chessboard series,
#: an edited picture and its original, a render and its mirror image, two photos of one page): a
#: pair of them is neither a positive nor a different-picture pair, so it is left out of the
#: negatives (they would set the FPR threshold on look-alikes, not on different pictures). By file
#: name stem without the leading number; only pictures 59-100 of the corpus are in these groups.
RELATED = (
    ("Blender_Suzanne1", "Blender_Suzanne2"), ("aero1", "aero3"), ("aloeL", "aloeR"),
    ("ela_modified", "ela_original"), ("left", "right"), ("leuvenA", "leuvenB"), ("text_defocus", "text_motion"),
    tuple(f"left{k:02d}" for k in (1, 2, 6, 11, 13)) + tuple(f"right{k:02d}" for k in (1, 2, 3, 5, 7, 11, 13, 14)),
)
#: Bytes an index holds per stored row: the 32-byte hash and a 4-byte entry number.
ROW_BYTES = 36


@dataclass
class Strategy:
    """A hasher as the index uses it: ``list_rows(rgb)`` / ``query_rows(rgb)`` give one picture's
    packed rows; a pair's score is the smallest distance between them. Robust rules (with a
    ``plain_threshold``) are a union: any pair within T, or the listed first row within T +
    (plain_threshold - conventional) of the query's first row (``dihedral`` 1) or of any of its
    first ``dihedral`` rows (PDQ-dihedral's rule): the score is the smaller of the two, the second
    less that offset, so one calibrated T sets both (at T = 23: 23 and 31, the rule as shipped)."""

    name: str
    list_rows: Callable[[np.ndarray], np.ndarray]
    query_rows: Callable[[np.ndarray], np.ndarray]
    conventional: int
    plain_threshold: int | None = None
    dihedral: int = 1
    counts: dict[str, list[int]] = field(default_factory=lambda: {"list": [], "query": []})
    seconds: dict[str, float] = field(default_factory=lambda: {"list": 0.0, "query": 0.0})


def pdq_rows(vectors: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(vectors, dtype=np.uint8).reshape(-1, 256), axis=1)


def phash_rows(rgb: np.ndarray) -> np.ndarray:
    return np.packbits(imagehash.phash(Image.fromarray(rgb)).hash.ravel()).reshape(1, 8)


def robust_rows(fn: Callable[..., list[ocsea_match.Hash]], **options: Any) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rgb: ocsea_match.pack_hashes(fn(rgb, **options), "pdq")


def build_strategies() -> list[Strategy]:
    plain = lambda rgb: pdq_rows(pdqhash.compute(rgb)[0])  # noqa: E731
    return [
        Strategy("pHash", phash_rows, phash_rows, 10),
        Strategy("PDQ", plain, plain, 31),
        Strategy("PDQ-dihedral", plain, lambda rgb: pdq_rows(pdqhash.compute_dihedral(rgb)[0]), 31),
        Strategy("robust (frame)", robust_rows(robust.list_hashes, anchored=False),
                 robust_rows(robust.query_hashes, anchored=False), robust.THRESHOLD, robust.PLAIN_THRESHOLD, 1),
        Strategy("robust", robust_rows(robust.list_hashes), robust_rows(robust.query_hashes),
                 robust.THRESHOLD, robust.PLAIN_THRESHOLD, robust.DIHEDRAL),
        Strategy("robust --anchored", robust_rows(robust.list_hashes, anchored=True),
                 robust_rows(robust.query_hashes, anchored=True), robust.THRESHOLD, robust.PLAIN_THRESHOLD,
                 robust.DIHEDRAL),
    ]


def scores(s: Strategy, listed: list[np.ndarray], queries: list[np.ndarray]) -> np.ndarray:
    """score[a, q]: the smallest distance between listed picture a's rows and query q's rows
    (257 where either has none), with the plain/dihedral rule folded in (see ``Strategy``)."""
    out = np.full((len(listed), len(queries)), 257, dtype=np.int32)
    rows = np.concatenate([r for r in listed if len(r)]) if any(len(r) for r in listed) else None
    starts = np.cumsum([0] + [len(r) for r in listed if len(r)])[:-1]
    present = np.array([len(r) > 0 for r in listed])
    firsts = np.array([r[0] if len(r) else np.zeros(rows.shape[1] if rows is not None else 32, np.uint8)
                       for r in listed])
    for q, qrows in enumerate(queries):
        if rows is None or not len(qrows):
            continue
        d = ocsea_match.hamming_many_to_many(rows, np.ascontiguousarray(qrows), 1).min(axis=1)
        out[present, q] = np.minimum.reduceat(d, starts)
        if s.plain_threshold is not None:
            turned = ocsea_match.hamming_many_to_many(firsts, np.ascontiguousarray(qrows[: s.dihedral]), 1).min(axis=1)
            offset = s.plain_threshold - s.conventional
            out[present, q] = np.minimum(out[present, q], turned[present].astype(np.int32) - offset)
    return out


def calibrate(neg: np.ndarray, fpr: float) -> int:
    """The largest threshold whose false-positive rate on ``neg`` is at most ``fpr``."""
    allowed = int(np.floor(fpr * len(neg)))
    ordered = np.sort(neg)
    return int(ordered[-1]) if allowed >= len(ordered) else int(ordered[allowed]) - 1


def related(paths: list[str]) -> np.ndarray:
    """related[a, b]: pictures a and b (a != b) show one scene (``RELATED``), by their names.

    >>> int(related(["x/059_Blender_Suzanne1.jpg", "x/060_Blender_Suzanne2.jpg", "x/061_aero1.jpg"]).sum())
    2
    """
    group = {stem: g for g, stems in enumerate(RELATED) for stem in stems}
    keys = [group.get(Path(p).stem.split("_", 1)[-1], -1 - i) for i, p in enumerate(paths)]
    same = np.array(keys)[:, None] == np.array(keys)[None, :]
    return same & ~np.eye(len(paths), dtype=bool)


def load(paths: list[str], max_side: int = 1024) -> list[Image.Image]:
    pictures = []
    for path in paths:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        pictures.append(rgb)
    return pictures


def run(strategies: list[Strategy], pictures: list[Image.Image], draws: int, seed: int
        ) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    """{strategy: {family: score matrix (listed x queries)}} and the listed picture of each query."""
    originals = [np.asarray(img) for img in pictures]
    listed = {}
    for s in strategies:
        start = time.perf_counter()
        listed[s.name] = [s.list_rows(rgb) for rgb in originals]
        s.seconds["list"] += time.perf_counter() - start
        s.counts["list"] = [len(r) for r in listed[s.name]]
    owners = np.repeat(np.arange(len(pictures)), draws)
    out: dict[str, dict[str, np.ndarray]] = {s.name: {} for s in strategies}
    for f, (family, fn) in enumerate(FAMILIES.items()):
        start = time.perf_counter()
        edited = [np.asarray(fn(pictures[i], np.random.default_rng([seed, f, i, k])).convert("RGB"))
                  for i in range(len(pictures)) for k in range(draws)]
        for s in strategies:
            t0 = time.perf_counter()
            rows = [s.query_rows(rgb) for rgb in edited]
            s.seconds["query"] += time.perf_counter() - t0
            s.counts["query"] += [len(r) for r in rows]
            out[s.name][family] = scores(s, listed[s.name], rows)
        print(f"  {family}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return out, owners


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    ap.add_argument("--pictures", type=int, default=60, help="the first N pictures (sorted by path)")
    ap.add_argument("--draws", type=int, default=3, help="edits per picture and family")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--listed", type=int, default=200_000, help="listed pictures in the queries/s measurement")
    ap.add_argument("--quick", action="store_true", help="16 pictures, one draw, 100,000 listed")
    ap.add_argument("--no-index", action="store_true", help="skip the index queries/s measurement")
    ap.add_argument("--only", help="only the families whose name contains this")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.quick:
        args.pictures, args.draws, args.listed = 16, 1, 100_000
    paths, _ = find_pictures(args.folder, args.pictures) if args.folder.is_dir() else ([], [])
    if len(paths) < 2:
        print(f"need a folder with at least two pictures, got {args.folder}")
        return 2
    pictures = load(paths)
    if args.only:
        for name in [f for f in FAMILIES if args.only not in f]:
            del FAMILIES[name]
    n, families = len(pictures), list(FAMILIES)
    strategies = build_strategies()
    matrices, owners = run(strategies, pictures, args.draws, args.seed)
    positive = owners[None, :] == np.arange(n)[:, None]
    negative = ~positive & ~related(paths)[:, owners]
    n_neg = int(negative.sum()) * len(families)
    n_related = int((~positive & ~negative).sum()) * len(families)
    print(f"{n} pictures of {args.folder} (at most 1024 px), {args.draws} random draws per picture and family, "
          f"seed {args.seed}: {n * args.draws} positives per family, {n_neg:,} different-picture pairs pooled over "
          f"{len(families)} families ({n_related:,} pairs of pictures of one scene left out, RELATED) calibrate each strategy's FPR {TARGET_FPR:g} threshold "
          f"(at most {int(TARGET_FPR * n_neg)} false matches).\n")
    report: dict[str, Any] = {"machine": machine(), "pictures": n, "draws": args.draws, "seed": args.seed,
                              "negatives": n_neg, "strategies": {}}
    print("| strategy | threshold @1e-4 | its FPR | conventional | its FPR | rows per listed picture "
          "| bytes per listed picture | probes per query | list / query pictures/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in strategies:
        neg = np.concatenate([m[negative] for m in matrices[s.name].values()])
        t = calibrate(neg, TARGET_FPR)
        rows, probes = float(np.mean(s.counts["list"])), float(np.mean(s.counts["query"]))
        per = 8 if s.name == "pHash" else ROW_BYTES
        figures = {"threshold": t, "fpr": float((neg <= t).mean()), "conventional": s.conventional,
                   "conventional_fpr": float((neg <= s.conventional).mean()), "rows": rows, "probes": probes,
                   "bytes": rows * per, "list_per_s": n / s.seconds["list"],
                   "query_per_s": len(s.counts["query"]) / s.seconds["query"],
                   "recall": {f: float((m[owners, np.arange(m.shape[1])] <= t).mean()) for f, m in matrices[s.name].items()},
                   "recall_conventional": {f: float((m[owners, np.arange(m.shape[1])] <= s.conventional).mean())
                                           for f, m in matrices[s.name].items()}}
        report["strategies"][s.name] = figures
        print(f"| {s.name} | {t} | {figures['fpr']:.1e} | {s.conventional} | {figures['conventional_fpr']:.1e} "
              f"| {rows:.1f} | {figures['bytes']:.0f} | {probes:.1f} "
              f"| {figures['list_per_s']:.1f} / {figures['query_per_s']:.1f} |")
    for key, title in (("recall", f"Recall at FPR {TARGET_FPR:g} (each strategy's calibrated threshold)"),
                       ("recall_conventional", "Recall at the conventional thresholds (robust: PDQ 31 for the "
                                               "plain / dihedral rule, robust.THRESHOLD for any pair)")):
        print(f"\n{title}\n")
        print("| family | " + " | ".join(s.name for s in strategies) + " |")
        print("|---|" + "---:|" * len(strategies))
        for f in families + ["mean"]:
            cells = [report["strategies"][s.name][key].get(f) if f != "mean" else
                     float(np.mean(list(report["strategies"][s.name][key].values()))) for s in strategies]
            print(f"| {f} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    if not args.no_index:
        print(f"\nIndex queries/s (HashIndex.match_many, one thread, {args.listed:,} listed pictures, random rows "
              "standing in with the rows and probes measured above):\n")
        for name in ("robust (frame)", "robust", "robust --anchored"):
            figures = report["strategies"][name]
            plain, robust_rate = rates(args.listed, figures["rows"] - 1, round(figures["probes"] - 1), 100)
            figures["index"] = {"listed": args.listed, "plain_q_per_s": plain, "robust_q_per_s": robust_rate}
            print(f"- {name}: {robust_rate:,.1f} queries/s (plain PDQ: {plain:,.0f})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
