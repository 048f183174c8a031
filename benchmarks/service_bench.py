#!/usr/bin/env python3
"""The triage service under load, on loopback only, next to the same work done in-process.

    python benchmarks/service_bench.py [--sizes 1000000 10000000] [--seconds 10] [--connections 16]
                                       [--upload-connections 4] [--client auto|wrk|python] [--repeat 2]
                                       [--search-threads N] [--searchers N] [--skip-uploads] [--[no-]substring-search]
                                       [--json OUT]

(a) Hash-only lookups (``POST /v1/match-hashes``, one record per request) against an index of
--sizes random PDQ hashes (``HashIndex.add_hashes``, saved and served with ``ocsea-match serve
--index``); half the queries are listed hashes with 8 bits flipped, half random. (b) Uploads
(``POST /v1/match``) of generated ~1 MP JPEGs (benign smooth textures) against the first size.
The service runs as ``ocsea-match serve`` (uvicorn, 127.0.0.1, audit log on, no rate limit); a
load generator keeps --connections keep-alive connections busy for --seconds, then stops:
``wrk`` (C, one thread) when installed, else Python threads on raw sockets. In-process rows do
the same work without HTTP: ``HashIndex.match`` one query at a time, one thread, the index
searching with one OpenMP thread (what an embedding program does naively); ``match_many`` over
batches as large as the service formed, on --searchers threads at once, a batch split over
--search-threads as the service splits a large batch that runs alone (the service's own search,
without HTTP: the fair measure of its overhead);
and ``hash_bytes`` + ``match`` over a pool of as many processes as the service has decoding
workers. The batched rows use the mean batch the service formed in the run just before (read from its
``/metrics``), so both do the same searches. ``--substring-search`` / ``--no-substring-search``: the
look-ups with ``serve --[no-]substring-search``; left out, the service's own choice (substring tables from
``AUTO_SUBSTRING_ROWS`` listed hashes), and the in-process index makes the same choice (tables prepared
before timing). Every run records the 1-minute load average before and after it, and its CPU time per
request: the server's and its workers' (``/proc``, through psutil), the load generator's (wrk's rusage)
and the in-process runs' own (``time.process_time``), so that the service's extra CPU per look-up is
measured apart from what the load generator takes.

The load generator runs on the same machine as the server and takes CPU from it: on a 2-core
machine the service's figures are a floor. Published figures of the peers (PhotoDNA Cloud 5-10
requests/s; HMA ~45-50 requests/s per pod in one adopter's report) are quoted, not measured.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
# as the service is run (README): read by OpenMP once, when the native core is loaded below
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from ocsea_match import HashIndex, hash_bytes  # noqa: E402
from ocsea_match.service.keys import KeyStore  # noqa: E402

PUBLISHED = [("PhotoDNA Cloud (published)", "5-10"), ("HMA, one pod (adopter's report)", "45-50")]
GOALS = {"lookup-1000000": 1500, "lookup-10000000": 300, "upload": 50}


# --------------------------------------------------------------------------------------------- fixtures


def make_index(size: int, folder: Path, rng: np.random.Generator) -> np.ndarray:
    """Save an index of ``size`` random PDQ rows to ``folder``; returns 64 of its rows."""
    rows = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    index = HashIndex()
    index.add_hashes("bench", "pdq", rows, categories="1")
    index.save(folder)
    return rows[rng.choice(size, 64, replace=False)].copy()


def lookup_bodies(listed: np.ndarray, rng: np.random.Generator, count: int = 128) -> list[bytes]:
    """Hash-only request bodies: half near-duplicates of listed rows (8 bits flipped), half random."""
    bodies = []
    for i in range(count):
        if i % 2 == 0:
            row = listed[i // 2 % len(listed)].copy()
            for bit in rng.choice(256, 8, replace=False):
                row[bit // 8] ^= 1 << (bit % 8)
        else:
            row = rng.integers(0, 256, 32, dtype=np.uint8)
        bodies.append(json.dumps({"hashes": {"pdq": {"hex": row.tobytes().hex(), "quality": 100}}}).encode())
    return bodies


def pictures(count: int, rng: np.random.Generator) -> list[bytes]:
    """~1 MP JPEGs (1152x864) of smooth generated textures."""
    import cv2

    out = []
    for _ in range(count):
        small = rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)
        big = cv2.GaussianBlur(cv2.resize(small, (1152, 864), interpolation=cv2.INTER_CUBIC), (0, 0), 2)
        ok, data = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append(data.tobytes())
    return out


# --------------------------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, index_dir: Path, keys: Path, workdir: Path, workers: int, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        # as the README's systemd unit: OpenMP threads sleep between searches instead of spinning
        env = {"OMP_WAIT_POLICY": "passive", **os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.log = open(workdir / "server.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ocsea_match", "serve", "--index", str(index_dir), "--keys", str(keys),
             "--port", str(self.port), "--audit-log", str(workdir / "audit.jsonl"), "--workers", str(workers), *extra],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server did not start; see " + self.log.name)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    if s.recv(100).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer in time")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server and its worker processes so far."""
        import psutil  # a dependency of Dask, which the dev extra installs

        total = 0.0
        server = psutil.Process(self.proc.pid)
        for proc in (server, *server.children(recursive=True)):
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# --------------------------------------------------------------------------------------------- clients


