"""The settings that travel: how to hash a file (``HashOptions``) and how to scan (``ScanSettings``).

Both are frozen plain data, made once by the caller and passed down (to worker processes, the
service's decoding pool, a cluster's tasks) instead of keyword lists. They cross processes as
they are (the process pool pickles its arguments; nothing here is ever loaded with pickle) and
machines as JSON: ``to_dict()`` / ``from_dict()``.

>>> options = HashOptions(("pdq", "phash"), mode="fast", robust="query")
>>> HashOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options
True
>>> ScanSettings(robust=True).hash_options(("pdq",)).robust
'query'
"""

from __future__ import annotations

import dataclasses
import json  # noqa: F401 - the doctest's
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from .decode import DEFAULT_MAX_PIXELS
from .hashers import DEFAULT_ALGORITHMS, check_algorithms
from .picture import draft_for

__all__ = ["DEFAULT_MAX_BYTES", "ArchiveLimits", "HashKeywords", "HashOptions", "ScanSettings"]

#: Files larger than this are hashed (MD5/SHA) but not decoded (``too-large``).
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

_ROBUST = (None, "query", "list", "both")


def _from_dict(cls: Any, data: Mapping[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
    return cls(**data)


class HashKeywords(TypedDict, total=False):
    """``HashOptions``' fields but ``algorithms``, as keywords: what ``hash_file(path, algorithms,
    **keywords)`` and ``hash_bytes`` take instead of ``options=`` (PEP 692 ``Unpack``)."""

    mode: str
    displayed: bool
    max_pixels: int
    max_bytes: int
    every_seconds: float
    robust: str | None
    anchored: bool


@dataclass(frozen=True)
class HashOptions:
    """How ``hash_file`` / ``hash_bytes`` hash one file (checked when made; ``ValueError``).

    ``algorithms``: names of ``hashers.ALGORITHMS`` (and ``tmk`` for videos); ``mode``: ``exact``
    or ``fast``; ``displayed``: also hash a turned picture as a viewer shows it;
    ``max_pixels`` / ``max_bytes``: past them a file is not decoded; ``every_seconds``: a video's
    frame sampling; ``robust``: ``None``, ``query``, ``list`` or ``both`` (robust rows, see
    ``robust.py``), ``anchored``: with them the content-anchored squares.

    >>> HashOptions("pdq").algorithms
    ('pdq',)
    """

    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    mode: str = "exact"
    displayed: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    every_seconds: float = 1.0
    robust: str | None = None
    anchored: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithms", check_algorithms(self.algorithms))
        draft_for(self.mode, self.algorithms)  # checks the mode
        if self.robust not in _ROBUST:
            raise ValueError(f"robust must be None, 'query', 'list' or 'both', got {self.robust!r}")

    @property
    def draft(self) -> tuple[int, int] | None:
        """The smallest size a fast decode may give (``picture.draft_for``)."""
        return draft_for(self.mode, self.algorithms)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        out = dataclasses.asdict(self)
        out["algorithms"] = list(self.algorithms)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HashOptions:
        """The options ``to_dict`` gave (checked again; unknown fields are an error)."""
        return _from_dict(cls, {**data, "algorithms": tuple(data.get("algorithms", DEFAULT_ALGORITHMS))})


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds for one archive on disk, nested archives included."""

    max_members: int = 100_000
    max_total_bytes: int = 8 * 1024**3  # uncompressed, summed over all members read
    max_ratio: float = 200.0  # uncompressed / compressed, for members over ``ratio_from_bytes``
    ratio_from_bytes: int = 1024 * 1024
    max_member_bytes: int = 512 * 1024 * 1024  # larger members get digests only (streamed)
    max_depth: int = 3


@dataclass(frozen=True)
class ScanSettings:
    """How ``scan`` / ``run_scan`` hash what they walk (what to scan, the lists and the case folder
    are their arguments).

    ``algorithms``: None for the default and the lists' own; ``dialects``: add the PDQ dialects
    when a list has PDQ; ``robust``: pictures also get robust query rows (``anchored``: with the
    content-anchored squares); ``limits``: the ZIP bounds; ``jobs``: worker processes.

    >>> ScanSettings.from_dict(ScanSettings(jobs=2).to_dict()).jobs
    2
    """

    algorithms: tuple[str, ...] | None = None
    jobs: int = 1
    mode: str = "fast"
    dialects: bool = True
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    max_bytes: int = DEFAULT_MAX_BYTES
    robust: bool = False
    anchored: bool = False

    def __post_init__(self) -> None:
        if self.algorithms is not None:
            object.__setattr__(self, "algorithms", tuple(self.algorithms) or None)
            if self.algorithms:
                check_algorithms(self.algorithms)
        draft_for(self.mode, ())  # checks the mode
        if isinstance(self.limits, Mapping):  # from JSON
            object.__setattr__(self, "limits", _from_dict(ArchiveLimits, self.limits))

    def hash_options(self, algorithms: Iterable[str]) -> HashOptions:
        """What each walked file is hashed with, once the algorithms are settled."""
        return HashOptions(tuple(algorithms), mode=self.mode, max_bytes=self.max_bytes,
                           robust="query" if self.robust else None, anchored=self.robust and self.anchored)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        out = dataclasses.asdict(self)
        out["algorithms"] = None if self.algorithms is None else list(self.algorithms)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanSettings:
        """The settings ``to_dict`` gave (checked again; unknown fields are an error)."""
        return _from_dict(cls, data)
