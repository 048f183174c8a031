"""Video matching: a listed video is found in its edited copies, not in other videos; a listed
picture shown in a video is found at its time; the CLI and a saved index do the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsea_match import HashIndex, hash_file, hash_image, load_list
from ocsea_match.cli import EXIT_MATCHES, EXIT_OK, main
from ocsea_match.formats import HashList, ListEntry
from video_helpers import frames_of, match_video

import videoclips as vc
from helpers import SHARED

CORPUS_VIDEOS = SHARED / "corpus" / "videos"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("video-match")
    frames = vc.slideshow([vc.scene(i) for i in range(6)], 2.0)
    source = vc.write(folder / "source.mp4", frames)
    decoded = vc.decode_all(source)
    out = {"source": source}
    out["reencoded"] = vc.write(folder / "reencoded.webm", decoded, codec="libvpx-vp9", crf=50)
    out["scaled"] = vc.write(folder / "scaled.mp4", decoded, size=(640, 360), crf=30)
    out["cut"] = vc.write(folder / "cut.mp4", decoded[3 * vc.FPS:])
    out["letterboxed"] = vc.write(folder / "letterboxed.mp4", vc.letterbox(decoded))
    out["faster"] = vc.write(folder / "faster.mp4", decoded[::2])
    out["other"] = vc.write(folder / "other.mp4", vc.slideshow([vc.scene(i) for i in range(20, 26)], 2.0))
    out["with_still"] = vc.write(folder / "with_still.mp4", vc.slideshow([vc.scene(30), vc.scene(9), vc.scene(31)], 3.0))
    listed = folder / "videos.jsonl"
    listed.write_text(json.dumps({**hash_file(source), "entry_id": "V1", "category": "2"}) + "\n")
    out["list"] = listed
    return out


@pytest.fixture(scope="module")
def index(clips: dict[str, Path]) -> HashIndex:
    still = hash_image(vc.scene(9), ["pdq"])["pdq"]
    pictures = HashList("pictures", [ListEntry("P9", "pdq", still.hex, category="1", quality=still.quality)])
    idx, reports = HashIndex.from_lists([clips["list"], pictures])
    assert not reports[0].problems
    return idx


def _video_match(index: HashIndex, path: Path) -> dict | None:
    found = [m for m in index.match(hash_file(path)) if m["algorithm"] == "vpdq"]
    return found[0] if found else None


@pytest.mark.parametrize("edit", ["source", "reencoded", "scaled", "cut", "letterboxed", "faster"])
def test_edited_copies_match_their_source(index: HashIndex, clips: dict[str, Path], edit: str) -> None:
    match = _video_match(index, clips[edit])
    assert match is not None, edit
    assert (match["list"], match["entry_id"], match["category"]) == ("videos", "V1", "2")
    assert match["query_share"] >= 0.8 and match["distance"] <= match["threshold"] == 31
    if edit == "cut":  # the copy's 0 s is the source's 3 s
        assert all(abs((listed - query) - 3.0) <= 1.0 for query, listed in match["timestamps"])


def test_other_videos_do_not_match(index: HashIndex, clips: dict[str, Path]) -> None:
    assert index.match(hash_file(clips["other"])) == []


def test_a_listed_picture_is_found_at_its_time_in_a_video(index: HashIndex, clips: dict[str, Path]) -> None:
    matches = index.match(hash_file(clips["with_still"]))
    assert [(m["entry_id"], m["algorithm"]) for m in matches] == [("P9", "pdq")]
    assert matches[0]["timestamps"] and all(3.0 <= t < 6.0 for t in matches[0]["timestamps"])


def test_a_frame_of_a_listed_video_shown_as_a_picture(index: HashIndex) -> None:
    frame = vc.slideshow([vc.scene(4)], 2.0)[0]  # the source's frame at 8 s
    matches = index.match({"hashes": hash_image(frame, ["pdq"])})
    assert matches[0]["entry_id"] == "V1" and matches[0]["listed_timestamp"] == 8.0


def test_the_index_agrees_with_the_brute_force_rule(index: HashIndex, clips: dict[str, Path]) -> None:
    listed = {"V1": frames_of(hash_file(clips["source"])["frames"])}
    for edit in ("cut", "faster", "other"):
        query = frames_of(hash_file(clips[edit])["frames"])
        brute = match_video(query, listed)
        ours = _video_match(index, clips[edit])
        assert (ours is not None) == ("V1" in brute), edit
        if ours is not None:
            assert ours["query_share"] == pytest.approx(brute["V1"]["query_share"], abs=1e-3)
            assert ours["listed_share"] == pytest.approx(brute["V1"]["listed_share"], abs=1e-3)


def test_shares_are_configurable_and_saved(index: HashIndex, clips: dict[str, Path], tmp_path: Path) -> None:
    strict = HashIndex.from_lists([clips["list"]], video_listed_share=0.9)[0]
    assert _video_match(strict, clips["cut"]) is None  # the cut copy has 9 of the 12 listed frames
    assert _video_match(strict, clips["source"]) is not None
    strict.save(tmp_path / "ix")
    again = HashIndex.load(tmp_path / "ix")
    assert again.video_listed_share == 0.9
    assert _video_match(again, clips["cut"]) is None and _video_match(again, clips["letterboxed"]) is not None


def test_cli_lists_a_hashed_video_and_matches_a_copy(clips: dict[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "listed.jsonl"
    assert main(["hash", str(clips["source"]), "-o", str(listed), "--jobs", "1", "--quiet"]) == EXIT_OK
    assert load_list(listed)[1].problems == []
    capsys.readouterr()
    code = main(["match", str(clips["faster"]), "--list", str(listed), "--jobs", "1", "--format", "jsonl", "--quiet"])
    assert code == EXIT_MATCHES
    record = json.loads(capsys.readouterr().out)
    assert record["matches"][0]["algorithm"] == "vpdq"


@pytest.mark.skipif(not CORPUS_VIDEOS.is_dir(), reason=f"{CORPUS_VIDEOS} is absent (CI always has it)")
def test_the_two_corpus_videos_do_not_match_each_other(tmp_path: Path) -> None:
    a, b = sorted(CORPUS_VIDEOS.iterdir())
    listed = tmp_path / "a.jsonl"
    listed.write_text(json.dumps(hash_file(a)) + "\n")
    index = HashIndex.from_lists([listed])[0]
    assert [m for m in index.match(hash_file(b)) if m["algorithm"] == "vpdq"] == []
    assert _video_match(index, a) is not None
