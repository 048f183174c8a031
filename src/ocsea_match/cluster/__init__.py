"""Past one machine: hash, match and scan on a Dask cluster, with the same records (issue #18).

``executor_map`` is the cluster's counterpart of ``parallel.process_map``: files go out in shards,
records come back in input order, a killed worker loses nothing and a file that kills every worker
it lands on is isolated and gets a ``worker-crashed`` record. ``connect`` opens a cluster
(``local``, ``tcp://``, ``tls://``); ``describe_cluster`` names it in a case's provenance;
``PathMap`` maps the client's evidence paths to the workers'. Dask is imported only when a
cluster is opened (``pip install 'ocsea-match[dask]'``).

Any ``concurrent.futures.Executor`` stands in for a cluster (here threads, as a test would):

>>> from concurrent.futures import ThreadPoolExecutor
>>> from ocsea_match import scan
>>> with ThreadPoolExecutor(2) as pool:
...     found = [(r["path"].rsplit("/", 1)[-1], r["status"]) for r in scan(["seized"], executor=pool)]
>>> found
[('gradient.png', 'ok')]
"""

from .connect import (
    ClusterError,
    check_address,
    compare_versions,
    connect,
    describe_cluster,
    environment_versions,
)
from .index_shards import (
    ShardedIndex,
    build_sharded_index,
    is_sharded_index,
    merge_matches,
)
from .pathmap import PathMap
from .sharded_search import ShardSet, open_any_index
from .shards import Cluster, executor_map, run_shard

__all__ = [
    "Cluster",
    "ClusterError",
    "PathMap",
    "ShardSet",
    "ShardedIndex",
    "build_sharded_index",
    "check_address",
    "compare_versions",
    "connect",
    "describe_cluster",
    "environment_versions",
    "executor_map",
    "is_sharded_index",
    "merge_matches",
    "open_any_index",
    "run_shard",
]
