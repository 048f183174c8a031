"""hashdeep text and NSRL RDSv3 SQLite lists."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from ocsea_match import HashIndex, ListError, hash_file, load_list

from helpers import make_nsrl


@pytest.fixture()
def files(tmp_path: Path) -> list[Path]:
    out = []
    for i, content in enumerate([b"first file\n", b"second, with a comma\n", b""]):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(content)
        out.append(p)
    return out


def test_hashdeep_list(files: list[Path], tmp_path: Path) -> None:
    lines = ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename", "## Invoked from: /case", "##"]
    for p in files[:2]:
        data = p.read_bytes()
        lines.append(f"{len(data)},{hashlib.md5(data).hexdigest()},{hashlib.sha256(data).hexdigest()},/case/a, b/{p.name}")
    lines.append("12,nothex,also-not,/case/broken")
    (tmp_path / "known.hashdeep").write_text("\n".join(lines) + "\n")
    index, reports = HashIndex.from_lists([tmp_path / "known.hashdeep"])
    assert reports[0].format == "hashdeep" and reports[0].loaded == 4
    assert [n for n, _ in reports[0].problems] == [7, 7]
    matches = index.match(hash_file(files[1]))
    assert {(m["entry_id"], m["algorithm"]) for m in matches} == {("/case/a, b/f1.bin", "md5"), ("/case/a, b/f1.bin", "sha256")}


def test_nsrl_rdsv3_known_good(files: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "RDS_minimal.db"
    make_nsrl(db, files[:1])
    before = db.read_bytes()
    hash_list, report = load_list(db)
    assert report.format == "nsrl-rdsv3 (DISTINCT_HASH)" and report.loaded == 3
    assert db.read_bytes() == before  # opened read-only
    index, _ = HashIndex.from_lists([hash_list])
    matches = index.match(hash_file(files[0]))
    assert {m["algorithm"] for m in matches} == {"md5", "sha1", "sha256"}
    assert {m["category"] for m in matches} == {"known-good"}
    assert index.match(hash_file(files[1])) == []


def test_sqlite_that_is_not_nsrl_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(ListError, match="NSRL"):
        load_list(db)
