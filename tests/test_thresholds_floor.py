"""Settings that cannot mean "the same picture" are refused, quiet misses are said (issue #11,
items 9 and 10): thresholds per algorithm, the PDQ quality floor (saved with an index), and
algorithms hashed that the lists do not carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsea_match import HashIndex, HashList, IndexFileError, ListEntry, hash_file
from ocsea_match.cli import EXIT_CANNOT_RUN, EXIT_MATCHES, EXIT_OK, main
from ocsea_match.index import open_index
from ocsea_match.thresholds import MAX_THRESHOLDS, check_thresholds

H1 = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"


@pytest.mark.parametrize("name, value", [("pdq", 64), ("pdq", 300), ("phash", 16), ("whash", 40), ("pdq", -1),
                                         ("pdq-robust", 64)])
def test_thresholds_out_of_range_are_refused_by_the_api(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"{name}={value} is outside 0-{MAX_THRESHOLDS[name]}"):
        HashIndex(thresholds={name: value})


def test_threshold_ranges_and_other_mistakes() -> None:
    assert MAX_THRESHOLDS == {"pdq": 63, "phash": 15, "dhash": 15, "ahash": 15, "whash": 15, "pdq-robust": 63}
    assert check_thresholds({"pdq": 63, "phash": 0}) == {"pdq": 63, "phash": 0}
    with pytest.raises(ValueError, match="every PDQ dialect"):
        check_thresholds({"pdq-thumb512": 20})
    with pytest.raises(ValueError, match="not a whole number"):
        check_thresholds({"pdq": 3.5})
    with pytest.raises(ValueError, match="0 to 100"):
        HashIndex(pdq_quality_floor=101)


def test_cli_threshold_300_is_refused_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "known_list.txt"
    listed.write_text(H1 + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        main(["index", "build", str(listed), "-o", str(tmp_path / "i"), "--threshold", "pdq=300"])
    assert caught.value.code == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert "pdq=300 is outside 0-63" in err and "unrelated pictures differ in about 128" in err
    assert not (tmp_path / "i").exists()


def test_an_altered_threshold_in_a_saved_index_is_refused(tmp_path: Path) -> None:
    index, _ = HashIndex.from_lists([HashList("k", [ListEntry("1", "pdq", H1)])])
    index.save(tmp_path / "index")
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    manifest["thresholds"]["pdq"] = 300
    (tmp_path / "index" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFileError, match="outside 0-63"):
        HashIndex.load(tmp_path / "index")


@pytest.fixture()
def picture(tmp_path: Path, images: dict) -> tuple[Path, str]:
    path = tmp_path / "pictures" / "photo.png"
    path.parent.mkdir()
    images["photo-400x300"].save(path)
    return path, hash_file(path, ["pdq"])["hashes"]["pdq"]["hex"]


def test_quality_floor_option_saved_with_the_index(tmp_path: Path, picture: tuple[Path, str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, pdq = picture
    listed = tmp_path / "known_list.csv"
    listed.write_text(f"hash,id,quality\n{pdq},LOWQ,30\n", encoding="utf-8")
    assert main(["index", "build", str(listed), "-o", str(tmp_path / "default")]) == EXIT_CANNOT_RUN
    assert "entry LOWQ: PDQ quality 30 is under the floor 50" in capsys.readouterr().err
    assert main(["index", "build", str(listed), "-o", str(tmp_path / "i20"), "--pdq-quality-floor", "20"]) == EXIT_OK
    assert HashIndex.load(tmp_path / "i20").pdq_quality_floor == 20
    capsys.readouterr()
    assert main(["match", str(path), "--index", str(tmp_path / "i20"), "--jobs", "1", "--format", "jsonl"]) == EXIT_MATCHES
    assert json.loads(capsys.readouterr().out)["matches"][0]["entry_id"] == "LOWQ"
    # a different floor than the index was built with cannot be honoured: refused
    assert main(["match", str(path), "--index", str(tmp_path / "i20"), "--pdq-quality-floor", "60"]) == EXIT_CANNOT_RUN
    assert "built with the PDQ quality floor 20" in capsys.readouterr().err
    # with --list the floor applies at once
    assert main(["match", str(path), "--list", str(listed), "--pdq-quality-floor", "25", "--jobs", "1"]) == EXIT_MATCHES
    with pytest.raises(SystemExit) as caught:
        main(["match", str(path), "--list", str(listed), "--pdq-quality-floor", "101"])
    assert caught.value.code == EXIT_CANNOT_RUN


def test_an_index_saved_without_a_floor_loads_with_50(tmp_path: Path) -> None:
    index, _ = HashIndex.from_lists([HashList("k", [ListEntry("1", "pdq", H1)])], pdq_quality_floor=10)
    index.save(tmp_path / "index")
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    del manifest["pdq_quality_floor"]  # as written before the floor was a setting
    (tmp_path / "index" / "manifest.json").write_text(json.dumps(manifest))
    assert HashIndex.load(tmp_path / "index").pdq_quality_floor == 50
    assert open_index(tmp_path / "index").pdq_quality_floor == 50


def test_scan_takes_the_floor(tmp_path: Path, picture: tuple[Path, str]) -> None:
    from ocsea_match import run_scan

    path, pdq = picture
    listed = tmp_path / "known_list.csv"
    listed.write_text(f"hash,id,quality\n{pdq},LOWQ,30\n", encoding="utf-8")
    summary = run_scan([path.parent], tmp_path / "case", lists=[listed], pdq_quality_floor=20, progress="none",
                       algorithms=["pdq"])
    assert summary["files_matched"] == 1
    provenance = json.loads((tmp_path / "case" / "provenance.json").read_text())
    assert provenance["parameters"]["pdq_quality_floor"] == 20


def test_algorithms_the_lists_do_not_carry_are_warned_about(tmp_path: Path, picture: tuple[Path, str],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path, pdq = picture
    listed = tmp_path / "known_list.txt"
    listed.write_text(pdq + "\n", encoding="utf-8")
    assert main(["match", str(path), "--list", str(listed), "--algo", "phash", "--jobs", "1"]) == EXIT_OK
    err = capsys.readouterr().err
    assert "warning: pictures are hashed with phash, so the lists' pdq (1 row) cannot match them" in err
    assert main(["match", str(path), "--list", str(listed), "--jobs", "1"]) == EXIT_MATCHES
    assert "warning" not in capsys.readouterr().err


def test_scan_says_when_the_lists_algorithms_are_not_hashed(tmp_path: Path, picture: tuple[Path, str]) -> None:
    from ocsea_match import run_scan

    path, pdq = picture
    listed = tmp_path / "known_list.txt"
    listed.write_text(pdq + "\n", encoding="utf-8")
    seen = []
    summary = run_scan([path.parent], tmp_path / "case", lists=[listed], algorithms=["phash"], progress="none",
                       on_list_report=seen.append)
    assert summary["files_matched"] == 0
    note = "pictures are hashed with phash, so the lists' pdq (1 row) cannot match them"
    assert any(note in n for n in seen[0].notes)
    provenance = json.loads((tmp_path / "case" / "provenance.json").read_text())
    assert any(note in n for n in provenance["lists"][0]["notes"])
