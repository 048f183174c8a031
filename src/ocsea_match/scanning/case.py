"""The case folder's outputs, all made from records.jsonl when a scan finishes.

``matches.csv`` (one row per match), ``summary.json`` (counts that add up to the records),
``case.vics.json`` (VICS 2.0 ``#Cases``: one Media per distinct content, its MediaFiles, the
category of the closest list entry), ``hashdeep.txt`` (hashdeep 1.0 ``size,md5,sha256,filename``),
``provenance.json`` (written by the scan itself), ``SHA256SUMS`` of every output file and, last,
``report.html`` (the case report, made from those files; added to ``SHA256SUMS``).

>>> summary = summarize([{"path": "a.jpg", "status": "ok", "size": 3, "media_type": "image", "matches": []}])
>>> summary["files"], summary["by_status"], summary["adds_up"]
(1, {'ok': 1}, True)
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..files import file_sha256
from ..paths import NAMES_ESCAPED, escape_name, one_line, printable
from ..records import MATCH_CSV_COLUMNS, MATCH_CSV_FILE_COLUMNS
from .journal import read_records

__all__ = ["OUTPUT_FILES", "ScanError", "case_writes", "check_case_folder", "write_outputs", "summarize", "vics_cases"]

RECORDS = "records.jsonl"
MATCHES = "matches.csv"
SUMMARY = "summary.json"
VICS = "case.vics.json"
HASHDEEP = "hashdeep.txt"
PROVENANCE = "provenance.json"
SUMS = "SHA256SUMS"
REPORT = "report.html"  # the case report (ocsea_match.report), listed in SHA256SUMS with its split pages
OUTPUT_FILES = (RECORDS, MATCHES, SUMMARY, VICS, HASHDEEP, PROVENANCE, SUMS)



class ScanError(RuntimeError):
    """The scan cannot run: a source that does not exist, a case folder that cannot be created or
    written, or is not a case, an unreadable list, a resume with other settings."""


def check_case_folder(case: Path, roots: Sequence[str], resume: bool) -> None:
    """Refuse, before anything is written, what cannot make a sound case (``ScanError``)."""
    from .walk import is_inside

    for root in roots:
        try:
            os.stat(root)
        except FileNotFoundError:
            raise ScanError(f"{root}: no such file or folder (nothing was written)") from None
        except OSError:
            pass  # it exists; the walk records why it cannot be read
    if is_inside(str(case), [r for r in roots if os.path.isdir(r)]):
        raise ScanError(f"{case}: the case folder is inside a source; nothing may be written inside the evidence")
    if resume:
        if not (case / PROVENANCE).is_file():
            raise ScanError(f"{case}: nothing to resume (no {PROVENANCE})")
        return
    if case.exists() or case.is_symlink():
        if not case.is_dir():
            raise ScanError(f"{case}: exists and is not a folder")
        if (case / RECORDS).exists() or (case / PROVENANCE).exists():
            raise ScanError(f"{case} holds a scan already: --resume to finish it, or choose another folder")
        try:
            if any(case.iterdir()):
                raise ScanError(f"{case}: a folder that is neither empty nor a case; choose a new or empty folder")
        except OSError as exc:
            raise ScanError(f"{case}: cannot read the case folder: {exc.strerror or exc}") from None


@contextlib.contextmanager
def case_writes(case: Path) -> Iterator[None]:
    """The first writes into the case folder: an ``OSError`` (cannot create it, read-only, a
    regular file on the way) becomes ``ScanError``, and the folders made here are removed again."""
    made = None  # the outermost folder this scan creates
    for folder in (case, *case.parents):
        if folder.exists() or folder.is_symlink():
            break
        made = folder
    try:
        yield
    except OSError as exc:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        where = exc.filename or case
        raise ScanError(f"cannot write the case folder ({where}): {exc.strerror or exc}") from None




def summarize(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts by status, media type, error/skip code and list; every count sums to ``files``."""
    files = walked = members = size = unread = matched = mismatched = truncated = 0
    by_status: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_code: Counter[str] = Counter()
    by_list: Counter[str] = Counter()
    for r in records:
        files += 1
        if "container_file" in r:
            members += 1
        else:
            walked += 1
        by_status[r["status"]] += 1
        by_type[r.get("media_type") or "unknown"] += 1
        if r.get("error"):
            by_code[f"{r['status']}:{r['error']['code']}"] += 1
        size += r.get("size") or 0
        unread += (r.get("declared_size") or 0) if r.get("size") is None else 0
        if r.get("matches"):
            matched += 1
            for name in sorted({m["list"] for m in r["matches"]}):
                by_list[name] += 1
        mismatched += bool(r.get("name_mismatch"))
        truncated += bool(r.get("truncated"))
    return {
        "files": files,
        "walked": walked,
        "archive_members": members,
        "bytes": size,  # bytes read and digested
        "bytes_declared_not_read": unread,  # what unread archive members claim (a bomb's are not read)
        "by_status": dict(sorted(by_status.items())),
        "by_media_type": dict(sorted(by_type.items())),
        "by_reason": dict(sorted(by_code.items())),
        "files_matched": matched,
        "files_matched_by_list": dict(sorted(by_list.items())),
        "name_mismatches": mismatched,
        "truncated_pictures": truncated,
        "adds_up": sum(by_status.values()) == files == walked + members,
    }


