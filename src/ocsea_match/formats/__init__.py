"""Hash-list readers: known-material lists in the formats hotlines and examiners receive.

The format is recognised from the content, never from the file name. Every line or record that
cannot be used is reported with its number and the reason in a ``LoadReport``; ``strict=True``
turns any such problem into an error. Nothing is dropped silently: a list with no usable entry is
refused (``EmptyListError``, with the report), and whatever a file holds, reading it raises
nothing but ``ListError``.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "known_list.txt"
>>> _ = path.write_text("ab" * 32 + "\\n" + "cd" * 32 + "\\noops\\n")
>>> hash_list, report = load_list(path)
>>> report.loaded, report.problems[:1]
(2, [(3, "not a 64-character PDQ hash: 'oops'")])

Readers so far: PDQ lists (one hex hash per line, or CSV with a hash column), md5sum / sha1sum /
sha256sum text, hashdeep, NIST NSRL RDSv3 SQLite (known-good), Project VIC VICS JSON 1.x and
2.0 (and a VICS 2.0 writer), and this project's own JSONL records.
"""

from __future__ import annotations

from .convert import ConversionReport, convert_list
from .model import EmptyListError, HashList, ListEntry, ListError, LoadReport
from .readers import detect_format, load_list, read_list_text
from .vics import dump_vics
from .writers import WRITERS, dump_list

__all__ = [
    "ConversionReport", "EmptyListError", "HashList", "ListEntry", "ListError", "LoadReport", "WRITERS", "convert_list",
    "detect_format", "dump_list", "dump_vics", "load_list", "read_list_text",
]
