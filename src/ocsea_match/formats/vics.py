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
from typing import Any

from .._wording import plural
from .model import (
    HEX_LENGTHS,
    HashList,
    ListEntry,
    ListError,
    LoadReport,
    check_hex,
    check_quality,
    check_timestamp,
    is_text,
    parse_json,
)

__all__ = ["HASH_FIELDS", "dump_vics", "is_vics", "photodna_note", "read_vics", "vics_item"]

#: VICS hash field names (also any algorithm's own name in capitals, e.g. PHASH, as dump_vics writes it).
HASH_FIELDS = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA-1": "sha1", "SHA-256": "sha256", "PDQ": "pdq"}
_METADATA_V4 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata"
_CONTEXT_V4 = _METADATA_V4 + "#Media"
#: ``@odata.context`` of a VICS 2.0 case export (``value[*].Media[*]``).
CONTEXT_CASES_V4 = _METADATA_V4 + "#Cases"


def is_vics(text: str) -> bool:
    head = text[:2000]
    return head.lstrip().startswith("{") and ("odata.metadata" in head or "@odata.context" in head)


def _media_items(doc: dict[str, Any], report: LoadReport) -> list[Any]:
    """The media items of a hash set (``value``) or of a case export (``value[*].Media``); a case
    whose ``Media`` is not an array is reported, never passed over."""
    values = doc.get("value")
    if not isinstance(values, list):
        raise ListError("a VICS file needs a 'value' array")
    context = str(doc.get("@odata.context") or doc.get("odata.metadata") or "")
    if context.endswith("#Cases") or any(isinstance(v, dict) and "Media" in v for v in values):
        items: list[Any] = []
        starts = []
        for number, case in enumerate(values, 1):
            media = case.get("Media") if isinstance(case, dict) else None
            if not isinstance(media, list):
                what = "not a JSON object" if not isinstance(case, dict) else \
                    "has no 'Media'" if "Media" not in case else "has a 'Media' that is not an array"
                report.notes.append(f"case {number} (value[{number - 1}]) {what}: none of its media could be read")
                continue
            starts.append(f"items {len(items) + 1}-{len(items) + len(media)}: case {number}" if media else "")
            items.extend(media)
        if len(values) > 1 and any(starts):
            report.notes.append("media items are numbered across cases (" + "; ".join(x for x in starts if x) + ")")
        if not items:
            raise ListError("a VICS case export without media: " + "; ".join(report.notes[-3:]) if report.notes
                            else "a VICS case export without media")
        return items
    return values


def _hash_values(item: dict[str, Any], number: int, report: LoadReport) -> list[tuple[str, str, dict[str, Any]]]:
    """``(field name, value, properties)`` of every hash an item carries; ``properties`` are an
    AlternativeHashes element's own (``Quality``, ``Timestamp``: this project's extension)."""
    values: list[tuple[str, str, dict[str, Any]]] = [(k, item[k], {}) for k in HASH_FIELDS if isinstance(item.get(k), str)]
    alternatives = item.get("AlternativeHashes")
    if alternatives is not None and not isinstance(alternatives, list):
        report.problems.append((number, "'AlternativeHashes' is not an array; none of them read"))
        alternatives = None
    for i, alt in enumerate(alternatives or []):
        if isinstance(alt, dict) and isinstance(alt.get("HashName"), str) and isinstance(alt.get("HashValue"), str):
            values.append((alt["HashName"].upper(), alt["HashValue"], alt))
        else:
            report.problems.append((number, f"AlternativeHashes[{i}] is not an object with HashName and HashValue"))
    if isinstance(item.get("PhotoDNA"), str):
        values.append(("PHOTODNA", item["PhotoDNA"], {}))
    return values


def _text_or_number(value: object) -> bool:
    return (is_text(value) or isinstance(value, int)) and not isinstance(value, bool) and value != ""


def read_vics(text: str, hash_list: HashList, report: LoadReport) -> None:
    try:
        doc = parse_json(text)
    except ValueError as exc:
        raise ListError(str(exc)) from None
    if not isinstance(doc, dict):
        raise ListError("a VICS file is a JSON object")
    report.format = "vics-2.0" if "@odata.context" in doc else "vics-1.x"
    report.unit = "item"
    photodna = 0
    for number, item in enumerate(_media_items(doc, report), 1):
        photodna += vics_item(number, item, hash_list, report)
    if photodna:
        report.notes.append(photodna_note(photodna))


def photodna_note(count: int) -> str:
    return f"{plural(count, 'PhotoDNA value')} kept and written back, but cannot be matched (a licensed algorithm)"


