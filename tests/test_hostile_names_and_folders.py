"""Issue 11 (part A): odd names, unlistable and deep folders, scan set-up failures, one
classification, the CSV's frames, hashdeep escapes, what summary.json counts, message wording.

Every fixture is made here. Tests run as root in CI, which reads and writes anything: a folder
that cannot be listed, or a parent that cannot be written, is made real by running the command
in a child process without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (or as an ordinary user).
"""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocsea_match import ScanError, load_list, run_scan
from ocsea_match._wording import plural
from ocsea_match.cli import EXIT_CANNOT_RUN, EXIT_OK, main
from ocsea_match.paths import escape_name, unescape_name
from ocsea_match.scanning.journal import read_records
from ocsea_match.scanning.progress import Progress

ODD = b"odd-\xff\xfe.png"  # not UTF-8
NEWLINE = "new\nline.png"


def _picture(path: Path | bytes, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(os.fsdecode(path), "PNG")


@pytest.fixture()
def odd_tree(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    root.mkdir()
    _picture(os.path.join(os.fsencode(root), ODD), 1)
    _picture(root / NEWLINE, 2)
    _picture(root / "plain.png", 3)
    (root / "empty.dat").write_bytes(b"")
    (root / "notes.txt").write_text("just text\n")
    return root


def _valid_utf8(data: bytes) -> str:
    return data.decode("utf-8")  # raises on any invalid byte


# ------------------------------------------------------------------------------ 1: names


def test_odd_names_in_jsonl_file_stdout_csv_and_table(odd_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["hash", str(odd_tree), "-o", str(out), "--quiet", "--jobs", "1"]) == EXIT_OK
    records = [json.loads(line) for line in _valid_utf8(out.read_bytes()).splitlines()]
    odd = [r for r in records if r.get("path_hex")]
    assert len(records) == 5 and len(odd) == 1
    assert bytes.fromhex(odd[0]["path_hex"]) == os.path.join(os.fsencode(odd_tree), ODD)
    assert odd[0]["path"].endswith("odd-\\xff\\xfe.png") and odd[0]["status"] == "ok"

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}  # even where the locale would not take UTF-8
    for fmt in ("jsonl", "csv", "table"):
        run = subprocess.run([sys.executable, "-m", "ocsea_match", "match" if fmt == "table" else "hash",
                              str(odd_tree), "--format", fmt, "--jobs", "1", "--quiet"]
                             + (["--list", str(out)] if fmt == "table" else []),
                             capture_output=True, env=env, check=False)
        assert run.returncode in (0, 3), run.stderr
        text = _valid_utf8(run.stdout)
        assert "Traceback" not in run.stderr.decode("utf-8", "replace")
        if fmt == "table":
            lines = text.splitlines()
            assert len(lines) == 5  # the newline in a name is shown as \x0a, never printed raw
            assert any("new\\x0aline.png" in line for line in lines)
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(text)))
            assert len(rows) == 5 and sum(bool(r["path_hex"]) for r in rows) == 1
            assert any(r["path"].endswith(NEWLINE) for r in rows)


def test_escaped_names_read_back_exactly() -> None:
    for raw in (b"a\nb", b"c,d\r\n", b"tab\tand\\x0a literal", b"\xff\xfeend ", "é\u2028\x85".encode()):
        escaped = escape_name(raw)
        assert escaped.isprintable() and escape_name(raw).encode("utf-8")
        assert unescape_name(escaped) == raw.decode("utf-8", "backslashreplace")


# ------------------------------------------------------------------------------ 3: folders


