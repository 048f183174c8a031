"""The command line's cluster options (issue #18): ``--cluster`` for ``hash``, ``match`` and ``scan``.

    ocsea-match scan SOURCE... -o CASE_DIR --cluster local --jobs 4
    ocsea-match scan SOURCE... -o CASE_DIR --cluster tls://scheduler:8786 --tls-ca ca.pem \\
        --tls-cert client.pem --tls-key client-key.pem [--path-map /mnt/case=/srv/evidence]
    ocsea-match hash PATH... --cluster tcp://127.0.0.1:8786

Without ``--cluster`` nothing here runs and the commands use their process pool as before.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["add_index_options", "add_options", "build_shards", "run"]


def add_options(p: argparse.ArgumentParser) -> None:
    """Add ``--cluster``, ``--allow-insecure-cluster``, ``--path-map``, ``--tls-*`` and ``--shard-files`` to ``p``."""
    g = p.add_argument_group("cluster (Dask; pip install 'ocsea-match[dask]')")
    g.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="hash on a Dask cluster: 'local' (a local cluster of --jobs one-thread worker processes on "
                   "127.0.0.1), tcp://HOST:PORT or tls://HOST:PORT (a running scheduler)")
    g.add_argument("--allow-insecure-cluster", action="store_true",
                   help="allow tcp:// to a scheduler outside this machine (Dask unpickles its messages: anyone on "
                   "that network can run code; use tls:// instead)")
    g.add_argument("--path-map", action="append", default=[], metavar="LOCAL=REMOTE",
                   help="the workers read the evidence under LOCAL at REMOTE (repeatable); records keep LOCAL")
    g.add_argument("--tls-ca", metavar="PEM", help="CA certificate for tls:// (else Dask's configuration)")
    g.add_argument("--tls-cert", metavar="PEM", help="this client's certificate for tls://")
    g.add_argument("--tls-key", metavar="PEM", help="this client's private key for tls://")
    g.add_argument("--shard-files", type=int, default=32, metavar="N",
                   help="files per task sent to a worker (default 32; also at most 64 MB of files a task)")


def _security(args: argparse.Namespace) -> Any:
    if not (args.tls_ca or args.tls_cert or args.tls_key):
        return None
    from distributed import Security

    return Security(tls_ca_file=args.tls_ca, tls_client_cert=args.tls_cert, tls_client_key=args.tls_key,
                    require_encryption=True)


def run(args: argparse.Namespace, command: Callable[[], int]) -> int:
    """``command()`` with ``args.executor`` set: the cluster ``--cluster`` names (opened and closed
    around it), or None. A cluster that cannot be used: the reason on standard error, exit 2."""
    args.executor = None
    if not getattr(args, "cluster", None):
        return command()
    from .cluster import ClusterError, PathMap, connect, describe_cluster

    with contextlib.ExitStack() as stack:
        try:
            path_map = PathMap.parse(args.path_map)
            cluster = stack.enter_context(connect(
                args.cluster, jobs=args.jobs, allow_insecure=args.allow_insecure_cluster, security=_security(args),
                path_map=path_map, files_per_shard=max(1, args.shard_files)))
            describe_cluster(cluster)  # every worker has this machine's versions, or no record is made
        except (ClusterError, ValueError, OSError) as exc:
            print(f"ocsea-match: {exc}", file=sys.stderr)
            return 2
        args.executor = cluster
        return command()


def add_index_options(p: argparse.ArgumentParser) -> None:
    """``index build --shards N``."""
    p.add_argument("--shards", type=int, default=1, metavar="N",
                   help="write N shards (each a saved index: .npy and a manifest) that a cluster's workers load "
                   "one each (ocsea_match.cluster.ShardedIndex); PDQ lists are cut into N parts")


def build_shards(args: argparse.Namespace, print_reports: Callable[[list[Any], bool], None]) -> int:
    """``index build --shards N``: the sharded index written, the load reports printed; the exit code."""
    from .cluster import build_sharded_index
    from .formats import ListError
    from .thresholds import DEFAULT_PDQ_QUALITY_FLOOR

    floor = DEFAULT_PDQ_QUALITY_FLOOR if args.pdq_quality_floor is None else args.pdq_quality_floor
    try:
        reports = build_sharded_index(args.lists, args.output, shards=args.shards, strict=args.strict,
                                      thresholds=dict(args.threshold), pdq_quality_floor=floor)
    except (ListError, ValueError) as exc:
        report = getattr(exc, "report", None)
        if report is not None:
            print_reports([report], False)
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print_reports(reports, False)
    entries = sum(r.loaded for r in reports)
    print(f"ocsea-match: sharded index ({args.shards} shards) of {entries} list entries written to {args.output}",
          file=sys.stderr)
    return 0
