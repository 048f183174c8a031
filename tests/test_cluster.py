"""The scan, hash and match on a real Dask cluster (issue #18), all on 127.0.0.1, bounded.

A ``LocalCluster`` of 2 one-thread workers gives the same case folder as one machine; a worker
killed mid-scan loses nothing; a poison file is isolated with a ``worker-crashed`` record; the
per-file time limit holds on workers; separately started ``dask scheduler``/``dask worker``
processes serve the CLI, whose client is killed and ``--resume`` finishes the job.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

distributed = pytest.importorskip("distributed", reason="Dask is not installed (pip install 'ocsea-match[dask]')")

from cluster_workers import PoisonAndDelay
from ocsea_match.cluster import (
    Cluster,
    ClusterError,
    PathMap,
    ShardedIndex,
    build_sharded_index,
    check_address,
    compare_versions,
    connect,
    executor_map,
)
from ocsea_match.files import hash_files
from ocsea_match.index import HashIndex, IndexFileError
from ocsea_match.scanning import run_scan, scan

from crashy import crashed, sleepy, square_or_die

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


def _picture(seed: int, fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:128]
    base = np.stack([(x * (seed + 1)) % 256, (y * 3 + seed * 20) % 256, (x + y * seed) % 256], axis=2)
    noisy = (base + rng.integers(0, 30, base.shape)).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pictures, a ZIP of pictures, a text file, an empty file and a link: every kind of record."""
    root = tmp_path_factory.mktemp("evidence") / "seized"
    (root / "sub").mkdir(parents=True)
    for i in range(14):
        (root / ("sub" if i % 3 else "") / f"img{i:02d}.{'png' if i % 2 else 'jpg'}").write_bytes(
            _picture(i, "PNG" if i % 2 else "JPEG"))
    with zipfile.ZipFile(root / "bundle.zip", "w") as z:
        z.writestr("a.png", _picture(40))
        z.writestr("b.jpg", _picture(41, "JPEG"))
    (root / "notes.txt").write_text("nothing to see\n")
    (root / "empty.jpg").write_bytes(b"")
    os.symlink("img00.jpg", root / "link.jpg")
    return root


