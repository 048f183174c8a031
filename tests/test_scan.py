"""The forensic scan on a generated evidence tree: every file once, nothing changed, outputs that
parse back, limits that hold, and a kill-and-resume that loses and repeats nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ocsea_match import hash_file, load_list
from ocsea_match.cli import main
from ocsea_match.scanning import ArchiveLimits, ScanError, run_scan, scan
from ocsea_match.scanning.journal import Journal, read_records
from ocsea_match.scanning.walk import list_folder

import videoclips as vc
from helpers import encode, make_nsrl, png_declaring

NON_UTF8 = b"caf\xe9.jpg"


def _photo(images: dict[str, Image.Image], shift: int) -> Image.Image:
    return images["photo-400x300"].rotate(shift * 7).resize((400 - shift, 300))


@pytest.fixture()
def evidence(tmp_path: Path, images: dict[str, Image.Image]) -> dict[str, Path]:
    """A seized folder with every awkward thing the issue names."""
    root = tmp_path / "evidence"
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "names").mkdir()
    listed = encode(_photo(images, 0), "JPEG", quality=92)
    (root / "a" / "photo.jpg").write_bytes(listed)
    (root / "a" / "b" / "c" / "deep.png").write_bytes(encode(_photo(images, 1), "PNG"))
    (root / "a" / "renamed.txt").write_bytes(encode(_photo(images, 2), "JPEG"))
    (root / "a" / "fake.jpg").write_bytes(b"just some text, not a picture\n" * 10)
    (root / "a" / "empty.bin").write_bytes(b"")
    whole = encode(_photo(images, 3), "JPEG", quality=90)
    (root / "a" / "truncated.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    (root / "a" / "bomb.png").write_bytes(png_declaring(40000, 40000))
    (root / "a" / "notes.txt").write_text("meeting at noon\n")
    (root / "a" / "known.gif").write_bytes(encode(_photo(images, 4), "GIF"))
    with open(os.path.join(os.fsencode(root / "names"), NON_UTF8), "wb") as f:
        f.write(encode(_photo(images, 5), "JPEG"))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("inner/pic.png", encode(_photo(images, 6), "PNG"))
    with zipfile.ZipFile(root / "archive.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pics/reencoded.jpg", encode(_photo(images, 0).resize((300, 225)), "JPEG", quality=70))
        z.writestr("pics/other.png", encode(_photo(images, 7), "PNG"))
        z.writestr("readme.txt", "hello\n")
        z.writestr("nested.zip", inner.getvalue())
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\x00" * (20 * 1024 * 1024))
        z.writestr("after.txt", "still examined\n")
    vc.write(root / "a" / "clip.mp4", vc.slideshow([vc.scene(1, (320, 180)), vc.scene(2, (320, 180))], 1.5))
    os.symlink("..", root / "a" / "loop")
    os.symlink("/etc/hostname", root / "a" / "outside")
    os.mkfifo(root / "a" / "pipe")
    lists = tmp_path / "lists"
    lists.mkdir()
    pdq = hash_file(root / "a" / "photo.jpg", ["pdq"], mode="exact")["hashes"]["pdq"]
    (lists / "known_list.csv").write_text(f"hash,quality,id,category\n{pdq['hex']},{pdq['quality']},A1,2\n")
    make_nsrl(lists / "nsrl.db", [root / "a" / "known.gif"])
    return {"root": root, "list": lists / "known_list.csv", "nsrl": lists / "nsrl.db", "case": tmp_path / "case"}


def _snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything about the tree a scan must not change (content read without touching atime)."""
    state: dict[str, tuple[Any, ...]] = {}
    folders = [str(root)]
    while folders:
        folder = folders.pop()
        for name, st in list_folder(folder):
            path = os.path.join(folder, name)
            extra: Any = None
            if stat.S_ISLNK(st.st_mode):
                extra = os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                folders.append(path)
            elif stat.S_ISREG(st.st_mode):
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
                with os.fdopen(fd, "rb") as f:
                    extra = hashlib.sha256(f.read()).hexdigest()
            # a link's own atime is left out: Linux touches it on every readlink, O_NOATIME or not
            atime = None if stat.S_ISLNK(st.st_mode) else st.st_atime_ns
            state[path] = (st.st_mode, st.st_size, st.st_mtime_ns, atime, extra)
    return state


