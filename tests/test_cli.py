"""The ocsea-match command: records, formats, recursion, exit codes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ocsea_match.cli import EXIT_CANNOT_RUN, EXIT_FILE_ERRORS, EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def tree(tmp_path: Path, images: dict[str, Image.Image]) -> Path:
    (tmp_path / "a" / "b").mkdir(parents=True)
    images["photo-400x300"].save(tmp_path / "a" / "photo.jpg", quality=90)
    images["checker"].save(tmp_path / "a" / "b" / "checker.png")
    images["rgba"].save(tmp_path / "top.png")
    return tmp_path


def test_hash_folder_jsonl_to_file(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("case") / "out.jsonl"
    code = main(["hash", str(tree), "--algo", "pdq,phash", "-o", str(out), "--jobs", "1", "--quiet"])
    assert code == EXIT_OK
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["path"]).name for r in records] == ["top.png", "photo.jpg", "checker.png"]
    assert all(r["status"] == "ok" and set(r["hashes"]) == {"pdq", "phash"} for r in records)
    assert len(records[0]["hashes"]["pdq"]["hex"]) == 64 and len(records[0]["hashes"]["phash"]["hex"]) == 16


def test_csv_and_failed_files_exit_1(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 10)
    code = main(["hash", str(tree), "--format", "csv", "--jobs", "2"])
    captured = capsys.readouterr()
    assert code == EXIT_FILE_ERRORS
    rows = list(csv.DictReader(captured.out.splitlines()))
    assert len(rows) == 4
    broken = next(r for r in rows if r["path"].endswith("broken.jpg"))
    assert broken["status"] == "error" and broken["error_code"] == "corrupt"
    assert all(len(r["pdq"]) == 64 for r in rows if r["status"] == "ok")
    assert "4 files" in captured.err and "1 failed" in captured.err


@pytest.mark.parametrize(
    "argv",
    [["hash"], ["hash", "x", "--algo", "md6"], ["hash", "x", "--jobs", "0"], ["frobnicate"]],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == EXIT_CANNOT_RUN


def test_unwritable_output_exits_2(tree: Path) -> None:
    assert main(["hash", str(tree), "-o", str(tree / "no" / "such" / "dir" / "out.jsonl")]) == EXIT_CANNOT_RUN


def test_installed_command_runs(tree: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ocsea_match", "hash", str(tree / "top.png"), "--quiet"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "ok"
    assert "Traceback" not in result.stderr


def test_match_with_a_list_and_with_a_saved_index(tree: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    from ocsea_match import hash_image

    work = tmp_path_factory.mktemp("lists")
    listed = tree / "a" / "photo.jpg"
    h = hash_image(listed, ["pdq"])["pdq"]
    known = work / "known_list.csv"
    known.write_text(f"hash,quality,id,category\n{h.hex},{h.quality},P1,2\nnot-a-hash,1,P2,2\n")
    code = main(["match", str(tree), "--list", str(known), "--jobs", "1", "--format", "jsonl"])
    captured = capsys.readouterr()
    assert code == 3  # EXIT_MATCHES
    records = [json.loads(line) for line in captured.out.splitlines()]
    by_name = {Path(r["path"]).name: r for r in records}
    assert [m["entry_id"] for m in by_name["photo.jpg"]["matches"]] == ["P1"]
    assert [m["entry_id"] for m in by_name["top.png"]["matches"]] == ["P1"]  # the same photo, as RGBA PNG
    assert by_name["checker.png"]["matches"] == [] and "pdq" in by_name["checker.png"]["hashes"]
    assert "line 3" in captured.err and "2 matched" in captured.err

    index_dir = work / "idx"
    assert main(["index", "build", str(known), "-o", str(index_dir), "--threshold", "pdq=20"]) == EXIT_OK
    capsys.readouterr()
    code = main(["match", str(listed), "--index", str(index_dir), "--jobs", "1", "--format", "csv"])
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert code == 3 and rows[0]["match_count"] == "1" and rows[0]["matches"].startswith("known_list:P1:pdq:")
    code = main(["match", str(tree / "a" / "b" / "checker.png"), "--index", str(index_dir), "--jobs", "1", "--format", "table"])
    assert code == EXIT_OK and capsys.readouterr().out.startswith("-")


def test_match_without_lists_or_with_a_broken_one_exits_2(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert main(["match", str(tree)]) == EXIT_CANNOT_RUN
    empty = tmp_path_factory.mktemp("l") / "empty.csv"
    empty.write_text("")
    assert main(["match", str(tree), "--list", str(empty)]) == EXIT_CANNOT_RUN
    assert main(["match", str(tree), "--index", str(empty.parent / "no-index")]) == EXIT_CANNOT_RUN
