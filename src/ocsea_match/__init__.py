"""ocsea_match: perceptual hashing and known-material matching for hotlines and examiners.

>>> import ocsea_match
>>> record = ocsea_match.hash_file("seized/gradient.png", ["pdq", "phash"])  # never raises
>>> record["status"], sorted(record["hashes"])
('ok', ['pdq', 'phash'])
>>> from PIL import Image
>>> hashes = ocsea_match.hash_image(Image.open("seized/gradient.png"), algorithms=("pdq",))
>>> hashes["pdq"].hex == record["hashes"]["pdq"]["hex"]
True

The public API is what this module exports; everything else is private.

The package face is lazy (PEP 562): ``import ocsea_match`` loads nothing but this file, and a
name is imported from its module the first time it is asked for, so ``ocsea_match.Hash`` costs
NumPy and the native core, not FAISS, PyAV, OpenCV or SciPy. ``__all__`` and ``dir()`` list every
public name; type checkers read the same imports under ``TYPE_CHECKING`` below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module (relative to this package) that defines it; one row per name
_SOURCES: dict[str, str] = {
    "DEFAULT_MAX_PIXELS": "decode",
    "sniff": "decode",
    "ERROR_CODES": "errors",
    "MediaError": "errors",
    "hash_bytes": "files",
    "hash_file": "files",
    "hash_files": "batch",
    "ALGORITHMS": "hashers",
    "DEFAULT_ALGORITHMS": "hashers",
    "hash_image": "hashers",
    "pdq_dihedral": "hashers",
    "ConversionReport": "formats",
    "EmptyListError": "formats",
    "HashList": "formats",
    "ListEntry": "formats",
    "ListError": "formats",
    "LoadReport": "formats",
    "convert_list": "formats",
    "load_list": "formats",
    "HASH_BITS": "hashes",
    "Hash": "hashes",
    "hamming_many_to_many": "hashes",
    "hamming_one_to_many": "hashes",
    "pack_hashes": "hashes",
    "HashIndex": "index",
    "IndexFileError": "index",
    "write_report": "report",
    "ArchiveLimits": "scanning",
    "ScanError": "scanning",
    "run_scan": "scanning",
    "scan": "scanning",
    "VideoFrame": "video",
    "VideoHashes": "video",
    "hash_video": "video",
    "TMK": "tmk",
    "hash_video_tmk": "tmk",
    "hash_video_with_tmk": "tmk",
    "load_tmk": "tmk",
    "HashOptions": "options",
    "ScanSettings": "options",
    "FileRecord": "records",
    "Match": "matches",
    "ALGORITHM_INFO": "algorithms",
    "AlgorithmInfo": "algorithms",
    "parse_hex": "algorithms",
}

# public submodules: ``ocsea_match.robust.list_hashes(...)`` (README, "Robust matching"),
# ``ocsea_match.cluster.connect("local")`` (README, "Past one machine"; Dask only when used)
_SUBMODULES = ("cluster", "robust")

# the public names, spelled out for readers and static tools (tests/test_lazy_import.py checks
# that it is exactly _SOURCES, _SUBMODULES and __version__)
__all__ = [
    "ALGORITHMS",
    "ALGORITHM_INFO",
    "AlgorithmInfo",
    "ArchiveLimits",
    "ConversionReport",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_MAX_PIXELS",
    "ERROR_CODES",
    "EmptyListError",
    "FileRecord",
    "HASH_BITS",
    "Hash",
    "HashIndex",
    "HashList",
    "HashOptions",
    "IndexFileError",
    "ListEntry",
    "ListError",
    "LoadReport",
    "Match",
    "MediaError",
    "ScanError",
    "ScanSettings",
    "TMK",
    "VideoFrame",
    "VideoHashes",
    "__version__",
    "cluster",
    "convert_list",
    "hamming_many_to_many",
    "hamming_one_to_many",
    "hash_bytes",
    "hash_file",
    "hash_files",
    "hash_image",
    "hash_video",
    "hash_video_tmk",
    "hash_video_with_tmk",
    "load_list",
    "load_tmk",
    "pack_hashes",
    "parse_hex",
    "pdq_dihedral",
    "robust",
    "run_scan",
    "scan",
    "sniff",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use and keep it here (PEP 562)."""
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _SOURCES:
        value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Every public name, loaded or not, and what the module already holds."""
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what a type checker sees: the same names, imported eagerly
    from . import cluster, robust
    from .algorithms import ALGORITHM_INFO, AlgorithmInfo, parse_hex
    from .batch import hash_files
    from .decode import DEFAULT_MAX_PIXELS, sniff
    from .errors import ERROR_CODES, MediaError
    from .files import hash_bytes, hash_file
    from .formats import (
        ConversionReport,
        EmptyListError,
        HashList,
        ListEntry,
        ListError,
        LoadReport,
        convert_list,
        load_list,
    )
    from .hashers import ALGORITHMS, DEFAULT_ALGORITHMS, hash_image, pdq_dihedral
    from .hashes import HASH_BITS, Hash, hamming_many_to_many, hamming_one_to_many, pack_hashes
    from .index import HashIndex, IndexFileError
    from .matches import Match
    from .options import HashOptions, ScanSettings
    from .records import FileRecord
    from .report import write_report
    from .scanning import ArchiveLimits, ScanError, run_scan, scan
    from .tmk import TMK, hash_video_tmk, hash_video_with_tmk, load_tmk
    from .video import VideoFrame, VideoHashes, hash_video
