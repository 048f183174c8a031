"""The record writers of ``ocsea-match hash`` and ``match`` besides JSON lines (``paths.json_line``):
CSV and the terminal table. Names follow ``paths``: always valid UTF-8, a table line never broken
by a newline in a name.

>>> import sys
>>> TableWriter(sys.stdout).write({"path": "a\\nb.jpg", "status": "ok"})
-      a\\x0ab.jpg
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from .paths import one_line, printable
from .records import RECORD_CSV_COLUMNS as _CSV_BASE

__all__ = ["CsvWriter", "TableWriter"]



class CsvWriter:
    """``--format csv``: one row per record; a video's frames as JSON in ``frames``."""

    def __init__(self, out: IO[str], algorithms: tuple[str, ...], with_matches: bool = False) -> None:
        columns = list(_CSV_BASE)
        for name in algorithms:
            columns.append(name)
            if name == "pdq":
                columns.append("pdq_quality")
        columns.append("frames")  # a video's sampled frames, as JSON (see README)
        if with_matches:
            columns += ["match_count", "matches"]
        self._columns = columns
        self._writer = csv.writer(out, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, record: dict[str, Any]) -> None:
        row: dict[str, Any] = {k: record.get(k) for k in _CSV_BASE}
        error = record.get("error") or {}
        row["error_code"] = error.get("code")
        row["error_message"] = error.get("message")
        row["truncated"] = "true" if record.get("truncated") else ""
        for name, value in record.get("hashes", {}).items():
            row[name] = value["hex"]
            if name == "pdq":
                row["pdq_quality"] = value.get("quality")
        if record.get("frames"):
            row["frames"] = json.dumps(record["frames"], separators=(",", ":"))
        if "matches" in record:
            row["match_count"] = len(record["matches"])
            row["matches"] = ";".join(
                f"{m['list']}:{m['entry_id']}:{m['algorithm']}:{m['distance']}" for m in record["matches"]
            )
        self._writer.writerow(["" if row.get(c) is None else printable(row[c]) for c in self._columns])


class TableWriter:
    """One line per file for a person at a terminal: status, then the matches."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def write(self, record: dict[str, Any]) -> None:
        if record.get("matches"):
            found = ", ".join(
                f"{m['list']}/{m['entry_id']} ({m['algorithm']} {m['distance']}"
                + (f", category {m['category']}" if m.get("category") else "") + ")"
                for m in record["matches"]
            )
            line = f"MATCH  {one_line(record['path'])}  {one_line(found)}"
        elif record["status"] == "ok":
            line = f"-      {one_line(record['path'])}"
        else:
            line = f"{record['status'].upper():6} {one_line(record['path'])}  {(record.get('error') or {}).get('code', '')}"
        self._out.write(line + "\n")