def vics_item(number: int, item: object, hash_list: HashList, report: LoadReport) -> int:
    """One media item (numbered ``number``): its entries, or report lines; returns its PhotoDNA values."""
    if not isinstance(item, dict):
        report.problems.append((number, "a media item that is not a JSON object"))
        return 0
    photodna = 0
    media_id, category = item.get("MediaID"), item.get("Category")
    entry_id = str(media_id) if _text_or_number(media_id) else f"{hash_list.name}:{number}"
    if media_id not in (None, "") and not _text_or_number(media_id):
        report.problems.append((number, f"MediaID {str(media_id)[:40]!r} is not a number or text (UTF-8); named {entry_id}"))
    if category not in (None, "") and not _text_or_number(category):
        report.problems.append((number, f"Category {str(category)[:40]!r} is not a number or text (UTF-8); left out"))
    category = str(category) if _text_or_number(category) else None
    found = 0
    for field_name, value, properties in _hash_values(item, number, report):
        value = value.strip()
        if not value:
            continue
        if field_name == "PHOTODNA":
            hash_list.entries.append(ListEntry(entry_id, "photodna", value, category=category))
            photodna += 1
            found += 1
            continue
        algorithm = HASH_FIELDS.get(field_name)
        if algorithm is None and field_name.lower() in HEX_LENGTHS:  # e.g. PHASH, written by dump_vics
            algorithm = field_name.lower()
        if algorithm is None:
            report.problems.append((number, f"hash {field_name[:40]!r} is not one this tool knows; kept out"))
            continue
        checked = check_hex(algorithm, value)
        if checked is None:
            report.problems.append((number, f"bad {field_name}: {value[:80]!r}"))
            continue
        try:
            quality = check_quality(properties.get("Quality"))
            timestamp = None if properties.get("Timestamp") is None else check_timestamp(properties["Timestamp"])
        except ValueError as exc:
            report.problems.append((number, f"{field_name}: {exc}"))
            continue
        if timestamp is not None and algorithm != "pdq":
            report.problems.append((number, f"{field_name}: a frame time on a hash that is not PDQ"))
            continue
        hash_list.entries.append(ListEntry(entry_id, algorithm, checked, category=category, quality=quality,
                                           timestamp=timestamp))
        found += 1
    if not found:
        report.problems.append((number, f"media item {entry_id} carries no usable hash"))
        return photodna
    hash_list.extra[entry_id] = {
        k: v for k, v in item.items()
        if k not in HASH_FIELDS and k not in ("PhotoDNA", "AlternativeHashes", "MediaID", "Category")
    }
    return photodna


def dump_vics(hash_list: HashList) -> str:
    """The list as a VICS 2.0 hash set (``#Media``), every kept field written back.

    A PDQ hash's quality and a video frame's time go on its ``AlternativeHashes`` element as
    ``Quality`` and ``Timestamp`` (VICS 2.0 allows extra properties; this project reads them back),
    so that a flat picture stays under the quality floor and a video stays one video.
    """
    items: dict[str, dict[str, Any]] = {}
    for entry in dict.fromkeys(hash_list.entries):  # identical entries once
        item = items.setdefault(entry.entry_id, {"MediaID": _media_id(entry.entry_id), "Category": category_value(entry.category)})
        if entry.algorithm == "md5" and "MD5" not in item:  # a second MD5 goes to AlternativeHashes
            item["MD5"] = entry.hex.upper()
        elif entry.algorithm == "sha1" and "SHA1" not in item:
            item["SHA1"] = entry.hex.upper()
        elif entry.algorithm == "photodna" and "PhotoDNA" not in item:
            item["PhotoDNA"] = entry.hex
        else:
            name = {"sha256": "SHA256", "sha1": "SHA1", "md5": "MD5"}.get(entry.algorithm, entry.algorithm.upper())
            alt: dict[str, Any] = {"HashName": name, "HashValue": entry.hex}
            if entry.quality is not None:
                alt["Quality"] = entry.quality
            if entry.timestamp is not None:
                alt["Timestamp"] = entry.timestamp
            item.setdefault("AlternativeHashes", []).append(alt)
    for entry_id, item in items.items():
        for key, value in hash_list.extra.get(entry_id, {}).items():
            item.setdefault(key, value)
    return json.dumps({"@odata.context": _CONTEXT_V4, "value": list(items.values())}, ensure_ascii=False, indent=1)


def _plain_number(text: str) -> bool:
    """Decimal digits that ``int`` and ``str`` give back unchanged ("007", "²" stay text)."""
    return text.isascii() and text.isdigit() and str(int(text)) == text


def _media_id(entry_id: str) -> int | str:
    return int(entry_id) if _plain_number(entry_id) else entry_id


def category_value(category: str | None) -> int | str | None:
    """A category as VICS writes it: a number when it is one, else the text."""
    if category is None:
        return None
    return int(category) if _plain_number(category) else category
