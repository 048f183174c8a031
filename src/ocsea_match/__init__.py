"""ocsea_match: perceptual hashing and known-material matching for hotlines and examiners.

>>> import ocsea_match
>>> record = ocsea_match.hash_file("examples/images/gradient.png", ["pdq", "phash"])  # doctest: +SKIP
>>> hashes = ocsea_match.hash_image(pil_image, algorithms=("pdq",))  # doctest: +SKIP

The public API is what this module exports; everything else is private.
"""

from .decode import DEFAULT_MAX_PIXELS, sniff
from .errors import ERROR_CODES, MediaError
from .files import hash_bytes, hash_file, hash_files
from .hashers import ALGORITHMS, DEFAULT_ALGORITHMS, hash_image, pdq_dihedral
from .formats import ConversionReport, EmptyListError, HashList, ListEntry, ListError, LoadReport, convert_list, load_list
from .hashes import HASH_BITS, Hash, hamming_many_to_many, hamming_one_to_many, pack_hashes
from .index import HashIndex, IndexFileError
from .report import write_report
from .scanning import ArchiveLimits, ScanError, run_scan, scan
from .video import VideoFrame, VideoHashes, hash_video
from .tmk import TMK, hash_video_tmk, hash_video_with_tmk, load_tmk

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "ArchiveLimits",
    "ConversionReport",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_MAX_PIXELS",
    "ERROR_CODES",
    "EmptyListError",
    "HASH_BITS",
    "Hash",
    "TMK",
    "VideoFrame",
    "VideoHashes",
    "HashIndex",
    "HashList",
    "IndexFileError",
    "ListEntry",
    "ListError",
    "ScanError",
    "LoadReport",
    "MediaError",
    "__version__",
    "convert_list",
    "hamming_many_to_many",
    "hamming_one_to_many",
    "hash_bytes",
    "hash_file",
    "hash_files",
    "hash_video",
    "hash_video_tmk",
    "hash_video_with_tmk",
    "hash_image",
    "load_list",
    "load_tmk",
    "pack_hashes",
    "pdq_dihedral",
    "run_scan",
    "scan",
    "sniff",
    "write_report",
]
