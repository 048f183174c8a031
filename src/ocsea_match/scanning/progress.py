"""Progress of a scan: a tqdm bar on a terminal, a log line every few seconds otherwise.

tqdm is small, well kept and already what examiners see in most Python tools; it gives rate and
ETA by bytes, which is what a seized disk's remaining time depends on.

>>> import io
>>> out = io.StringIO()
>>> bar = Progress("log", total_files=10, total_bytes=1000, out=out)
>>> bar.update([{"size": 100, "status": "ok", "matches": []}])  # one walked file's records
>>> bar.close(); out.getvalue().split(",")[0]
'ocsea-match scan: 1/10 files'
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

__all__ = ["Progress"]


class Progress:
    """``style``: ``auto`` (bar when standard error is a terminal, else log), ``bar``, ``log``, ``none``."""

    def __init__(self, style: str, total_files: int, total_bytes: int, *, out: IO[str] | None = None,
                 every_seconds: float = 10.0) -> None:
        self.out = out or sys.stderr
        if style == "auto":
            style = "bar" if self.out.isatty() else "log"
        if style not in ("bar", "log", "none"):
            raise ValueError(f"progress must be auto, bar, log or none, not {style!r}")
        self.style = style
        self.total_files, self.total_bytes = total_files, total_bytes
        self.files = self.bytes = self.records = self.matched = self.errors = 0
        self.started = self._last = time.monotonic()
        self.every = every_seconds
        self._bar: Any = None
        if style == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1000, file=self.out,
                             dynamic_ncols=True, desc="scan")

    def update(self, group: list[dict[str, Any]]) -> None:
        """One walked file is done (with its archive members, if any)."""
        size = group[-1].get("size") or 0
        self.files += 1
        self.bytes += size
        self.records += len(group)
        self.matched += sum(bool(r.get("matches")) for r in group)
        self.errors += sum(r["status"] == "error" for r in group)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.files}/{self.total_files} files, {self.matched} matched, {self.errors} errors",
                                      refresh=False)
            self._bar.update(size)
        elif self.style == "log":
            now = time.monotonic()
            if now - self._last >= self.every:
                self._last = now
                self._log(now)

    def _log(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.bytes / elapsed
        eta = (self.total_bytes - self.bytes) / rate if rate else float("nan")
        self.out.write(
            f"ocsea-match scan: {self.files}/{self.total_files} files, {self.bytes / 1e6:.1f}/{self.total_bytes / 1e6:.1f} MB, "
            f"{self.files / elapsed:.1f} files/s, {rate / 1e6:.1f} MB/s, ETA {eta:.0f} s; "
            f"{self.matched} matched, {self.errors} errors\n"
        )
        self.out.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.style == "log":
            self._log(time.monotonic())