def _drop_dac() -> None:
    """In the child: no capability to bypass file permissions (root included), for the exec'd program."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _without_permissions(argv: list[str]) -> subprocess.CompletedProcess[str]:
    preexec = _drop_dac if os.geteuid() == 0 else None
    return subprocess.run([sys.executable, "-m", "ocsea_match", *argv], capture_output=True, text=True,
                          preexec_fn=preexec, check=False, timeout=120)


def test_an_unlistable_folder_is_an_error_record_not_a_silent_skip(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "locked").mkdir(parents=True)
    _picture(root / "locked" / "hidden.png")
    _picture(root / "seen.png")
    os.chmod(root / "locked", 0)
    try:
        run = _without_permissions(["hash", str(root), "--jobs", "1"])
    finally:
        os.chmod(root / "locked", 0o755)
    assert run.returncode == 1, run.stderr
    records = {r["path"]: r for r in map(json.loads, run.stdout.splitlines())}
    locked = records[str(root / "locked")]
    assert locked["status"] == "error" and locked["error"]["code"] == "unreadable"
    assert records[str(root / "seen.png")]["status"] == "ok"


def test_hash_walks_past_path_max(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(22):  # 22 x 201 bytes: deeper than PATH_MAX (4096)
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        buf = io.BytesIO()
        Image.new("RGB", (40, 30), "red").save(buf, "PNG")
        out_fd = os.open("deep.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out_fd, buf.getvalue())
        os.close(out_fd)
    finally:
        os.close(fd)
    out = tmp_path.parent / f"{tmp_path.name}-deep.jsonl"
    try:
        assert main(["hash", str(tmp_path), "-o", str(out), "--quiet", "--jobs", "1"]) == EXIT_OK
        (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    finally:
        out.unlink(missing_ok=True)
    assert len(os.fsencode(record["path"])) > 4096 and record["status"] == "ok" and record["hashes"]["pdq"]


# ------------------------------------------------------------------------------ 4: scan set-up


def test_scan_refusals_are_scan_errors_and_leave_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "source"
    source.mkdir()
    _picture(source / "a.png")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "unrelated.doc").write_text("not a case")
    cases = {
        "under a regular file": (source, a_file / "case"),
        "a source that does not exist": (tmp_path / "sourse", tmp_path / "typo-case"),
        "a non-empty folder that is not a case": (source, busy),
        "a regular file": (source, a_file),
    }
    for why, (src, case) in cases.items():
        before = sorted(p.name for p in tmp_path.iterdir())
        with pytest.raises(ScanError):
            run_scan([src], case, progress="none")
        assert sorted(p.name for p in tmp_path.iterdir()) == before, why
        assert main(["scan", str(src), "-o", str(case), "--quiet", "--jobs", "1"]) == EXIT_CANNOT_RUN, why
        assert sorted(p.name for p in tmp_path.iterdir()) == before, why
    assert sorted(p.name for p in busy.iterdir()) == ["unrelated.doc"]
    assert "Traceback" not in capsys.readouterr().err


def test_scan_into_a_read_only_parent_exits_2_without_traceback(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    _picture(source / "a.png")
    parent = tmp_path / "read-only"
    parent.mkdir()
    os.chmod(parent, 0o555)
    try:
        run = _without_permissions(["scan", str(source), "-o", str(parent / "case"), "--quiet", "--jobs", "1"])
    finally:
        os.chmod(parent, 0o755)
    assert run.returncode == EXIT_CANNOT_RUN, run.stderr
    assert "Traceback" not in run.stderr and "cannot write the case folder" in run.stderr
    assert list(parent.iterdir()) == []


def test_empty_source_makes_a_complete_case_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    summary = run_scan([tmp_path / "empty"], tmp_path / "case", progress="none")
    assert summary["files"] == 0 and summary["adds_up"]
    assert (tmp_path / "case" / "records.jsonl").read_bytes() == b""
    (tmp_path / "case" / "records.jsonl").unlink()  # as if killed before the first record
    (tmp_path / "case" / "SHA256SUMS").unlink()
    summary = run_scan([tmp_path / "empty"], tmp_path / "case", progress="none", resume=True)
    assert summary["files"] == 0 and (tmp_path / "case" / "SHA256SUMS").is_file()


# ------------------------------------------------------------------------------ 11: consistency


def test_text_and_empty_files_are_skipped_in_hash_and_scan_alike(odd_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "hash.jsonl"
    assert main(["hash", str(odd_tree), "-o", str(out), "--quiet", "--jobs", "1"]) == EXIT_OK
    hashed = {Path(r["path"]).name: (r["status"], (r["error"] or {}).get("code"))
              for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    run_scan([odd_tree], tmp_path / "case", progress="none")
    scanned = {Path(r["path"]).name: (r["status"], (r["error"] or {}).get("code"))
               for r in read_records(tmp_path / "case" / "records.jsonl")}
    assert hashed == scanned
    assert hashed["empty.dat"] == ("skipped", "empty-file") and hashed["notes.txt"] == ("skipped", "not-media")


def test_hashdeep_with_a_newline_in_a_name_reads_back(odd_tree: Path, tmp_path: Path) -> None:
    run_scan([odd_tree], tmp_path / "case", progress="none")
    hash_list, report = load_list(tmp_path / "case" / "hashdeep.txt")
    assert report.problems == []
    records = list(read_records(tmp_path / "case" / "records.jsonl"))
    assert {e.entry_id for e in hash_list.entries} == {r["path"] for r in records}
    assert len((tmp_path / "case" / "hashdeep.txt").read_text(encoding="utf-8").splitlines()) == 5 + 6
    # a file from the hashdeep tool itself has no escapes: a Windows path is read as written
    external = tmp_path / "windows.hashdeep"
    external.write_text("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n"
                        f"1,{'0' * 32},{'1' * 64},C:\\x41docs\\a.jpg\n", encoding="utf-8")
    assert [e.entry_id for e in load_list(external)[0].entries] == ["C:\\x41docs\\a.jpg"] * 2


def test_summary_counts_bytes_read_not_what_a_bomb_declares(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    with zipfile.ZipFile(source / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (4 * 1024 * 1024))  # ~1000:1
    summary = run_scan([source], tmp_path / "case", progress="none")
    on_disk = (source / "bomb.zip").stat().st_size
    assert summary["bytes"] == on_disk
    assert summary["bytes_declared_not_read"] == 4 * 1024 * 1024
    member = next(r for r in read_records(tmp_path / "case" / "records.jsonl") if r.get("member"))
    assert member["size"] is None and member["declared_size"] == 4 * 1024 * 1024


def test_csv_carries_a_videos_frames(tmp_path: Path) -> None:
    from videoclips import scene, slideshow, write

    clip = tmp_path / "clip.mp4"
    write(clip, slideshow([scene(1, (160, 120)), scene(2, (160, 120))], 1.0))
    out = tmp_path / "out.csv"
    assert main(["hash", str(clip), "--format", "csv", "-o", str(out), "--quiet", "--jobs", "1"]) == EXIT_OK
    (row,) = list(csv.DictReader(out.open(encoding="utf-8")))
    frames = json.loads(row["frames"])
    assert row["media_type"] == "video" and len(frames) >= 2 and all(len(f["pdq"]) == 64 for f in frames)


# ------------------------------------------------------------------------------ 12: wording


def test_messages_count_lines_and_units_consistently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (plural(1, "line"), plural(2, "line"), plural(1, "entry", "entries")) == ("1 line", "2 lines", "1 entry")
    listed = tmp_path / "known.hashdeep"
    listed.write_text("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n"
                      f"1,{'0' * 32},{'1' * 64},good\n1,xyz,abc,bad\n", encoding="utf-8")
    _picture(tmp_path / "p.png")
    main(["match", str(tmp_path / "p.png"), "--list", str(listed), "--quiet", "--jobs", "1", "--format", "jsonl"])
    err = capsys.readouterr().err
    assert "2 entries, problems on 1 line (2 problems)" in err  # two bad digests on one line are one line
    out = io.StringIO()
    log = Progress("log", total_files=1, total_bytes=2_000_000, out=out)
    log.update([{"size": 1_000_000, "status": "ok"}])
    log.close()
    assert "1.0/2.0 MB" in out.getvalue() and "MiB" not in out.getvalue()