def run_wrk(port: int, path: str, key: str, bodies: list[bytes], workdir: Path, seconds: float, connections: int) -> dict[str, Any]:
    files = []
    for i, body in enumerate(bodies):
        f = workdir / f"body{i}.bin"
        f.write_bytes(body)
        files.append(str(f))
    script = workdir / "bench.lua"
    script.write_text(
        "local bodies = {}\n"
        + "".join(f'do local f = io.open("{p}", "rb"); bodies[#bodies + 1] = f:read("*all"); f:close() end\n' for p in files)
        + "local i = 0\n"
        + f'local headers = {{["Authorization"] = "Bearer {key}", ["Content-Type"] = "application/octet-stream"}}\n'
        + 'request = function()\n  i = i % #bodies + 1\n'
        + f'  return wrk.format("POST", "{path}", headers, bodies[i])\nend\n')
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "--timeout", "10s",
                          "-s", str(script), f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": requests, "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": ms("50"), "p99_ms": ms("99"), "failed": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None, "client": "wrk -t1"}


def run_python(port: int, path: str, key: str, bodies: list[bytes], seconds: float, connections: int) -> dict[str, Any]:
    """Threads on raw keep-alive sockets (the GIL makes this client heavier than wrk)."""
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(n: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        mine, bad, i = [], 0, n
        while time.monotonic() < stop_at:
            body = bodies[i % len(bodies)]
            i += 1
            started = time.perf_counter()
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            head, _, rest = buf.partition(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            while len(rest) < length:
                rest += sock.recv(65536)
            mine.append(time.perf_counter() - started)
            bad += not head.startswith(b"HTTP/1.1 200")
        sock.close()
        with lock:
            latencies.extend(mine)
            failed[0] += bad

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    lat = np.asarray(latencies) * 1000
    return {"requests": len(latencies), "rate": len(latencies) / elapsed, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "failed": failed[0], "client": "python threads"}


# --------------------------------------------------------------------------------------------- in-process


def in_process_lookups(index: HashIndex, bodies: list[bytes], seconds: float) -> dict[str, Any]:
    queries = [json.loads(b) for b in bodies]
    latencies, started, i, cpu = [], time.perf_counter(), 0, time.process_time()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        index.match(queries[i % len(queries)])
        latencies.append(time.perf_counter() - t)
        i += 1
    lat = np.asarray(latencies) * 1000
    return {"requests": i, "rate": i / (time.perf_counter() - started), "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "failed": 0, "client": "in-process, 1 thread",
            "cpu_ms": (time.process_time() - cpu) * 1000 / i}


def batch_counts(port: int, key: str) -> tuple[float, float]:
    """The service's ``ocsea_lookup_batch_size`` histogram: (sum of look-ups, index calls) so far."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n".encode())
        text = b"".join(iter(lambda: s.recv(65536), b"")).decode()
    found = [re.search(rf"^ocsea_lookup_batch_size_{name} ([\d.e+]+)$", text, re.M) for name in ("sum", "count")]
    return tuple(float(m.group(1)) if m else 0.0 for m in found)  # type: ignore[return-value]


def in_process_batched(index: HashIndex, bodies: list[bytes], seconds: float, batch: int, threads: int,
                       searchers: int = 1) -> dict[str, Any]:
    """The service's own search without HTTP: ``searchers`` threads, each calling ``match_many``
    over batches of ``batch`` queries (the mean batch the service formed under the same load), a
    batch split over ``threads`` as the service splits a large batch that runs alone. Latency is a
    batch's time (every query of it waits for the whole batch)."""
    from ocsea_match.service.matcher import PARALLEL_WORK

    queries = [json.loads(b) for b in bodies]
    use = threads if batch * len(index) >= PARALLEL_WORK and searchers == 1 else 1
    latencies: list[float] = []
    counts = [0] * searchers
    started, cpu = time.perf_counter(), time.process_time()

    def search(n: int) -> None:
        i, mine = n * batch, []
        while time.perf_counter() - started < seconds:
            t = time.perf_counter()
            index.match_many([queries[(i + k) % len(queries)] for k in range(batch)], threads=use)
            mine.append(time.perf_counter() - t)
            i += batch * searchers
            counts[n] += batch
        latencies.extend(mine)

    workers = [threading.Thread(target=search, args=(n,)) for n in range(searchers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done, elapsed = sum(counts), time.perf_counter() - started
    lat = np.asarray(latencies) * 1000
    how = f"{searchers} searchers, " if searchers > 1 else ""
    return {"requests": done, "rate": done / elapsed, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "failed": 0,
            "client": f"in-process, {how}batches of {batch}, {use} threads",
            "cpu_ms": (time.process_time() - cpu) * 1000 / done}


def _hash(data: bytes, algorithms: tuple[str, ...]) -> dict[str, Any]:
    return hash_bytes(data, algorithms, mode="fast")


def in_process_uploads(index: HashIndex, pics: list[bytes], seconds: float, workers: int, dialects: bool) -> dict[str, Any]:
    from ocsea_match.hashers import PDQ_DIALECTS
    from ocsea_match.parallel import worker_context
    from ocsea_match.service.matcher import IndexSource

    algorithms = IndexSource(index=index).load().algorithms  # what the service hashes uploads with
    if not dialects:
        algorithms = tuple(a for a in algorithms if a not in PDQ_DIALECTS)
    latencies: list[float] = []
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=worker_context()) as pool:
        list(pool.map(_hash, pics[:workers], [algorithms] * workers))  # warm
        started, i, pending = time.perf_counter(), 0, {}
        while time.perf_counter() - started < seconds or pending:
            while len(pending) < 2 * workers and time.perf_counter() - started < seconds:
                pending[pool.submit(_hash, pics[i % len(pics)], algorithms)] = time.perf_counter()
                i += 1
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in done:
                index.match(fut.result())
                latencies.append(time.perf_counter() - pending.pop(fut))
        elapsed = time.perf_counter() - started
    lat = np.asarray(latencies) * 1000
    return {"requests": len(latencies), "rate": len(latencies) / elapsed, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "failed": 0, "client": f"in-process, {workers} processes"}


# --------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--upload-connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="decoding worker processes of the service")
    parser.add_argument("--search-threads", type=int, default=1,
                        help="threads the service splits a large batch over while it runs alone (default 1, as 'serve')")
    parser.add_argument("--searchers", type=int, default=os.cpu_count() or 1,
                        help="the service's search threads (serve --searchers; default: all cores, as 'serve')")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per row, alternating in-process and service; "
                        "the best round of each is reported (default 2)")
    parser.add_argument("--skip-uploads", action="store_true")
    parser.add_argument("--substring-search", action=argparse.BooleanOptionalAction, default=None,
                        help="look-ups through substring tables or the scan (serve --[no-]substring-search); "
                             "default: the service's own choice by list size")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    client = "wrk" if args.client == "wrk" or (args.client == "auto" and shutil.which("wrk")) else "python"
    rng = np.random.default_rng(13)
    workdir = Path(tempfile.mkdtemp(prefix="ocsea-service-bench-"))
    rows: list[dict[str, Any]] = []
    try:
        store = KeyStore.open(workdir / "keys.json", create=True)
        key = store.add("bench", ["match", "hashes", "metrics"])

        def load(port: int, path: str, bodies: list[bytes], connections: int) -> dict[str, Any]:
            if client == "wrk":
                return run_wrk(port, path, key, bodies, workdir, args.seconds, connections)
            return run_python(port, path, key, bodies, args.seconds, connections)

        def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
            top = max(runs, key=lambda r: r["rate"])
            return {**top, "runs": [round(r["rate"], 1) for r in runs],
                    "loads": [r["load"] for r in runs]}

        def loaded(fn: Any) -> dict[str, Any]:
            """One run, with the 1-minute load average before and after it (others share the machine)."""
            before = os.getloadavg()[0]
            result = fn()
            return {**result, "load": [round(before, 2), round(os.getloadavg()[0], 2)]}

        def measure(server: Server, path: str, bodies: list[bytes], connections: int,
                    *local: Any) -> tuple[dict[str, Any], ...]:
            """--repeat rounds, service then in-process in each (so both see the same load, and the batched
            in-process run uses the batch the service just formed); the best of each."""
            remote_runs: list[dict[str, Any]] = []
            local_runs: list[list[dict[str, Any]]] = [[] for _ in local]

            def remote() -> dict[str, Any]:
                before = batch_counts(server.port, key)
                cpu, clients = server.cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
                result = load(server.port, path, bodies, connections)
                cpu, done = server.cpu_seconds() - cpu, resource.getrusage(resource.RUSAGE_CHILDREN)
                result["cpu_ms"] = cpu * 1000 / max(1, result["requests"])
                if client == "wrk":  # the load generator is the only child that ends during the run
                    result["client_cpu_ms"] = ((done.ru_utime + done.ru_stime) - (clients.ru_utime + clients.ru_stime)) \
                        * 1000 / max(1, result["requests"])
                after = batch_counts(server.port, key)
                calls = after[1] - before[1]
                if calls:
                    formed["batch"] = max(1, round((after[0] - before[0]) / calls))
                return {**result, "mean_batch": round((after[0] - before[0]) / calls, 1) if calls else None}

            for _ in range(args.repeat):
                remote_runs.append(loaded(remote))
                for runs, fn in zip(local_runs, local):
                    runs.append(loaded(fn))
            return (best(remote_runs), *(best(runs) for runs in local_runs))

        from ocsea_match.service.matcher import AUTO_SUBSTRING_ROWS

        formed = {"batch": args.connections}  # the mean batch of the service's last run
        first_index: Path | None = None
        for size in args.sizes:
            folder = workdir / f"index-{size}"
            listed = make_index(size, folder, rng)
            first_index = first_index or folder
            bodies = lookup_bodies(listed, rng)
            substring = size >= AUTO_SUBSTRING_ROWS if args.substring_search is None else args.substring_search
            index = HashIndex.load(folder, threads=1, substring_search=substring)  # one thread, as the service
            index.prepare()
            server = Server(folder, workdir / "keys.json", workdir, workers=1,
                            extra=("--search-threads", str(args.search_threads), "--searchers", str(args.searchers),
                                   "--substring-search" if substring else "--no-substring-search"))
            try:
                remote, local, batched = measure(
                    server, "/v1/match-hashes", bodies, args.connections,
                    lambda index=index: in_process_lookups(index, bodies, args.seconds),
                    lambda index=index: in_process_batched(index, bodies, args.seconds, formed["batch"],
                                                           args.search_threads, args.searchers))
            finally:
                server.stop()
            del index
            how = ", substring search" if substring else ", scan"
            rows.append({"work": f"hash-only lookup, {size:,} listed{how}", "goal": GOALS.get(f"lookup-{size}"),
                         "service": remote, "in_process": local, "in_process_batched": batched})
            if size != args.sizes[0]:
                shutil.rmtree(folder)
        pics = pictures(16, rng)
        for dialects in () if args.skip_uploads or first_index is None else (True, False):
            index = HashIndex.load(first_index, threads=1)
            server = Server(first_index, workdir / "keys.json", workdir, workers=args.workers,
                            extra=() if dialects else ("--no-dialects",))
            try:
                remote, local = measure(server, "/v1/match", pics, args.upload_connections,
                                        lambda index=index, dialects=dialects: in_process_uploads(index, pics, args.seconds, args.workers,
                                                                                       dialects))
            finally:
                server.stop()
            del index
            what = "PDQ in 3 dialects (default)" if dialects else "PDQ only (--no-dialects)"
            rows.append({"work": f"upload of a 1 MP JPEG, {what}, {args.sizes[0]:,} listed", "goal": GOALS["upload"],
                         "service": remote, "in_process": local})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(rows, args, client)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "machine": machine()}, indent=1))
    return 0


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_end": os.getloadavg()}