@pytest.fixture(scope="module")
def known_list(evidence: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PDQ list with two of the pictures on it, so that matches.csv is not empty."""
    records = list(hash_files([evidence / "img00.jpg", evidence / "sub" / "img01.png"], ["pdq"]))
    path = tmp_path_factory.mktemp("lists") / "known_list.csv"
    path.write_text("".join(f"{r['hashes']['pdq']['hex']},{i}\n" for i, r in enumerate(records)))
    return path


@pytest.fixture(scope="module")
def cluster():
    with connect("local", jobs=2, files_per_shard=3) as opened:
        yield opened


@pytest.fixture(scope="module")
def single_case(evidence: Path, known_list: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = tmp_path_factory.mktemp("single") / "case"
    run_scan([evidence], case, lists=[known_list], jobs=1, progress="none", command_line=["scan"])
    return case


def _outputs(case: Path) -> dict[str, object]:
    """A case folder's outputs, less what differs between two runs (times, the run's provenance)."""
    summary = json.loads((case / "summary.json").read_text())
    summary.pop("timings")
    return {name: (case / name).read_bytes() for name in ("records.jsonl", "matches.csv", "hashdeep.txt",
                                                        "case.vics.json")} | {"summary": summary}


def _workers_back(client, n: int = 2) -> None:
    client.wait_for_workers(n, timeout=60)


# ------------------------------------------------------------------------------------- same records


def test_local_cluster_scan_writes_the_single_machine_case(cluster, evidence, known_list, single_case, tmp_path):
    case = tmp_path / "case"
    summary = run_scan([evidence], case, lists=[known_list], executor=cluster, progress="none",
                       command_line=["scan"])
    assert _outputs(case) == _outputs(single_case)
    assert summary["files_matched"] == 2
    run = json.loads((case / "provenance.json").read_text())["runs"][-1]
    assert run["cluster"]["scheduler"].startswith("tcp://127.0.0.1:")
    assert len(run["cluster"]["workers"]) == 2
    assert run["cluster"]["versions"]["distributed"] == distributed.__version__


def test_hash_files_on_a_client_or_an_executor(cluster, evidence):
    paths = sorted(p for p in evidence.rglob("*") if p.is_file() and not p.is_symlink())
    expected = list(hash_files(paths, ["pdq", "phash"]))
    assert list(hash_files(paths, ["pdq", "phash"], executor=cluster.executor)) == expected  # a bare Client
    with ThreadPoolExecutor(2) as pool:
        assert list(hash_files(paths, ["pdq", "phash"], executor=pool)) == expected
    unordered = list(hash_files(paths, ["pdq", "phash"], executor=cluster, ordered=False))
    assert sorted(unordered, key=lambda r: r["path"]) == sorted(expected, key=lambda r: r["path"])


def test_scan_generator_on_the_cluster(cluster, evidence, known_list):
    expected = list(scan([evidence], lists=[known_list]))
    assert list(scan([evidence], lists=[known_list], executor=cluster)) == expected
    assert sum(bool(r["matches"]) for r in expected) == 2


def test_shards_follow_the_byte_bound(evidence):
    """A shard closes at its byte bound too: one file a shard when each is over it."""
    seen: list[int] = []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            seen.append(len(args[1]))
            return super().submit(fn, *args, **kwargs)

    paths = sorted(str(p) for p in evidence.rglob("*.png"))
    with Counting(2) as pool:
        assert len(list(executor_map(os.path.getsize, paths, Cluster(pool, bytes_per_shard=1),
                                     on_crash=crashed))) == len(paths)
        assert seen == [1] * len(paths)
        seen.clear()
        list(executor_map(os.path.getsize, iter(paths), Cluster(pool, files_per_shard=4), on_crash=crashed))
        assert seen[0] == 4 and sum(seen) == len(paths)
        seen.clear()  # a known count: shards shrink towards the end (remaining / twice the threads)
        list(executor_map(os.path.getsize, paths * 4, Cluster(pool, files_per_shard=32), on_crash=crashed))
        assert seen[0] == -(-len(paths) * 4 // 4) and seen[-1] == 1 and sum(seen) == len(paths) * 4
        assert seen == sorted(seen, reverse=True)


# ------------------------------------------------------------------------------------- faults


def test_poison_item_is_isolated_and_the_rest_computed(cluster):
    items = [1, 2, 3, 4, -5, 6, 7]
    out = list(executor_map(square_or_die, items, cluster, on_crash=crashed))
    assert out == [1, 4, 9, 16, "crashed:-5", 36, 49]
    _workers_back(cluster.executor)


def test_file_time_limit_holds_on_workers(cluster):
    out = list(executor_map(sleepy, [0.01, 60.0, 0.02], cluster, on_crash=crashed, file_time_limit=1))
    assert out == [0.01, "crashed:60.0", 0.02]
    _workers_back(cluster.executor)


def test_poison_file_in_a_scan_gets_worker_crashed(cluster, evidence, tmp_path):
    source = tmp_path / "src"
    shutil.copytree(evidence, source, symlinks=True)
    (source / "sub" / "poison.png").write_bytes(_picture(99))
    client = cluster.executor
    client.register_plugin(PoisonAndDelay())
    try:
        summary = run_scan([source], tmp_path / "case", executor=cluster, progress="none")
    finally:
        client.unregister_worker_plugin(PoisonAndDelay.name)
        _workers_back(client)
    records = [json.loads(line) for line in (tmp_path / "case" / "records.jsonl").open()]
    crashed_ones = [r for r in records if r["error"] and r["error"]["code"] == "worker-crashed"]
    assert [Path(r["path"]).name for r in crashed_ones] == ["poison.png"]
    assert summary["files"] == len(records) == 21  # 18 walked + 2 members + the poison file, each once
    (source / "sub" / "poison.png").unlink()  # the rest: exactly what one machine makes of it
    run_scan([source], tmp_path / "single", jobs=1, progress="none")
    single = [json.loads(line) for line in (tmp_path / "single" / "records.jsonl").open()]
    assert [r for r in records if r not in crashed_ones] == single


def test_a_worker_killed_mid_scan_loses_nothing(cluster, evidence, single_case, known_list, tmp_path):
    client = cluster.executor
    client.register_plugin(PoisonAndDelay(delay=0.25))
    pids = list(client.run(os.getpid).values())
    case = tmp_path / "case"

    def kill_one() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # some records written: the scan is under way
            if (case / "records.jsonl").exists() and (case / "records.jsonl").stat().st_size > 0:
                break
            time.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_one)
    killer.start()
    try:
        run_scan([evidence], case, lists=[known_list], executor=cluster, progress="none", command_line=["scan"])
    finally:
        killer.join()
        client.unregister_worker_plugin(PoisonAndDelay.name)
    assert pids[0] not in client.run(os.getpid).values()  # it really died
    assert _outputs(case) == _outputs(single_case)  # same records, none twice, none crashed
    _workers_back(client)


# ------------------------------------------------------------------------------------- a separate cluster, the CLI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler():
    """``dask scheduler`` and ``dask worker`` started as processes of their own, on 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2",
                                   "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        client = distributed.Client(address, timeout=30, set_as_default=False)
        client.wait_for_workers(2, timeout=60)
        yield address, client, env
    finally:
        client.shutdown()  # the scheduler and its workers end themselves
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocsea_match", *args], check=False, env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_scan_on_a_separate_scheduler_then_killed_and_resumed(scheduler, evidence, known_list, single_case,
                                                                  tmp_path):
    address, client, env = scheduler
    case = tmp_path / "case"
    args = ["scan", str(evidence), "--list", str(known_list), "--quiet", "--shard-files", "2"]
    client.register_plugin(PoisonAndDelay(delay=0.3))
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ocsea_match", *args, "-o", str(case), "--cluster", address],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if (case / "records.jsonl").exists() and (case / "records.jsonl").stat().st_size > 0:
                break
            time.sleep(0.05)
        proc.kill()  # the client dies mid-scan (the cluster lives on)
        proc.wait(timeout=10)
        partial = (case / "records.jsonl").read_bytes().count(b"\n")
        assert 0 < partial < 20, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        client.unregister_worker_plugin(PoisonAndDelay.name)
    done = _cli(*args, "-o", str(case), "--cluster", address, "--resume", env=env)
    assert done.returncode == 3, done.stderr
    assert (case / "records.jsonl").read_bytes() == (single_case / "records.jsonl").read_bytes()
    assert (case / "matches.csv").read_bytes() == (single_case / "matches.csv").read_bytes()
    runs = json.loads((case / "provenance.json").read_text())["runs"]
    assert [r["resumed"] for r in runs] == [False, True]
    assert runs[-1]["cluster"]["scheduler"] == address


