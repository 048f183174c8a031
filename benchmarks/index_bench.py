#!/usr/bin/env python3
"""PDQ matching at scale: ocsea_match's HashIndex against FAISS and python-threatexchange.

    python benchmarks/index_bench.py [--sizes 1000000 10000000] [--queries 1000] [--planted 100]
                                     [--repeat 3] [--json OUT] [--save-dir DIR] [--only TEXT ...]

For each size, random PDQ-like hashes (256 bits, exactly 128 set) are indexed by every
contender in this one process, with one thread each; the queries are --planted near-duplicates
of rows (1 to 31 bits flipped) followed by --queries random hashes. Every contender answers the
same batch at threshold 31, round after round (best of --repeat). Recall on the planted pairs
must be 1.0 and every hit list must equal FAISS IndexBinaryFlat's; anything else is reported
and the exit status is 1. threatexchange runs where it is importable: install it in a venv of
its own that sees this environment (``python -m venv --system-site-packages /tmp/txvenv &&
/tmp/txvenv/bin/pip install threatexchange``) and run this script with that venv's python.
See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import ctypes
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from compare_peers import cpu_model, git_revision  # same folder

from ocsea_match import Hash, HashIndex, _core

faiss.omp_set_num_threads(1)
THRESHOLD = 31
Hits = list[set[tuple[int, int]]]  # per query: {(row, distance)}

try:
    from threatexchange.signal_type.pdq.pdq_faiss_matcher import PDQFlatHashIndex, PDQMultiHashIndex
    TX_VERSION: str | None = metadata.version("threatexchange")
except ImportError:
    TX_VERSION = None


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------


def balanced_rows(n: int, rng: np.random.Generator, chunk: int = 1 << 20) -> np.ndarray:
    """n x 32 uint8 rows with exactly 128 of 256 bits set, uniform over such rows.

    Random bytes, then in each row with too many (too few) set bits a random position is cleared
    (set) when it is set (clear), until 128; positions play symmetric roles, so every balanced row
    is equally likely.
    """
    out = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    for start in range(0, n, chunk):
        rows = out[start:start + chunk]
        excess = np.bitwise_count(rows).sum(axis=1, dtype=np.int32) - 128
        active = np.flatnonzero(excess)
        while active.size:
            pos = rng.integers(0, 256, active.size)
            byte, mask = pos >> 3, (0x80 >> (pos & 7)).astype(np.uint8)
            is_set = (rows[active, byte] & mask) != 0
            hit = np.where(excess[active] > 0, is_set, ~is_set)
            a = active[hit]
            rows[a, byte[hit]] ^= mask[hit]
            excess[a] -= np.sign(excess[a]).astype(np.int32)
            active = active[excess[active] != 0]
    return out


@dataclass
class Data:
    rows: np.ndarray  # n x 32
    queries: np.ndarray  # (planted + random) x 32
    planted: list[tuple[int, int]]  # (query, row) pairs that must be found
    hex_queries: list[str] = field(default_factory=list)
    records: list[dict[str, Hash]] = field(default_factory=list)
    tx_rows: list[str] = field(default_factory=list)  # hex strings, threatexchange's input
    ids: list[str] = field(default_factory=list)  # 12-character entry ids, as an export carries them
    numeric_ids: list[str] = field(default_factory=list)  # "1", "2", ...: plain decimal ids
    categories: list[str] = field(default_factory=list)


def make_data(n: int, n_random: int, n_planted: int, seed: int) -> Data:
    rng = np.random.default_rng(seed)
    rows = balanced_rows(n, rng)
    targets = rng.choice(n, n_planted, replace=False) if n_planted <= n else rng.integers(0, n, n_planted)
    bits = np.unpackbits(rows[targets], axis=1)
    for i in range(n_planted):  # distances 1, 2, ..., 31, 1, 2, ...
        bits[i, rng.choice(256, 1 + i % THRESHOLD, replace=False)] ^= 1
    queries = np.concatenate([np.packbits(bits, axis=1), balanced_rows(n_random, rng)])
    data = Data(rows, np.ascontiguousarray(queries), [(i, int(t)) for i, t in enumerate(targets)])
    data.hex_queries = [q.tobytes().hex() for q in data.queries]
    data.records = [{"pdq": Hash("pdq", q.tobytes())} for q in data.queries]
    return data


# ------------------------------------------------------------------------------------------------
# Contenders: build(data) -> index; search(index, data) -> raw answer (timed); hits(raw) -> Hits
# ------------------------------------------------------------------------------------------------


def lims_hits(lims: np.ndarray, distances: np.ndarray, labels: np.ndarray) -> Hits:
    return [set(zip(labels[lims[i]:lims[i + 1]].tolist(), distances[lims[i]:lims[i + 1]].astype(int).tolist()))
            for i in range(len(lims) - 1)]


def match_hits(answers: list[list[dict[str, Any]]]) -> Hits:
    """HashIndex matches back to rows: entry ids are 'list:n' or 'n' (12 digits), n = row + 1."""
    return [{(int(m["entry_id"].rsplit(":", 1)[-1]) - 1, m["distance"]) for m in ms} for ms in answers]


def tx_hits(answer: dict[str, list[tuple[int, str, Any]]], data: Data) -> Hits:
    return [{(int(i), int(d)) for i, _, d in answer[q]} for q in data.hex_queries]


def faiss_flat(data: Data) -> faiss.IndexBinaryFlat:
    index = faiss.IndexBinaryFlat(256)
    index.add(data.rows)
    return index


def faiss_mih(data: Data) -> faiss.IndexBinaryMultiHash:
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = THRESHOLD // 16  # exact: some 16-bit chunk of a hit differs by at most 1 bit
    index.add(data.rows)
    return index


def kernel(data: Data) -> tuple[np.ndarray, np.ndarray]:
    return (np.ascontiguousarray(data.rows[:, :16]).view(np.uint64),
            np.ascontiguousarray(data.rows[:, 16:]).view(np.uint64))


def ours(data: Data) -> HashIndex:
    index = HashIndex(threads=1)
    index.add_hashes("bench", "pdq", data.rows)
    return index


def ours_substring(data: Data) -> HashIndex:
    """``substring_search=True``: PDQ queries through substring tables, built here (``prepare``)."""
    index = HashIndex(threads=1, substring_search=True)
    index.add_hashes("bench", "pdq", data.rows)
    index.prepare()
    return index


def ours_explicit(data: Data) -> HashIndex:
    """Entry ids as hotline exports carry them (12 characters) and four categories."""
    index = HashIndex(threads=1)
    index.add_hashes("bench", "pdq", data.rows, entry_ids=data.ids, categories=data.categories)
    return index


def ours_numeric(data: Data) -> HashIndex:
    """Plain decimal entry ids (as VICS MediaIDs are) and four categories: ids kept as int64."""
    index = HashIndex(threads=1)
    index.add_hashes("bench", "pdq", data.rows, entry_ids=data.numeric_ids, categories=data.categories)
    return index


def one_by_one(search: Callable[[Any, np.ndarray], tuple[np.ndarray, ...]]) -> Callable[[Any, Data], list[Any]]:
    return lambda index, data: [search(index, data.queries[i:i + 1]) for i in range(len(data.queries))]


def merged_lims(answers: list[tuple[np.ndarray, ...]]) -> Hits:
    return [h for a in answers for h in lims_hits(*a)]


@dataclass
class Contender:
    label: str
    build: Callable[[Data], Any]
    search: Callable[[Any, Data], Any]
    hits: Callable[[Any, Data], Hits]
    baseline: str  # label of the row its ratio is taken against
    nbytes: Callable[[Any], dict[str, int]] | None = None  # bytes held, by part
    index: Any = None
    build_s: float = float("nan")
    rss_growth: int = 0
    best_s: float = float("nan")
    answer: Any = None


FLAT = "faiss IndexBinaryFlat.range_search"
FLAT_ONE = "faiss IndexBinaryFlat.range_search, one query a call"
SUBSTRING = "ocsea HashIndex.match_many, substring search"
SUBSTRING_ONE = "ocsea HashIndex.match, one query a call, substring search"


def contenders() -> list[Contender]:
    rows = [
        Contender(FLAT, faiss_flat, lambda ix, d: ix.range_search(d.queries, THRESHOLD + 1),
                  lambda a, d: lims_hits(*a), FLAT, lambda ix: {"hashes": ix.ntotal * ix.code_size}),
        Contender("ocsea _core.range_search_256 (kernel alone)", kernel,
                  lambda ix, d: _core.range_search_256(d.queries, ix[0], ix[1], THRESHOLD, threads=1),
                  lambda a, d: lims_hits(*a), FLAT, lambda ix: {"hashes": ix[0].nbytes + ix[1].nbytes}),
        Contender("ocsea HashIndex.match_many", ours, lambda ix, d: ix.match_many(d.records),
                  lambda a, d: match_hits(a), FLAT, lambda ix: ix.nbytes()),
        Contender(SUBSTRING, ours_substring, lambda ix, d: ix.match_many(d.records),
                  lambda a, d: match_hits(a), FLAT, lambda ix: ix.nbytes()),
        Contender("ocsea HashIndex.match_many, 12-char ids + categories", ours_explicit,
                  lambda ix, d: ix.match_many(d.records), lambda a, d: match_hits(a), FLAT, lambda ix: ix.nbytes()),
        Contender("ocsea HashIndex.match_many, decimal ids + categories", ours_numeric,
                  lambda ix, d: ix.match_many(d.records), lambda a, d: match_hits(a), FLAT, lambda ix: ix.nbytes()),
        Contender("faiss IndexBinaryMultiHash 16x16 nflip=1", faiss_mih,
                  lambda ix, d: ix.range_search(d.queries, THRESHOLD + 1), lambda a, d: lims_hits(*a), FLAT),
        Contender(FLAT_ONE, faiss_flat, one_by_one(lambda ix, q: ix.range_search(q, THRESHOLD + 1)),
                  lambda a, d: merged_lims(a), FLAT_ONE, lambda ix: {"hashes": ix.ntotal * ix.code_size}),
        Contender("ocsea HashIndex.match, one query a call", ours, lambda ix, d: [ix.match(r) for r in d.records],
                  lambda a, d: match_hits(a), FLAT_ONE, lambda ix: ix.nbytes()),
        Contender(SUBSTRING_ONE, ours_substring, lambda ix, d: [ix.match(r) for r in d.records],
                  lambda a, d: match_hits(a), FLAT_ONE, lambda ix: ix.nbytes()),
    ]
    if TX_VERSION:
        rows += [
            Contender("threatexchange PDQFlatHashIndex", lambda d: tx_build(PDQFlatHashIndex(), d),
                      lambda ix, d: ix.search_with_distance_in_result(d.hex_queries, THRESHOLD), tx_hits, FLAT),
            Contender("threatexchange PDQMultiHashIndex (PDQIndex's)", lambda d: tx_build(PDQMultiHashIndex(), d),
                      lambda ix, d: ix.search_with_distance_in_result(d.hex_queries, THRESHOLD), tx_hits, FLAT),
        ]
    return rows


def tx_build(index: Any, data: Data) -> Any:
    """threatexchange's add() takes hex strings (made beforehand, not timed) and ids."""
    index.add(data.tx_rows, range(len(data.tx_rows)))
    return index


