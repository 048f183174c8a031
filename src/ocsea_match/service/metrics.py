"""Prometheus metrics of one app (its own registry, so several apps can live in one process).

>>> m = Metrics()
>>> m.observe("/v1/match-hashes", 200, 0.002)
>>> b"ocsea_requests_total" in m.render()
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["Metrics", "CONTENT_TYPE"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Requests by endpoint and status, latency, matches by list, index entries, decoders busy."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("ocsea_requests", "HTTP requests answered", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("ocsea_request_seconds", "time to answer a request", ["endpoint"],
                                 buckets=_BUCKETS, registry=self.registry)
        self.matches = Counter("ocsea_matches", "matches answered, by list", ["list"], registry=self.registry)
        self.entries = Gauge("ocsea_index_entries", "entries loaded, by list", ["list"], registry=self.registry)
        self.decoding = Gauge("ocsea_decodes_in_flight", "uploads being decoded", registry=self.registry)
        self.batch = Histogram("ocsea_lookup_batch_size", "hash-only lookups answered by one index call",
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry)
        self.reloads = Counter("ocsea_reloads", "index reloads, by outcome", ["outcome"], registry=self.registry)
        # labelled children, looked up once (``labels()`` takes a lock and builds a key each call)
        self._answered: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._matched: dict[str, Any] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        children = self._answered.get((endpoint, status))
        if children is None:
            children = self._answered[endpoint, status] = (self.requests.labels(endpoint, str(status)),
                                                            self.latency.labels(endpoint))
        children[0].inc()
        children[1].observe(seconds)

    def count_matches(self, matches: Iterable[Mapping[str, Any]]) -> None:
        for m in matches:
            name = str(m.get("list"))
            child = self._matched.get(name)
            if child is None:
                child = self._matched[name] = self.matches.labels(name)
            child.inc()

    def set_entries(self, lists: Iterable[Mapping[str, Any]]) -> None:
        self.entries.clear()
        for item in lists:
            self.entries.labels(str(item["name"])).set(item.get("entries") or 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