def test_cli_hash_and_match_on_the_cluster(scheduler, evidence, known_list):
    address, _, env = scheduler
    plain = _cli("hash", str(evidence), "--jobs", "1", "--quiet", env=env)
    on_cluster = _cli("hash", str(evidence), "--cluster", address, "--quiet", env=env)
    assert on_cluster.returncode == plain.returncode, on_cluster.stderr
    assert on_cluster.stdout == plain.stdout and plain.stdout.count("\n") == 18
    matched = _cli("match", str(evidence), "--list", str(known_list), "--cluster", address, "--quiet",
                   "--format", "jsonl", env=env)
    assert matched.returncode == 3, matched.stderr
    assert sum(bool(json.loads(line)["matches"]) for line in matched.stdout.splitlines()) == 2


# ------------------------------------------------------------------------------------- refusals, path map


def test_plain_tcp_outside_loopback_is_refused():
    assert check_address("tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert check_address("tls://10.0.0.5:8786") == "tls://10.0.0.5:8786"
    with pytest.raises(ClusterError, match="unpickled"):
        check_address("tcp://10.0.0.5:8786")
    assert check_address("tcp://10.0.0.5:8786", allow_insecure=True) == "tcp://10.0.0.5:8786"
    with pytest.raises(ClusterError):
        check_address("http://127.0.0.1:8786")
    done = _cli("hash", str(TESTS), "--cluster", "tcp://10.0.0.5:8786", env={**os.environ, "PYTHONPATH": str(SRC)})
    assert done.returncode == 2 and "--allow-insecure-cluster" in done.stderr and not done.stdout


def test_differing_versions_are_refused():
    mine = {"python": "3.11.7", "ocsea-match": "0.1.0", "pillow": "13.0.0"}
    assert compare_versions(mine, {"tcp://a:1": dict(mine)}) is None
    with pytest.raises(ClusterError, match="pillow 13.0.0 here, 12.0.0 there"):
        compare_versions(mine, {"tcp://a:1": dict(mine), "tcp://b:1": {**mine, "pillow": "12.0.0"}})


def test_path_map_reads_remote_and_records_local(evidence, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    shutil.copytree(evidence / "sub", local)
    shutil.copytree(evidence / "sub", remote)
    (remote / "img01.png").write_bytes(_picture(77))  # the worker's copy differs: proves where it read
    paths = sorted(str(p) for p in local.iterdir())
    with ThreadPoolExecutor(2) as pool:
        records = list(hash_files(paths, ["pdq"], executor=Cluster(pool, path_map=PathMap.parse([f"{local}={remote}"]))))
    assert [r["path"] for r in records] == paths
    expected = list(hash_files(sorted(str(p) for p in remote.iterdir()), ["pdq"]))
    assert [r["sha256"] for r in records] == [r["sha256"] for r in expected]
    with pytest.raises(ValueError):
        PathMap.parse(["relative=/x"])


# ------------------------------------------------------------------------------------- sharded index


def test_sharded_index_matches_exactly_as_one_index(cluster, tmp_path):
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    lines = ["hash,id,category,quality"]
    for i, row in enumerate(rows):  # ids repeated across the cut, qualities under the floor, two categories
        lines.append(f"{row.tobytes().hex()},{(i * 7) % 2900},{'a' if i % 3 else 'b'},{30 if i % 50 == 0 else 90}")
    lines.append("not-a-hash,1,a,90")
    known = tmp_path / "known_list.csv"
    known.write_text("\n".join(lines) + "\n")
    other = tmp_path / "other_list.txt"
    other.write_text("".join(f"{r.tobytes().hex()}\n" for r in rows[:40:3]))
    queries = rows[rng.integers(0, len(rows), 300)].copy()
    queries ^= ((rng.integers(0, 256, queries.shape) < 10) * rng.integers(1, 256, queries.shape)).astype(np.uint8)
    records = [{"hashes": {"pdq": {"hex": q.tobytes().hex(), "quality": 100}}} for q in queries]
    single, single_reports = HashIndex.from_lists([known, other])
    done = _cli("index", "build", str(known), str(other), "-o", str(tmp_path / "sharded"), "--shards", "3",
                env={**os.environ, "PYTHONPATH": str(SRC)})
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "sharded").iterdir()) == ["manifest.json", "shard-000", "shard-001",
                                                                        "shard-002"]
    assert not list((tmp_path / "sharded").rglob("*.pkl"))
    reports = build_sharded_index([known, other], tmp_path / "again", shards=3)
    assert [r.to_json() for r in reports] == [r.to_json() for r in single_reports]
    index = ShardedIndex(cluster, tmp_path / "sharded", batch=64)
    expected = single.match_many(records)
    assert sum(map(len, expected)) > 250
    assert index.match_many(records) == expected
    (tmp_path / "sharded" / "shard-001" / "manifest.json").write_text("{}")
    with pytest.raises(IndexFileError):
        ShardedIndex(cluster, tmp_path / "sharded")