def report(rows: list[dict[str, Any]], args: argparse.Namespace, client: str) -> None:
    print(f"\nservice_bench: {args.seconds:g} s per run, best of {args.repeat} alternating runs, {args.connections} connections for lookups, "
          f"{args.upload_connections} for uploads, client: {client}; machine: {machine()}")
    print("| work | service req/s | p50 ms | p99 ms | failed | load | in-process req/s | p50 ms | p99 ms | "
          "service / in-process | in-process batched req/s | service / batched | goal |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        s, p, b = row["service"], row["in_process"], row.get("in_process_batched")
        goal = row["goal"]
        verdict = "" if not goal else f">= {goal} req/s: {'met' if s['rate'] >= goal else 'not met'}"
        batched = f"{b['rate']:,.0f} ({b['client'].split(', ', 1)[1]}) | {s['rate'] / b['rate']:.2f}x" if b else " | "
        print(f"| {row['work']} | {s['rate']:,.0f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['failed']} | "
              f"{s['load'][0]:.1f}-{s['load'][1]:.1f} | {p['rate']:,.0f} | {p['p50_ms']:.2f} | {p['p99_ms']:.2f} | "
              f"{s['rate'] / p['rate']:.2f}x | {batched} | {verdict} |")
    print("every run, requests/s (1-minute load average before-after):")
    for row in rows:
        parts = [f"{name} " + ", ".join(f"{rate:,.0f} ({a:.1f}-{z:.1f})" for rate, (a, z) in zip(row[key]["runs"], row[key]["loads"]))
                 for key, name in (("service", "service"), ("in_process", "in-process"), ("in_process_batched", "batched"))
                 if key in row]
        batch = row["service"].get("mean_batch")
        print(f"  {row['work']}: " + "; ".join(parts)
              + (f"; the service's mean batch in its best run: {batch}" if batch is not None else ""))
    for name, rate in PUBLISHED:
        print(f"| {name} | {rate} |" + " |" * 10 + " quoted, not measured |")
    print("CPU per look-up (best runs; user + system time of the server and its workers, of wrk, of the in-process "
          "runs), and the service's own CPU beyond the batched search's, as a share of the service's:")
    for row in rows:
        s, p, b = row["service"], row["in_process"], row.get("in_process_batched")
        if not b or "cpu_ms" not in s:
            continue
        wrk = f" (+ load generator {s['client_cpu_ms']:.3f} ms)" if "client_cpu_ms" in s else ""
        print(f"  {row['work']}: service {s['cpu_ms']:.3f} ms{wrk}; in-process one at a time {p['cpu_ms']:.3f} ms, "
              f"batched {b['cpu_ms']:.3f} ms; overhead {(s['cpu_ms'] - b['cpu_ms']) / s['cpu_ms']:.0%} of the service's CPU")


if __name__ == "__main__":
    sys.exit(main())