def vics_cases(records: Iterable[dict[str, Any]], case_id: str) -> dict[str, Any]:
    """A VICS 2.0 ``#Cases`` document: one Media per distinct SHA-1 of a picture or video."""
    from ..formats.vics import CONTEXT_CASES_V4, category_value  # here: a scan's workers need no list format

    media: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.get("media_type") not in ("image", "video") or not r.get("sha1"):
            continue
        item = media.get(r["sha1"])
        if item is None:
            item = media[r["sha1"]] = {
                "MediaID": len(media) + 1,
                "MD5": r["md5"].upper(),
                "SHA1": r["sha1"].upper(),
                "Category": None,
                "MediaSize": r.get("size"),
                "MediaFiles": [],
            }
            alternatives = [{"HashName": "SHA256", "HashValue": r["sha256"]}]
            for name, value in sorted((r.get("hashes") or {}).items()):
                alternatives.append({"HashName": name.upper(), "HashValue": value["hex"]})
            item["AlternativeHashes"] = alternatives
        if r.get("matches") and item["Category"] is None:
            closest = r["matches"][0]
            item["Category"] = category_value(closest.get("category"))
            item["Comments"] = f"matched {closest['list']}/{closest['entry_id']} by {closest['algorithm']} at {closest['distance']}"
        item["MediaFiles"].append(_media_file(r))
    return {"@odata.context": CONTEXT_CASES_V4,
            "value": [{"CaseNumber": case_id, "SourceApplicationName": "ocsea-match", "Media": list(media.values())}]}


def _media_file(record: dict[str, Any]) -> dict[str, Any]:
    folder, name = os.path.split(record["path"])  # an archive member: "a.zip!/dir", "x.jpg"
    return {"FileName": name, "FilePath": folder, "FileSize": record.get("size")}


def _write_matches(records: Iterable[dict[str, Any]], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(MATCH_CSV_COLUMNS)
        for r in records:
            for m in r.get("matches") or ():
                row = {**{k: r.get(k) for k in MATCH_CSV_COLUMNS[:MATCH_CSV_FILE_COLUMNS]}, **m}
                if "timestamps" in m:  # a video's: query times (and listed times) as JSON
                    row["timestamps"] = json.dumps(m["timestamps"])
                writer.writerow(["" if row.get(c) is None else row[c] for c in MATCH_CSV_COLUMNS])


def _write_hashdeep(records: Iterable[dict[str, Any]], path: Path, provenance: dict[str, Any]) -> None:
    """hashdeep 1.0; in names, control characters (a newline ...), bytes that are not UTF-8 and the
    backslash are written ``\\xNN`` (``paths.escape_name``), as a ``## Names:`` line says, so that
    every line parses back."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n")
        f.write(f"## Invoked from: {one_line(provenance.get('working_directory', ''))}\n")
        f.write(f"## $ {one_line(provenance.get('command_line', ''))}\n{NAMES_ESCAPED}\n##\n")
        for r in records:
            if r.get("md5") and r.get("sha256"):
                name = bytes.fromhex(r["path_hex"]) if r.get("path_hex") else r["path"]
                f.write(f"{r['size']},{r['md5']},{r['sha256']},{escape_name(name)}\n")  # one line, reads back


def write_outputs(case_dir: Path, provenance: dict[str, Any], timings: dict[str, Any]) -> dict[str, Any]:
    """Write every output from ``records.jsonl``; returns the summary."""
    records = case_dir / RECORDS

    def each() -> Iterable[dict[str, Any]]:
        return read_records(records)

    summary = summarize(each())
    summary["timings"] = timings
    summary["provenance"] = PROVENANCE
    _write_matches(each(), case_dir / MATCHES)
    _write_hashdeep(each(), case_dir / HASHDEEP, provenance)
    case_id = str(provenance.get("case_id") or case_dir.name)
    (case_dir / VICS).write_text(json.dumps(vics_cases(each(), case_id), ensure_ascii=False, indent=1), encoding="utf-8")
    (case_dir / SUMMARY).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    (case_dir / PROVENANCE).write_text(json.dumps(printable(provenance), ensure_ascii=False, indent=1), encoding="utf-8")
    sums = "".join(f"{file_sha256(case_dir / name)}  {name}\n" for name in OUTPUT_FILES if name != SUMS)
    (case_dir / SUMS).write_text(sums, encoding="utf-8")
    from ..report import sha256_lines, write_report  # report.html (and report-files/) from the files above

    with open(case_dir / SUMS, "a", encoding="utf-8") as f:
        f.write(sha256_lines(write_report(case_dir, case_dir / REPORT), case_dir))
    return summary