def _near_list(known_list: Path, into: Path) -> Path:
    """The known list, near copies of its hashes (a few bits flipped, ids of their own) and random rows."""
    rng = np.random.default_rng(18)
    lines = known_list.read_text().splitlines()
    for i, line in enumerate(list(lines)):
        row = np.frombuffer(bytes.fromhex(line.split(",")[0]), np.uint8).copy()
        for j in range(6):
            near = row.copy()
            near[rng.integers(0, 32, j + 1)] ^= 1
            lines.append(f"{near.tobytes().hex()},near{i}-{j}")
    lines += [f"{rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()},r{k}" for k in range(200)]
    path = into / "known_list.csv"
    path.write_text("hash,id\n" + "\n".join(lines) + "\n")
    return path


def test_match_and_scan_with_a_sharded_index_give_the_unsharded_matches(evidence, known_list, cluster, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    listed = _near_list(known_list, tmp_path)
    for out, extra in (("single", []), ("sharded", ["--shards", "3"])):
        done = _cli("index", "build", str(listed), "-o", str(tmp_path / out), *extra, env=env)
        assert done.returncode == 0, done.stderr
    runs = {}
    for name, args in (("single", ["--index", str(tmp_path / "single")]),
                       ("sharded", ["--index", str(tmp_path / "sharded")]),
                       ("cluster", ["--index", str(tmp_path / "sharded"), "--cluster", "local", "--jobs", "2"])):
        done = _cli("match", str(evidence), *args, "--jobs", "1", env=env) if name != "cluster" else \
            _cli("match", str(evidence), *args, env=env)
        assert done.returncode == 3, done.stderr  # 3: something matched
        runs[name] = sorted((r["path"], json.dumps(r["matches"])) for r in map(json.loads, done.stdout.splitlines()))
    assert sum(len(json.loads(m)) for _, m in runs["single"]) >= 10  # each listed picture and its near copies
    assert runs["sharded"] == runs["single"] and runs["cluster"] == runs["single"]
    cases = {}
    for name, executor in (("single", None), ("sharded", None), ("cluster", cluster)):
        case = tmp_path / f"case-{name}"
        run_scan([evidence], case, index_dir=tmp_path / ("single" if name == "single" else "sharded"), jobs=1,
                 progress="none", command_line=["scan"], executor=executor)
        cases[name] = {f: (case / f).read_bytes() for f in ("records.jsonl", "matches.csv")}
    assert cases["sharded"] == cases["single"] and cases["cluster"] == cases["single"]
    assert cases["single"]["matches.csv"].count(b"near") >= 8
