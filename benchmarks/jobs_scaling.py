#!/usr/bin/env python3
"""``hash_files`` with one and two jobs, each in a fresh interpreter: the pool's cold start included.

    python benchmarks/jobs_scaling.py [FOLDER] [--repeat R]

Every run is a new ``python -c`` process that imports ``ocsea_match`` (the lazy face: nothing
heavy yet), then times ``list(hash_files(paths, ["pdq", "phash"], jobs=J, mode="fast"))`` from
the call to the last record: with ``jobs=1`` that includes the imports the first file makes in
this process, with ``jobs=2`` starting the fork server, its imports and the workers. It also
prints the time to the first record (the pool's cold start plus one file). Runs of J = 1 and 2
take turns; the best of ``--repeat`` is kept. ``compare_peers.py --jobs-scaling`` calls this and
adds the in-process ``jobs=1`` time (everything already imported) for the stricter ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = r"""
import json, sys, time
import ocsea_match
jobs, listing = int(sys.argv[1]), sys.argv[2]
with open(listing) as f:
    paths = json.load(f)
start = time.perf_counter()
first, bad = None, 0
for record in ocsea_match.hash_files(paths, ["pdq", "phash"], jobs=jobs, mode="fast"):
    if first is None:
        first = time.perf_counter() - start
    bad += record["status"] != "ok"
print(json.dumps({"seconds": time.perf_counter() - start, "first": first, "bad": bad}))
"""


def cold_run(jobs: int, listing: str) -> dict[str, float]:
    """One fresh interpreter hashing the listed files with ``jobs`` workers."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(jobs), listing], capture_output=True, text=True,
                          timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"jobs={jobs} run failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def jobs_scaling(paths: list[str], repeat: int, warm_jobs1: float | None = None) -> dict[str, float]:
    """Best-of-``repeat`` cold times for jobs=1 and jobs=2, their ratio, and the ratio to
    ``warm_jobs1`` (jobs=1 in a process that has everything imported) when given."""
    best: dict[str, float] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(paths, f)
    try:
        for _ in range(repeat):
            for jobs in (1, 2):
                run = cold_run(jobs, f.name)
                if run["bad"]:
                    print(f"jobs={jobs}: {run['bad']} files not ok", file=sys.stderr)
                for key in ("seconds", "first"):
                    name = f"jobs={jobs} {key}"
                    best[name] = min(run[key], best.get(name, run[key]))
    finally:
        os.unlink(f.name)
    best["speed-up"] = best["jobs=1 seconds"] / best["jobs=2 seconds"]
    if warm_jobs1 is not None:
        best["jobs=1 warm seconds"] = warm_jobs1
        best["speed-up over warm jobs=1"] = warm_jobs1 / best["jobs=2 seconds"]
    return best


def describe(s: dict[str, float]) -> str:
    """The figures as the benchmarks print them."""
    text = (f"cold, fresh interpreter each: jobs=1 {s['jobs=1 seconds']:.2f} s (first record after "
            f"{s['jobs=1 first']:.2f} s), jobs=2 {s['jobs=2 seconds']:.2f} s (first record after "
            f"{s['jobs=2 first']:.2f} s): speed-up {s['speed-up']:.2f}x")
    if "jobs=1 warm seconds" in s:
        text += (f"; jobs=1 in a warm process {s['jobs=1 warm seconds']:.2f} s: cold jobs=2 is "
                 f"{s['speed-up over warm jobs=1']:.2f}x that")
    return text


def warm_jobs1(paths: list[str]) -> float:
    """``jobs=1`` in this process, after one file has made every import."""
    import ocsea_match

    list(ocsea_match.hash_files(paths[:1], ["pdq", "phash"], mode="fast"))
    start = time.perf_counter()
    list(ocsea_match.hash_files(paths, ["pdq", "phash"], jobs=1, mode="fast"))
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "images"
    ap.add_argument("folder", nargs="?", type=Path, default=default)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    paths = sorted(str(p) for p in args.folder.rglob("*") if p.is_file() and p.suffix.lower() != ".tsv")
    print(f"{len(paths)} files under {args.folder}; load average {os.getloadavg()[0]:.2f}")
    print(describe(jobs_scaling(paths, args.repeat, warm_jobs1(paths))))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