# ------------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------------


def rss() -> int:
    """Resident bytes once garbage is collected and malloc has handed its free pages back, so that
    memory freed by an earlier step and reused by the next one is not mistaken for no growth."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6")
    _LIBC.malloc_trim  # noqa: B018 (glibc only: elsewhere this raises AttributeError)
except (OSError, AttributeError):
    _LIBC = None


def build_all(rows: list[Contender], data: Data) -> None:
    for c in rows:
        before = rss()
        start = time.perf_counter()
        c.index = c.build(data)
        c.build_s = time.perf_counter() - start
        c.rss_growth = rss() - before
        print(f"  built {c.label}: {c.build_s:.2f} s", file=sys.stderr)


def time_all(rows: list[Contender], data: Data, repeat: int) -> None:
    """Round-robin passes over every contender, so that a busy moment hits everyone alike."""
    for c in rows:
        c.search(c.index, Data(data.rows, data.queries[:2], [], data.hex_queries[:2], data.records[:2]))  # warm-up
    for r in range(repeat):
        for c in rows:
            start = time.perf_counter()
            answer = c.search(c.index, data)
            elapsed = time.perf_counter() - start
            if not elapsed >= c.best_s:
                c.best_s = elapsed
            if c.answer is None:
                c.answer = answer
        print(f"  pass {r + 1}/{repeat} done", file=sys.stderr)


def check(rows: list[Contender], data: Data) -> tuple[dict[str, float], list[str]]:
    """Recall on the planted pairs, and every hit list against FAISS IndexBinaryFlat's."""
    truth = rows[0].hits(rows[0].answer, data)
    recall, problems = {}, []
    for c in rows:
        hits = c.hits(c.answer, data)
        found = sum(any(r == row for r, _ in hits[q]) for q, row in data.planted)
        recall[c.label] = found / len(data.planted) if data.planted else 1.0
        if found < len(data.planted):
            problems.append(f"{c.label}: recall {recall[c.label]:.4f}, {len(data.planted) - found} planted near-duplicates MISSED")
        differ = [i for i, (h, t) in enumerate(zip(hits, truth)) if h != t]
        if differ or len(hits) != len(truth):
            problems.append(f"{c.label}: hit lists differ from IndexBinaryFlat's for {len(differ)} queries, e.g. #{differ[:5]}")
    return recall, problems


