"""The service's limits: sizes, rates, concurrency; a per-key token bucket.

>>> limits = Limits(max_upload_bytes=50 << 20, rate=20.0, decode_workers=2)
>>> bucket = RateLimiter(rate=2.0, burst=2)
>>> bucket.take("analyst-1"), bucket.take("analyst-1"), bucket.take("analyst-1")[0]
((True, 0.0), (True, 0.0), False)
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from ..decode import DEFAULT_MAX_PIXELS
from ..parallel import default_jobs

__all__ = ["Limits", "RateLimiter"]


@dataclass(frozen=True)
class Limits:
    """What one service instance allows.

    - ``max_upload_bytes``: a larger body is refused (413) while it streams in, never buffered whole;
    - ``rate`` / ``burst``: requests per second per key (token bucket; 0 = no limit), 429 past it;
    - ``decode_workers``: worker processes decoding uploads (never the event loop);
      ``decode_queue``: uploads that may wait for a worker before the next is refused (503);
    - ``decode_time_limit``: seconds one upload may keep a worker busy (then the worker is ended
      and the upload answered 422 ``worker-crashed``);
    - ``max_pixels``: pictures declaring more are refused from their header (``decompression-bomb``);
    - ``max_batch``: records in one hash-only request;
    - ``searchers``: search threads (each answers its share of the look-ups that arrived while
      it searched: ``ocsea-match serve`` starts one a core); ``search_threads``: OpenMP threads one
      large batch's search is split over while it runs alone (small batches and small tables use one).
    """

    max_upload_bytes: int = 50 * 1024 * 1024
    rate: float = 0.0
    burst: int = 0
    decode_workers: int = default_jobs()
    decode_queue: int = 16
    decode_time_limit: int = 120
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_batch: int = 1000
    searchers: int = 1
    search_threads: int = 1

    @property
    def bucket_size(self) -> int:
        return self.burst or max(1, int(math.ceil(self.rate)))


class RateLimiter:
    """A token bucket per key: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = float(rate), max(1, int(burst))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> tuple[bool, float]:
        """``(True, 0)`` if the key may go on, else ``(False, seconds until a token is there)``."""
        if self.rate <= 0:
            return True, 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1.0 - tokens) / self.rate
