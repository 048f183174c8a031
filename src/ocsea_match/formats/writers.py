"""Writers: a HashList back to text in the formats the readers take (round trips are tested)."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

from ..algorithms import DIGESTS
from .model import HashList, ListEntry, ListError
from .vics import dump_vics

__all__ = ["WRITERS", "dump_list"]


def _dump_pdq_csv(hash_list: HashList) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["hash", "quality", "id", "category"])
    for e in hash_list.entries:
        if e.algorithm in ("pdq", "pdq-thumb512", "pdq-nearest512") and e.timestamp is None:
            writer.writerow([e.hex, "" if e.quality is None else e.quality, e.entry_id, e.category or ""])
    return out.getvalue()


def _digest_writer(algorithm: str):  # type: ignore[no-untyped-def]
    def dump(hash_list: HashList) -> str:
        lines = [f"{e.hex}  {e.label or e.entry_id}" for e in hash_list.entries if e.algorithm == algorithm]
        return "".join(line + "\n" for line in lines)

    return dump


def _dump_jsonl(hash_list: HashList) -> str:
    """One record per item; an item with two hashes of one algorithm (two PDQs of one VICS item)
    gets a second record with the same ``entry_id``, so that nothing is overwritten."""
    records: list[dict[str, Any]] = []
    open_records: dict[str, list[dict[str, Any]]] = {}  # entry id -> its records
    for e in dict.fromkeys(hash_list.entries):  # identical entries once
        if e.algorithm == "photodna":
            continue
        mine = open_records.setdefault(e.entry_id, [])
        item = next((r for r in mine if _has_room(r, e)), None)
        if item is None:
            item = {"entry_id": e.entry_id, "category": e.category, "hashes": {}}
            mine.append(item)
            records.append(item)
        if e.timestamp is not None:  # a video's frame
            item.setdefault("frames", []).append({"timestamp": e.timestamp, "pdq": e.hex, "quality": e.quality})
        elif e.algorithm == "pdq-robust":  # a listed picture's derived rows
            item.setdefault("robust", {}).setdefault("list", []).append({"hex": e.hex, "quality": e.quality})
        elif e.algorithm in DIGESTS:
            item[e.algorithm] = e.hex
        elif e.algorithm == "tmk" and e.hex in hash_list.tmk_files:  # a video's .tmk file, base64
            item["tmk"] = base64.b64encode(hash_list.tmk_files[e.hex]).decode("ascii")
        else:
            value: dict[str, Any] = {"hex": e.hex}
            if e.quality is not None:
                value["quality"] = e.quality
            item["hashes"][e.algorithm] = value
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in records)


def _has_room(record: dict[str, Any], e: ListEntry) -> bool:
    """Whether a JSONL record can take the entry without overwriting one (frames and robust rows are lists)."""
    if e.timestamp is not None or e.algorithm == "pdq-robust":
        return True
    if e.algorithm in DIGESTS or e.algorithm == "tmk":
        return e.algorithm not in record
    return e.algorithm not in record["hashes"]


def _dump_vpdq(hash_list: HashList) -> str:
    """vPDQ's ``frameNumber,quality,hex,timestamp`` lines: one video's frames only."""
    frames = [e for e in hash_list.entries if e.timestamp is not None]
    videos = {e.entry_id for e in frames}
    if len(videos) > 1:
        raise ListError(f"the vPDQ format holds one video; this list has {len(videos)} (write jsonl instead)")
    return "".join(
        f"{e.label if (e.label or '').isdigit() else i},{e.quality if e.quality is not None else 0},{e.hex},{e.timestamp:.6f}\n"
        for i, e in enumerate(frames)
    )


WRITERS = {
    "pdq-csv": _dump_pdq_csv,
    "md5sum": _digest_writer("md5"),
    "sha1sum": _digest_writer("sha1"),
    "sha256sum": _digest_writer("sha256"),
    "jsonl": _dump_jsonl,
    "vics": dump_vics,
    "vpdq": _dump_vpdq,
}


def dump_list(hash_list: HashList, to: str) -> str:
    """The list as text in format ``to`` (one of ``WRITERS``); entries the format cannot carry
    (e.g. MD5s in a PDQ CSV) are left out: ``convert_list`` says, per field, what was lost."""
    if to not in WRITERS:
        raise ListError(f"cannot write {to!r}; choose from {', '.join(WRITERS)}")
    return WRITERS[to](hash_list)