def _by_path(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        assert r["path"] not in out, f"{r['path']} has two records"
        out[r["path"]] = r
    return out


def test_scan_accounts_for_every_file_and_changes_nothing(evidence: dict[str, Path]) -> None:
    root = evidence["root"]
    before = _snapshot(root)
    summary = run_scan([root], evidence["case"], lists=[evidence["list"]], known_good=[evidence["nsrl"]],
                       progress="none", jobs=1)
    assert _snapshot(root) == before, "the scan changed the evidence tree"
    records = _by_path(list(read_records(evidence["case"] / "records.jsonl")))
    walked = {p for p in before if not stat.S_ISDIR(before[p][0])}
    on_disk = {r["path"] for r in records.values() if "container_file" not in r}
    assert len(on_disk) == len(walked)  # every walked entry once (dirs are not files)
    r = lambda rel: records[str(root / rel)]  # noqa: E731
    assert r("a/photo.jpg")["status"] == "ok" and r("a/photo.jpg")["matches"][0]["entry_id"] == "A1"
    assert r("a/photo.jpg")["matches"][0]["category"] == "2"
    assert r("a/b/c/deep.png")["status"] == "ok"
    assert r("a/renamed.txt")["status"] == "ok" and r("a/renamed.txt")["name_mismatch"] == {"extension": "txt", "detected": "JPEG"}
    assert r("a/fake.jpg")["status"] == "skipped" and r("a/fake.jpg")["error"]["code"] == "not-media"
    assert r("a/fake.jpg")["name_mismatch"]["extension"] == "jpg"
    assert r("a/empty.bin")["status"] == "skipped" and r("a/empty.bin")["error"]["code"] == "empty-file"
    assert r("a/truncated.jpg")["status"] == "ok" and r("a/truncated.jpg")["truncated"] is True
    assert r("a/bomb.png")["error"]["code"] == "decompression-bomb"
    assert r("a/notes.txt")["status"] == "skipped" and "name_mismatch" not in r("a/notes.txt")
    known = r("a/known.gif")
    assert known["status"] == "skipped" and known["error"]["code"] == "known-good" and known["hashes"] == {}
    assert known["known_good"] == "nsrl" and known["sha1"]
    for link in ("a/loop", "a/outside"):
        assert r(link)["status"] == "skipped" and r(link)["error"]["code"] == "symlink"
    assert "outside the source" in r("a/outside")["link"]
    assert r("a/pipe")["error"]["code"] == "special-file"
    clip = r("a/clip.mp4")
    assert clip["status"] == "ok" and clip["media_type"] == "video" and [f["timestamp"] for f in clip["frames"]] == [0, 1, 2]
    odd = [x for x in records.values() if x.get("path_hex")]
    assert len(odd) == 1 and bytes.fromhex(odd[0]["path_hex"]).endswith(NON_UTF8) and odd[0]["status"] == "ok"

    archive = r("archive.zip")
    assert archive["status"] == "ok" and archive["members"] == 4
    members = {x["member"]: x for x in records.values() if x.get("container_file") == str(root / "archive.zip")}
    assert set(members) == {"pics/reencoded.jpg", "pics/other.png", "readme.txt", "nested.zip", "inner/pic.png"}
    assert members["pics/reencoded.jpg"]["matches"][0]["entry_id"] == "A1"  # re-encoded and resized, still found
    assert not members["pics/other.png"]["matches"]
    assert members["inner/pic.png"]["parent"] == str(root / "archive.zip") + "!/nested.zip"
    assert members["nested.zip"]["status"] == "ok" and members["nested.zip"]["members"] == 1
    bomb = r("bomb.zip")
    assert bomb["status"] == "error" and bomb["error"]["code"] == "decompression-bomb"
    bomb_members = {x["member"]: x for x in records.values() if x.get("parent") == str(root / "bomb.zip")}
    assert bomb_members["zeros.bin"]["error"]["code"] == "decompression-bomb"
    assert bomb_members["after.txt"]["status"] == "skipped"  # examined: not media

    assert summary["adds_up"] and summary["files"] == len(records)
    assert sum(summary["by_status"].values()) == len(records)
    assert summary["files_matched"] == 2 and summary["files_matched_by_list"] == {"known_list": 2}
    assert summary["name_mismatches"] == 2


def test_case_outputs_parse_back(evidence: dict[str, Path]) -> None:
    run_scan([evidence["root"]], evidence["case"], lists=[evidence["list"]], progress="none")
    case = evidence["case"]
    records = list(read_records(case / "records.jsonl"))
    # SHA256SUMS covers every other output and is right
    sums = dict(line.split("  ")[::-1] for line in (case / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"records.jsonl", "matches.csv", "summary.json", "case.vics.json", "hashdeep.txt", "provenance.json",
                         "report.html"}
    for name, digest in sums.items():
        assert hashlib.sha256((case / name).read_bytes()).hexdigest() == digest
    # VICS 2.0 #Cases, read back by our own reader: one Media per distinct picture, category kept
    doc = json.loads((case / "case.vics.json").read_text())
    assert doc["@odata.context"].endswith("#Cases")
    media = doc["value"][0]["Media"]
    pictures = {x["sha1"] for x in records if x["media_type"] in ("image", "video")}
    assert len(media) == len(pictures)
    vics, report = load_list(case / "case.vics.json")
    assert not report.problems
    assert {e.hex for e in vics.entries if e.algorithm == "sha1"} == pictures
    matched = [m for m in media if m["Category"] is not None]
    assert len(matched) == 2 and all(m["Category"] == 2 for m in matched)
    assert {e.category for e in vics.entries if e.entry_id == str(matched[0]["MediaID"])} == {"2"}
    assert all(m["MediaFiles"] and m["MediaFiles"][0]["FileName"] for m in media)
    hash_fields = {"MediaID", "MD5", "SHA1", "Category", "AlternativeHashes"}
    for m in media:  # every other field written is kept by the reader, as written
        kept = vics.extra[str(m["MediaID"])]
        assert {k: v for k, v in m.items() if k not in hash_fields} == kept
        alternatives = {(a["HashName"].lower(), a["HashValue"]) for a in m["AlternativeHashes"]}
        assert alternatives <= {(e.algorithm, e.hex) for e in vics.entries if e.entry_id == str(m["MediaID"])}
    # hashdeep: every file with digests, read back by our own reader
    hd, report = load_list(case / "hashdeep.txt")
    assert not report.problems
    assert {e.hex for e in hd.entries if e.algorithm == "md5"} == {x["md5"] for x in records if x["md5"]}
    # matches.csv: one row per match
    rows = list(csv.DictReader(open(case / "matches.csv", encoding="utf-8")))
    assert len(rows) == sum(len(x["matches"]) for x in records) == 2
    provenance = json.loads((case / "provenance.json").read_text())
    assert provenance["lists"][0]["sha256"] == hashlib.sha256(evidence["list"].read_bytes()).hexdigest()
    assert provenance["runs"][0]["end"] and provenance["parameters"]["algorithms"][0] == "pdq"


def test_archive_limits_become_error_records(evidence: dict[str, Path]) -> None:
    few = ArchiveLimits(max_members=3, max_depth=1)
    records = {r["path"]: r for r in scan([evidence["root"] / "archive.zip"], limits=few)}
    archive = records[str(evidence["root"] / "archive.zip")]
    assert archive["status"] == "error" and archive["error"]["code"] == "decompression-bomb"
    assert "4 members" in archive["error"]["message"] and len(records) == 1
    shallow = ArchiveLimits(max_depth=1)
    records = {r["path"]: r for r in scan([evidence["root"] / "archive.zip"], limits=shallow)}
    nested = records[str(evidence["root"] / "archive.zip") + "!/nested.zip"]
    assert nested["status"] == "skipped" and nested["error"]["code"] == "nested-too-deep"


def test_scan_refuses_to_write_inside_evidence_or_over_a_case(evidence: dict[str, Path]) -> None:
    with pytest.raises(ScanError, match="inside a source"):
        run_scan([evidence["root"]], evidence["root"] / "a" / "case", progress="none")
    assert not (evidence["root"] / "a" / "case").exists()
    run_scan([evidence["root"] / "a" / "b"], evidence["case"], progress="none")
    with pytest.raises(ScanError, match="--resume"):
        run_scan([evidence["root"] / "a" / "b"], evidence["case"], progress="none")
    with pytest.raises(ScanError, match="cannot resume"):
        run_scan([evidence["root"] / "a" / "b"], evidence["case"], progress="none", resume=True, algorithms=["phash"])


def test_journal_resume_drops_torn_and_orphaned_lines(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    done = {"path": "/e/a.jpg", "status": "ok"}
    member = {"path": "/e/z.zip!/m.jpg", "status": "ok", "container_file": "/e/z.zip", "parent": "/e/z.zip"}
    path.write_text(json.dumps(done) + "\n" + json.dumps(member) + "\n" + '{"path": "/e/z.z')
    journal = Journal(path)
    assert journal.resume() == {"/e/a.jpg"}
    assert [json.loads(line) for line in path.read_text().splitlines()] == [done]
    journal.write([member, {"path": "/e/z.zip", "status": "ok", "members": 1}])
    journal.close()
    assert Journal(path).resume() == {"/e/a.jpg", "/e/z.zip"}
    assert len(path.read_text().splitlines()) == 3


def test_cli_scan_exit_codes(evidence: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", str(evidence["root"] / "a" / "b"), "-o", str(evidence["case"]), "--jobs", "1", "--quiet"])
    assert code == 0
    code = main(["scan", str(evidence["root"] / "a"), "-o", str(evidence["case"]) + "2", "--list",
                 str(evidence["list"]), "--jobs", "2", "--quiet"])
    assert code == 3  # matched (and some files failed: matches take precedence)
    assert main(["scan", str(evidence["root"]), "-o", str(evidence["root"] / "out"), "--quiet"]) == 2


def _many_pictures(folder: Path, images: dict[str, Image.Image], count: int) -> None:
    folder.mkdir(parents=True)
    base = images["photo-400x300"].resize((1200, 900))
    for i in range(count):
        (folder / f"{i:03d}.jpg").write_bytes(encode(base.rotate(i), "JPEG", quality=85))


def test_kill_and_resume_loses_and_repeats_nothing(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    source = tmp_path / "many"
    _many_pictures(source, images, 60)
    whole = tmp_path / "whole"
    assert main(["scan", str(source), "-o", str(whole), "--jobs", "1", "--quiet", "--mode", "exact"]) == 0
    case = tmp_path / "killed"
    command = [sys.executable, "-m", "ocsea_match", "scan", str(source), "-o", str(case), "--jobs", "1", "--quiet",
               "--mode", "exact"]
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    records = case / "records.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if records.exists() and records.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = records.read_bytes().count(b"\n")
    assert 10 <= partial < 60, f"the scan was not stopped part way ({partial} records)"
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    got = [r["path"] for r in read_records(records)]
    want = [r["path"] for r in read_records(whole / "records.jsonl")]
    assert len(got) == len(set(got)) == 60
    assert sorted(got) == sorted(want)
    assert list(read_records(records)) == list(read_records(whole / "records.jsonl"))  # same records, same order
    provenance = json.loads((case / "provenance.json").read_text())
    assert [run["resumed"] for run in provenance["runs"]] == [False, True]
    assert provenance["runs"][1]["files_done_before"] == partial


def test_names_of_255_bytes_and_paths_past_path_max_are_scanned(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    root = tmp_path / "deep"
    root.mkdir()
    picture = encode(_photo(images, 8), "PNG")
    (root / ("n" * 251 + ".png")).write_bytes(picture)  # the longest name ext4 takes
    fd = os.open(root, os.O_RDONLY)
    for _ in range(18):  # 18 x 241 bytes: past PATH_MAX (4096)
        os.mkdir("d" * 240, dir_fd=fd)
        inner = os.open("d" * 240, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    out = os.open("deep.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, picture)
    os.close(out)
    os.close(fd)
    records = {len(r["path"]): r for r in scan([root], jobs=1)}
    assert len(records) == 2 and max(records) > 4096
    assert all(r["status"] == "ok" and r["hashes"]["pdq"]["hex"] == hash_file(root / ("n" * 251 + ".png"), ["pdq"],
               mode="fast")["hashes"]["pdq"]["hex"] for r in records.values())