def save_and_load(index: HashIndex, folder: Path, data: Data) -> dict[str, Any]:
    start = time.perf_counter()
    index.save(folder)
    saved_s = time.perf_counter() - start
    before = rss()
    start = time.perf_counter()
    loaded = HashIndex.load(folder, threads=1)
    load_s = time.perf_counter() - start
    growth = rss() - before
    same = loaded.match_many(data.records[:len(data.planted) + 10]) == index.match_many(data.records[:len(data.planted) + 10])
    files = sum(p.stat().st_size for p in folder.iterdir())
    return {"save_s": saved_s, "load_s": load_s, "files_bytes": files, "rss_growth": growth, "same_matches": same}


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    return {
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), one thread used",
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "threatexchange": TX_VERSION or "not importable (skipped)",
        "ocsea_match": f"git {git_revision()}, scan level {_core.SCAN256_LEVEL} (2 AVX-512 VPOPCNTDQ, 1 popcnt, 0 portable)",
    }


def table_rows(n: int, rows: list[Contender], recall: dict[str, float], nq: int) -> list[dict[str, Any]]:
    by_label = {c.label: c for c in rows}
    out = []
    for c in rows:
        held = c.nbytes(c.index) if c.nbytes else None
        out.append({
            "size": n, "method": c.label, "build_s": c.build_s, "queries_per_s": nq / c.best_s,
            "ratio": by_label[c.baseline].best_s / c.best_s, "baseline": c.baseline, "recall": recall[c.label],
            "bytes_per_entry": sum(held.values()) / n if held else None,
            "bytes_parts": held, "rss_growth_per_entry": c.rss_growth / n,
        })
    return out


