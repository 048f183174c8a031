"""The PDQ search kernel (``range_search_256``, one thread) per table size, alone and with other
processes searching their own tables at the same time: is the sharded index's slowdown at 50M
(README, cluster section) in the search code, the cache, the batch size or the memory bus?

    nice python benchmarks/scan256_rows.py [--rows 5000000,25000000] [--queries 100] [--concurrent 1,2]

Random rows (the cost does not depend on them: every row is compared), the first ``--queries``
rows as queries at threshold 31, in one batch and in batches of 64. Prints queries per wall and per
CPU second and row comparisons per CPU second; with ``--concurrent 2`` two processes (forked, each
with its own table, as two one-thread Dask workers hold two shards) search at once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np

from ocsea_match._core import range_search_256


def _run(rows: int, queries: int, seed: int, out: multiprocessing.Queue, start: multiprocessing.Event) -> None:
    rng = np.random.default_rng(seed)
    head = rng.integers(0, 2**63, (rows, 2), dtype=np.uint64)
    tail = rng.integers(0, 2**63, (rows, 2), dtype=np.uint64)
    q = np.hstack([head[:queries].view(np.uint8).reshape(-1, 16), tail[:queries].view(np.uint8).reshape(-1, 16)]).copy()
    start.wait()
    for batch in (queries, 64):
        wall, cpu = time.perf_counter(), time.process_time()
        for s in range(0, queries, batch):
            range_search_256(q[s:s + batch], head, tail, 31, threads=1)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out.put((seed, batch, queries / wall, queries / cpu, rows * queries / cpu / 1e9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="5000000,25000000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--concurrent", default="1,2")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    context = multiprocessing.get_context("fork")
    for rows in map(int, args.rows.split(",")):
        for n in map(int, args.concurrent.split(",")):
            out, start = context.Queue(), context.Event()
            procs = [context.Process(target=_run, args=(rows, args.queries, i, out, start)) for i in range(n)]
            for p in procs:
                p.start()
            time.sleep(1 + rows / 5e6)  # the tables made before the clock starts
            start.set()
            results = sorted(out.get() for _ in range(2 * n))
            for p in procs:
                p.join()
            for seed, batch, per_wall, per_cpu, compares in results:
                print(f"{rows:>11,} rows, {n} process(es), process {seed}, batch {batch:>4}: {per_wall:7.1f} q/s wall, "
                      f"{per_cpu:7.1f} q/s CPU, {compares:.2f} G row comparisons per CPU second", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
