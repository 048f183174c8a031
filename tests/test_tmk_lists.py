"""TMK+PDQF lists: folders of .tmk files, single .tmk files and JSONL records carrying them,
matched by the index (saved and loaded), ``hash``/``match`` on the command line, and Meta's
sample .tmk files used as a list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsea_match import TMK, HashIndex, ListError, hash_file, hash_video_tmk, load_list
from ocsea_match.cli import EXIT_MATCHES, main
from ocsea_match.formats import dump_list, read_list_text
from ocsea_match.tmk_lists import tmk_to_text

import videoclips as vc
from helpers import SHARED

REFERENCE = SHARED / "video-reference" / "tmk"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tmkclips")
    source = vc.write(folder / "source.mp4", vc.slideshow([vc.scene(i) for i in range(3)], 1.4))
    return {
        "source": source,
        "copy": vc.write(folder / "copy.mp4", vc.decode_all(source), crf=30, size=(426, 240)),
        "other": vc.write(folder / "other.mp4", vc.slideshow([vc.scene(20 + i) for i in range(3)], 1.4)),
    }


@pytest.fixture(scope="module")
def listed(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("known_tmks")
    for name in ("source", "other"):
        (folder / f"{name}.tmk").write_bytes(hash_video_tmk(clips[name]).to_bytes())
    return folder


def test_a_folder_of_tmk_files_is_a_list(listed: Path, clips: dict[str, Path], tmp_path: Path) -> None:
    hash_list, report = load_list(listed)
    assert report.format == "tmk" and report.loaded == 2 and report.problems == []
    assert sorted(e.entry_id for e in hash_list.entries) == ["other", "source"]
    index, _ = HashIndex.from_lists([hash_list])
    assert "tmk" in index.algorithms
    matches = index.match({"tmk": tmk_to_text(hash_video_tmk(clips["copy"]))})
    assert [(m["entry_id"], m["algorithm"]) for m in matches] == [("source", "tmk")]
    assert matches[0]["level1"] >= 0.9 and matches[0]["level2"] >= 0.9
    assert matches[0]["distance"] == pytest.approx(1 - min(matches[0]["level1"], matches[0]["level2"]), abs=1e-6)
    index.save(tmp_path / "saved")
    again = HashIndex.load(tmp_path / "saved")
    assert again.match({"tmk": hash_video_tmk(clips["copy"])}) == matches  # a TMK object works too


def test_single_files_jsonl_records_and_bad_files(listed: Path, tmp_path: Path) -> None:
    single, report = load_list(listed / "source.tmk")
    assert report.format == "tmk" and [e.entry_id for e in single.entries] == ["source"]
    data = (listed / "source.tmk").read_bytes()
    jsonl = tmp_path / "known.jsonl"
    jsonl.write_text(json.dumps({"entry_id": "A1", "category": "1", "tmk": tmk_to_text(TMK.from_bytes(data))}) + "\n"
                     + json.dumps({"entry_id": "A2", "tmk": "bm90IGEgdG1r"}) + "\n")
    from_jsonl, report = load_list(jsonl)
    assert [(e.entry_id, e.category, e.algorithm) for e in from_jsonl.entries] == [("A1", "1", "tmk")]
    assert {n for n, _ in report.problems} == {2} and "bad tmk" in report.problems[0][1]
    written = dump_list(load_list(listed)[0], "jsonl")  # convert: a folder of .tmk files to JSONL
    again, report = read_list_text(written, "again")
    assert report.problems == [] and [e.entry_id for e in again.entries] == ["other", "source"]
    assert again.tmk_files == load_list(listed)[0].tmk_files
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "cut.tmk").write_bytes(data[:5000])
    (broken / "ok.tmk").write_bytes(data)
    hash_list, report = load_list(broken)
    assert [e.entry_id for e in hash_list.entries] == ["ok"] and "cut.tmk" in report.problems[0][1]
    with pytest.raises(ListError, match="no .tmk file"):
        load_list(tmp_path)  # a folder without .tmk files (only a subfolder) is not a list


def test_hash_and_match_on_the_command_line(clips: dict[str, Path], listed: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    record = hash_file(clips["source"], ["pdq", "tmk"])
    assert record["status"] == "ok" and record["frames"] and record["video"]["tmk_frames"] > 0
    hashed = tmp_path / "hashed.jsonl"
    hashed.write_text(json.dumps(record) + "\n")
    assert load_list(hashed)[0].entries[-1].algorithm == "tmk"  # a hash record is a list entry
    capsys.readouterr()
    code = main(["match", str(clips["copy"]), str(clips["other"]), "--list", str(listed), "--jobs", "1", "--format", "jsonl",
                 "--quiet"])
    assert code == EXIT_MATCHES
    out = {Path(r["path"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert [(m["entry_id"], m["algorithm"]) for m in out["copy.mp4"]["matches"]] == [("source", "tmk")]
    assert [(m["entry_id"], m["algorithm"]) for m in out["other.mp4"]["matches"]] == [("other", "tmk")]


@pytest.mark.skipif(not (REFERENCE / "sample-videos").is_dir(), reason=f"{REFERENCE} is absent (CI always has it)")
def test_meta_s_tmk_files_as_a_list() -> None:
    index, reports = HashIndex.from_lists([REFERENCE / "sample-hashes"])
    assert reports[0].loaded == 15 and reports[0].problems == []
    found = index.match({"tmk": hash_video_tmk(REFERENCE / "sample-videos" / "pattern-sd-grey-bar.mp4")})
    assert {m["entry_id"] for m in found} == {"pattern-sd-grey-bar", "pattern-hd-no-bar", "pattern-longer-no-bar",
                                              "pattern-sd-with-small-logo-bar"}
    assert found[0]["entry_id"] == "pattern-sd-grey-bar" and found[0]["level2"] >= 0.99999


def test_the_scan_matches_tmk_lists(clips: dict[str, Path], listed: Path, tmp_path: Path) -> None:
    from ocsea_match import scan
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "clip.mp4").write_bytes(clips["copy"].read_bytes())
    (seized / "picture.png").write_bytes((Path(__file__).parents[1] / "examples" / "images" / "gradient.png").read_bytes())
    records = {Path(r["path"]).name: r for r in scan([seized], lists=[listed])}
    assert records["picture.png"]["status"] == "ok"
    assert [(m["entry_id"], m["algorithm"]) for m in records["clip.mp4"]["matches"] if m["algorithm"] == "tmk"] == [("source", "tmk")]
