"""Opening a cluster (``--cluster local|tcp://HOST:PORT|tls://HOST:PORT``) and naming it in provenance.

Dask's wire protocol unpickles what it receives: whoever can reach a scheduler or a worker can run
code on it. So an address outside loopback is refused over plain ``tcp://`` unless the caller
says it accepts that (``allow_insecure=True``, ``--allow-insecure-cluster``: a private network
of trusted machines); ``tls://`` with certificates (Dask's ``Security``) is the way across
machines. ``local`` starts a ``LocalCluster`` on 127.0.0.1 with ``jobs`` worker processes of one
thread each (one thread: the native core and the decoders already release the GIL, and one
thread per process keeps a crash or a time limit to one file).

>>> from ocsea_match import hash_files
>>> with connect("local", jobs=1) as cluster:
...     records = list(hash_files(["seized/gradient.png"], ["pdq"], executor=cluster))
>>> [r["status"] for r in records]
['ok']
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from ..parallel import usable_jobs
from .pathmap import PathMap
from .shards import Cluster

__all__ = ["ClusterError", "check_address", "compare_versions", "connect", "describe_cluster", "environment_versions"]

#: Packages whose versions decide a record's bytes; every worker must have the client's.
_PACKAGES = ("ocsea-match", "numpy", "scipy", "pillow", "opencv-python-headless", "av", "faiss-cpu",
             "dask", "distributed")

#: Dask re-runs a task whose worker died this many times before it fails it (``KilledWorker``). The
#: map re-runs a failed shard itself, split, and an item alone once more as the only suspect, so
#: nothing is lost at 0, and a poison file costs 3 worker restarts instead of Dask's default 4 per try.
ALLOWED_FAILURES = 0


class ClusterError(RuntimeError):
    """The cluster cannot be used: refused address, no Dask, no workers, versions that differ."""


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def check_address(address: str, *, allow_insecure: bool = False) -> str:
    """The scheduler address if it may be used; ``ClusterError`` otherwise.

    >>> check_address("tcp://127.0.0.1:8786")
    'tcp://127.0.0.1:8786'
    """
    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or parts.port is None:
        raise ClusterError(f"--cluster wants 'local', tcp://HOST:PORT or tls://HOST:PORT; got {address!r}")
    if parts.scheme == "tcp" and not _is_loopback(parts.hostname) and not allow_insecure:
        raise ClusterError(
            f"refusing {address}: plain tcp:// to another machine lets anyone on the network run code on the "
            "scheduler, the workers and this machine (Dask's messages are unpickled); use tls:// with "
            "certificates, or --allow-insecure-cluster on a network you trust entirely")
    return address


def _needs_dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError("--cluster needs Dask: pip install 'ocsea-match[dask]'") from None
    return distributed


@contextlib.contextmanager
def connect(
    address: str,
    *,
    jobs: int = 2,
    allow_insecure: bool = False,
    security: Any = None,
    path_map: PathMap | None = None,
    files_per_shard: int = 32,
    bytes_per_shard: int = 64 << 20,
    timeout: float = 60,
) -> Iterator[Cluster]:
    """A ``Cluster`` for ``address`` (``local``, ``tcp://...``, ``tls://...``), closed on leaving.

    ``local`` starts a ``LocalCluster`` of ``jobs`` one-thread worker processes on 127.0.0.1 (at
    most the CPU count, as ``--jobs`` everywhere; no dashboard); otherwise the client connects to a running scheduler and waits up to ``timeout``
    seconds for a worker. ``security``: a ``distributed.Security`` (TLS certificates) for ``tls://``.
    """
    distributed = _needs_dask()
    import dask

    local = None
    # one task at a time on a one-thread worker: a worker's death is blamed on the file it was on,
    # not also on a task queued behind it (Dask counts both as suspects)
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.scheduler.worker-saturation": 1.0}):
        if address == "local":
            local = distributed.LocalCluster(
                n_workers=usable_jobs(jobs), threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, protocol="tcp://", silence_logs=int(os.environ.get("OCSEA_DASK_LOG", "50")),
            )
            client = distributed.Client(local, set_as_default=False)
            shown = local.scheduler_address
        else:
            check_address(address, allow_insecure=allow_insecure)
            try:
                client = distributed.Client(address, security=security, timeout=timeout, set_as_default=False)
            except OSError as exc:
                raise ClusterError(f"cannot reach the scheduler at {address}: {exc}") from None
            shown = address
    keeper = threading.Event()
    if local is not None:  # a nanny that failed to restart its worker (a loaded machine) is replaced
        threading.Thread(target=_keep_workers, args=(local, usable_jobs(jobs, say=False), keeper),
                         name="ocsea-keep-workers", daemon=True).start()
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception:  # noqa: BLE001 - dask's TimeoutError differs between versions
            raise ClusterError(f"no worker joined the scheduler at {shown} within {timeout:.0f} s") from None
        yield Cluster(client, path_map=path_map or PathMap(), files_per_shard=files_per_shard,
                      bytes_per_shard=bytes_per_shard, address=shown)
    finally:
        keeper.set()
        client.close()
        if local is not None:
            local.close()


def _keep_workers(local: Any, n: int, stop: threading.Event) -> None:
    """Every 2 s, bring a local cluster back to ``n`` workers: a worker killed by a poison file is
    restarted by its nanny, but a nanny whose restart failed (slow start on a loaded machine) is
    dropped, and without this a local cluster could end with no worker and a scan wait forever."""
    while not stop.wait(2):
        try:
            if len(local.workers) < n:
                local.scale(n)
        except Exception:  # noqa: BLE001, S112 - closing, or a transient failure: try again next time
            continue


def environment_versions() -> dict[str, str]:
    """The versions that decide a record's bytes in this process (Python, the packages above).

    >>> environment_versions()["python"] == sys.version.split()[0]
    True
    """
    from importlib import metadata

    versions = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def compare_versions(mine: dict[str, str], theirs: dict[str, dict[str, str]]) -> None:
    """``ClusterError`` when a worker's versions (``{address: versions}``) differ from ``mine``.

    >>> compare_versions({"numpy": "2.0"}, {"tcp://127.0.0.1:1": {"numpy": "2.0"}})
    """
    for address, versions in sorted(theirs.items()):
        differ = {k: (mine.get(k), v) for k, v in versions.items() if mine.get(k) != v}
        if differ:
            said = ", ".join(f"{k} {here} here, {there} there" for k, (here, there) in sorted(differ.items()))
            raise ClusterError(f"worker {address} differs from this machine ({said}): the records would not be "
                               "what one machine makes; install the same versions everywhere")


def describe_cluster(executor: Any) -> dict[str, Any]:
    """What the provenance says of the cluster: scheduler, workers, the versions on each.

    Raises ``ClusterError`` when a worker's versions differ from this process's: the records must
    be those one machine would make.
    """
    cluster = Cluster.of(executor)
    if not cluster.is_dask:
        return {"executor": f"{type(cluster.executor).__module__}.{type(cluster.executor).__qualname__}",
                "threads": cluster.threads()}
    client = cluster.executor
    mine = environment_versions()
    try:
        theirs = client.run(environment_versions)
    except Exception as exc:  # noqa: BLE001 - e.g. a worker without ocsea-match: its import fails there
        raise ClusterError(f"the workers cannot run ocsea-match ({type(exc).__name__}: {exc}); install the same "
                           "versions on every worker") from None
    if not theirs:
        raise ClusterError("the cluster has no worker")
    info = client.scheduler_info()
    workers = []
    compare_versions(mine, theirs)
    for address in sorted(theirs):
        worker = info.get("workers", {}).get(address, {})
        workers.append({"address": address, "host": worker.get("host"), "threads": worker.get("nthreads"),
                        "memory_limit": worker.get("memory_limit")})
    return {"scheduler": cluster.address or info.get("address"), "workers": workers, "versions": mine,
            "files_per_shard": cluster.files_per_shard, "bytes_per_shard": cluster.bytes_per_shard,
            "path_map": [list(p) for p in cluster.path_map.pairs]}
