"""Every writer's output reads back to the entries it can carry; the convert command."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocsea_match.cli import EXIT_CANNOT_RUN, EXIT_OK, main
from ocsea_match.formats import WRITERS, HashList, ListEntry, dump_list, read_list_text

CARRIES = {
    "pdq-csv": {"pdq"},
    "md5sum": {"md5"},
    "sha1sum": {"sha1"},
    "sha256sum": {"sha256"},
    "jsonl": {"pdq", "phash", "md5", "sha1", "sha256"},
    "vics": {"md5", "sha1", "sha256", "pdq", "phash", "photodna"},
}


def sample() -> HashList:
    entries = []
    for i in range(3):
        eid = f"item-{i}"
        entries += [
            ListEntry(eid, "pdq", f"{i:02x}" * 32, category=str(i), quality=90 + i),
            ListEntry(eid, "phash", f"{i + 16:02x}" * 8, category=str(i)),
            ListEntry(eid, "md5", f"{i + 32:02x}" * 16, category=str(i)),
            ListEntry(eid, "sha1", f"{i + 48:02x}" * 20, category=str(i)),
            ListEntry(eid, "sha256", f"{i + 64:02x}" * 32, category=str(i)),
            ListEntry(eid, "photodna", "opaque-value", category=str(i)),
        ]
    return HashList("sample", entries)


@pytest.mark.parametrize("fmt", sorted(set(WRITERS) - {"vpdq"}))  # vpdq holds video frames: test_video.py
def test_round_trip(fmt: str) -> None:
    original = sample()
    back, report = read_list_text(dump_list(original, fmt), "sample")
    assert report.problems == []
    expected = [e for e in original.entries if e.algorithm in CARRIES[fmt]]

    def key(e: ListEntry) -> tuple:
        carried_category = fmt in ("pdq-csv", "jsonl", "vics")
        carried_quality = fmt in ("pdq-csv", "jsonl")
        return (e.entry_id if fmt not in ("md5sum", "sha1sum", "sha256sum") else None, e.algorithm, e.hex,
                e.category if carried_category else None, e.quality if carried_quality else None)

    assert sorted(map(key, back.entries)) == sorted(map(key, expected))


def test_convert_command(tmp_path: Path) -> None:
    src = tmp_path / "known_list.json"
    src.write_text(dump_list(sample(), "vics"))
    out = tmp_path / "known.md5"
    assert main(["convert", str(src), str(out), "--to", "md5sum"]) == EXIT_OK
    assert len(out.read_text().splitlines()) == 3
    assert main(["convert", str(src), str(out), "--to", "md5sum"]) == EXIT_CANNOT_RUN  # never overwrites
