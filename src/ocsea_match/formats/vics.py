"""Project VIC VICS JSON: 1.x (OData v3) and 2.0 (OData v4), hash sets (#Media) and cases (#Cases).

Read: every media item's MD5, SHA-1 (2.0: top level; 1.x: under ``AlternativeHashes``), SHA-256
and PDQ where present, and PhotoDNA, which is kept (and written back) but cannot be matched: it
is a licensed algorithm. The other fields of an item (Series, VictimIdentified, IsDistributed,
MediaFiles ...) are kept as they came, so that writing the list back loses nothing. Real exports'
quirks are accepted: a UTF-8 BOM, upper-case hex, booleans written as ``"true"``, ``null``
categories, .NET ``/Date(ms)/`` dates (kept as text).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .model import HEX_LENGTHS, HashList, ListEntry, ListError, LoadReport

__all__ = ["is_vics", "read_vics", "dump_vics"]

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_FIELDS = {"MD5": ("md5", 32), "SHA1": ("sha1", 40), "SHA256": ("sha256", 64), "SHA-1": ("sha1", 40),
                "SHA-256": ("sha256", 64), "PDQ": ("pdq", 64)}
_METADATA_V4 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata"
_CONTEXT_V4 = _METADATA_V4 + "#Media"
#: ``@odata.context`` of a VICS 2.0 case export (``value[*].Media[*]``).
CONTEXT_CASES_V4 = _METADATA_V4 + "#Cases"


def is_vics(text: str) -> bool:
    head = text[:2000]
    return head.lstrip().startswith("{") and ("odata.metadata" in head or "@odata.context" in head)


def _media_items(doc: dict[str, Any]) -> list[Any]:
    values = doc.get("value")
    if not isinstance(values, list):
        raise ListError("a VICS file needs a 'value' array")
    context = str(doc.get("@odata.context") or doc.get("odata.metadata") or "")
    if context.endswith("#Cases") or any(isinstance(v, dict) and "Media" in v for v in values):
        items: list[Any] = []
        for case in values:
            media = case.get("Media") if isinstance(case, dict) else None
            items.extend(media if isinstance(media, list) else [])
        return items
    return values


def read_vics(text: str, hash_list: HashList, report: LoadReport) -> None:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ListError(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None  # msg may end in "at"
    if not isinstance(doc, dict):
        raise ListError("a VICS file is a JSON object")
    report.format = "vics-2.0" if "@odata.context" in doc else "vics-1.x"
    photodna = 0
    for number, item in enumerate(_media_items(doc), 1):
        if not isinstance(item, dict):
            report.problems.append((number, "a media item that is not a JSON object"))
            continue
        media_id = item.get("MediaID")
        entry_id = str(media_id) if media_id not in (None, "") else f"{hash_list.name}:{number}"
        category = item.get("Category")
        category = None if category in (None, "") else str(category)
        values: list[tuple[str, str]] = [(k, item[k]) for k in _HASH_FIELDS if isinstance(item.get(k), str)]
        for alt in item.get("AlternativeHashes") or []:
            if isinstance(alt, dict) and isinstance(alt.get("HashName"), str) and isinstance(alt.get("HashValue"), str):
                values.append((alt["HashName"].upper(), alt["HashValue"]))
        if isinstance(item.get("PhotoDNA"), str):
            values.append(("PHOTODNA", item["PhotoDNA"]))
        found = 0
        for field_name, value in values:
            value = value.strip()
            if not value:
                continue
            if field_name == "PHOTODNA":
                hash_list.entries.append(ListEntry(entry_id, "photodna", value, category=category))
                photodna += 1
                found += 1
                continue
            algorithm, length = _HASH_FIELDS.get(field_name, (None, 0))
            if algorithm is None and field_name.lower() in HEX_LENGTHS:  # e.g. PHASH, written by dump_vics
                algorithm, length = field_name.lower(), HEX_LENGTHS[field_name.lower()]
            if algorithm is None:
                report.problems.append((number, f"hash {field_name!r} is not one this tool knows; kept out"))
                continue
            if len(value) != length or not _HEX.match(value):
                report.problems.append((number, f"bad {field_name}: {value[:80]!r}"))
                continue
            hash_list.entries.append(ListEntry(entry_id, algorithm, value.lower(), category=category))
            found += 1
        if not found:
            report.problems.append((number, f"media item {entry_id} carries no usable hash"))
            continue
        hash_list.extra[entry_id] = {
            k: v for k, v in item.items()
            if k not in _HASH_FIELDS and k not in ("PhotoDNA", "AlternativeHashes", "MediaID", "Category")
        }
    if photodna:
        report.notes.append(
            f"{photodna} PhotoDNA values are kept and written back, but cannot be matched (licensed algorithm)"
        )


def dump_vics(hash_list: HashList) -> str:
    """The list as a VICS 2.0 hash set (``#Media``), every kept field written back."""
    items: dict[str, dict[str, Any]] = {}
    for entry in hash_list.entries:
        item = items.setdefault(entry.entry_id, {"MediaID": _media_id(entry.entry_id), "Category": category_value(entry.category)})
        if entry.algorithm == "md5":
            item["MD5"] = entry.hex.upper()
        elif entry.algorithm == "sha1":
            item["SHA1"] = entry.hex.upper()
        elif entry.algorithm == "photodna":
            item["PhotoDNA"] = entry.hex
        else:
            name = {"sha256": "SHA256"}.get(entry.algorithm, entry.algorithm.upper())
            item.setdefault("AlternativeHashes", []).append({"HashName": name, "HashValue": entry.hex})
    for entry_id, item in items.items():
        for key, value in hash_list.extra.get(entry_id, {}).items():
            item.setdefault(key, value)
    return json.dumps({"@odata.context": _CONTEXT_V4, "value": list(items.values())}, ensure_ascii=False, indent=1)


def _media_id(entry_id: str) -> int | str:
    return int(entry_id) if entry_id.isdigit() else entry_id


def category_value(category: str | None) -> int | str | None:
    """A category as VICS writes it: a number when it is one, else the text."""
    if category is None:
        return None
    return int(category) if category.isdigit() else category