def print_table(results: list[dict[str, Any]]) -> None:
    print("| size | method | build s | queries/s | vs IndexBinaryFlat | recall | bytes/entry | RSS growth/entry |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        held = f"{r['bytes_per_entry']:.1f}" if r["bytes_per_entry"] is not None else "-"
        print(f"| {r['size']:,} | {r['method']} | {r['build_s']:.2f} | {r['queries_per_s']:,.0f} | {r['ratio']:.2f}x "
              f"| {r['recall']:.3f} | {held} | {r['rss_growth_per_entry']:.1f} |")


def targets(results: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, each said to be met or not."""
    lines = []
    for size in sorted({r["size"] for r in results}):
        rows = {r["method"]: r for r in results if r["size"] == size}
        ours_row = rows["ocsea HashIndex.match_many"]
        goal = 0.9 if size < 5_000_000 else 1.5
        lines.append(f"{size:,}: HashIndex {ours_row['ratio']:.2f}x IndexBinaryFlat (target >= {goal}x): "
                     f"{'met' if ours_row['ratio'] >= goal else 'NOT MET'}")
        for label, r in rows.items():
            if label.startswith("threatexchange"):
                ratio = ours_row["queries_per_s"] / r["queries_per_s"]
                lines.append(f"{size:,}: HashIndex {ratio:.2f}x {label} (target >= 1x): {'met' if ratio >= 1 else 'NOT MET'}")
        lines.append(f"{size:,}: HashIndex {ours_row['bytes_per_entry']:.1f} bytes/entry (target <= 48): "
                     f"{'met' if ours_row['bytes_per_entry'] <= 48 else 'NOT MET'}")
    return lines


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--queries", type=int, default=1000, help="random queries (default 1000)")
    ap.add_argument("--planted", type=int, default=100, help="near-duplicate queries, 1 to 31 bits off (default 100)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes; the best is kept (default 3)")
    ap.add_argument("--seed", type=int, default=20240604)
    ap.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    ap.add_argument("--only", nargs="+", metavar="TEXT", help="only the rows whose label contains one of these "
                    "(FAISS IndexBinaryFlat and HashIndex.match_many, the baselines, are always run)")
    ap.add_argument("--save-dir", type=Path, help="where the saved index goes (default: a temporary folder)")
    return ap.parse_args()


def main() -> int:
    args = parse_args()
    report: dict[str, Any] = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}, "sizes": []}
    print("## Machine\n")
    for key, value in report["machine"].items():
        print(f"- {key}: {value}")
    if not TX_VERSION:
        print("\nthreatexchange: not importable, its rows are skipped (see this script's docstring)")
    results: list[dict[str, Any]] = []
    problems: list[str] = []
    for n in args.sizes:
        print(f"\nsize {n:,}: generating", file=sys.stderr)
        data = make_data(n, args.queries, args.planted, args.seed + n)
        # the inputs as lists come in (strings), made before any timing
        data.ids = [f"{i + 1:012d}" for i in range(n)]
        data.numeric_ids = [str(i + 1) for i in range(n)]
        data.categories = [("A1", "A2", "B1", "B2")[i % 4] for i in range(n)]
        if TX_VERSION:
            data.tx_rows = [r.tobytes().hex() for r in data.rows]
        rows = [c for c in contenders() if not args.only or c.label in (FLAT, FLAT_ONE, "ocsea HashIndex.match_many")
                or any(text in c.label for text in args.only)]
        build_all(rows, data)
        data.tx_rows, data.ids, data.numeric_ids, data.categories = [], [], [], []
        time_all(rows, data, args.repeat)
        recall, size_problems = check(rows, data)
        problems += [f"{n:,}: {p}" for p in size_problems]
        size_results = table_rows(n, rows, recall, len(data.queries))
        results += size_results
        ours_index = next(c.index for c in rows if c.label == "ocsea HashIndex.match_many")
        with tempfile.TemporaryDirectory(prefix="ocsea-index-") as tmp:
            folder = (args.save_dir or Path(tmp)) / f"pdq-{n}"
            persisted = save_and_load(ours_index, folder, data)
        if not persisted["same_matches"]:
            problems.append(f"{n:,}: the loaded index does not match as the saved one did")
        report["sizes"].append({"size": n, "queries": len(data.queries), "planted": len(data.planted),
                                "rows": size_results, "persistence": persisted})
        del rows, data, ours_index
        gc.collect()

    print(f"\n## PDQ index, threshold {THRESHOLD}, one thread, {args.queries} random + {args.planted} planted "
          f"queries per batch, best of {args.repeat}\n")
    print_table(results)
    print("\n## Memory of HashIndex (generated ids), bytes per entry\n")
    for size in report["sizes"]:
        row = next(r for r in size["rows"] if r["method"] == "ocsea HashIndex.match_many")
        parts = ", ".join(f"{k} {v / size['size']:.1f}" for k, v in row["bytes_parts"].items())
        line = f"- {size['size']:,}: {row['bytes_per_entry']:.1f} ({parts})"
        for start, what in (("ocsea HashIndex.match_many, 12", "with 12-character ids and categories"),
                            ("ocsea HashIndex.match_many, decimal", "with decimal ids and categories"),
                            (SUBSTRING, "with substring search")):
            other = next((r for r in size["rows"] if r["method"].startswith(start)), None)
            if other is not None:
                oparts = ", ".join(f"{k} {v / size['size']:.1f}" for k, v in other["bytes_parts"].items())
                line += f"; {what} {other['bytes_per_entry']:.1f} ({oparts}, built in {other['build_s']:.1f} s)"
        print(line)
        p = size["persistence"]
        print(f"  saved index {p['files_bytes'] / 1e6:.0f} MB: save {p['save_s']:.2f} s, load {p['load_s']:.2f} s "
              f"(SHA-256 of every file included), RSS growth of the load {p['rss_growth'] / size['size']:.1f} B/entry")
    print("\n## Targets\n")
    for line in targets(results):
        print(f"- {line}")
    report["problems"] = problems
    if problems:
        print("\n## FAILURES\n")
        for p in problems:
            print(f"- {p}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
