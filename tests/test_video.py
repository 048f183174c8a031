"""Video hashing: vPDQ's sampling and per-frame PDQ, bad videos, letterbox trimming, video lists."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from ocsea_match import MediaError, hash_file, load_list
from ocsea_match.formats import dump_list, read_list_text
from ocsea_match.video import content_box, hash_video

import videoclips as vc
from helpers import SHARED, oracle

CORPUS_VIDEOS = SHARED / "corpus" / "videos"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    return vc.write(folder / "source.mp4", vc.slideshow([vc.scene(i) for i in range(6)], 2.0))


def test_sampling_is_vpdq_s(source: Path) -> None:
    video = hash_video(source, dedupe_distance=None)
    assert [f.timestamp for f in video.frames] == [float(i) for i in range(12)]
    assert [f.frame_number for f in video.frames] == [i * vc.FPS for i in range(12)]
    assert video.sampled == 12 and video.fps == vc.FPS and not video.truncated
    assert (video.width, video.height) == (854, 480)
    half = hash_video(source, 0.5, dedupe_distance=None)
    # 0.5 s is not a frame time at 15 fps: the first frame at or after it (vPDQ would take every
    # int(7.5) = 7th frame and drift from media time)
    assert [f.timestamp for f in half.frames] == [round(np.ceil(i * vc.FPS / 2) / vc.FPS, 6) for i in range(24)]


def test_frame_hashes_equal_pdqhash_on_the_same_frames(source: Path) -> None:
    video = hash_video(source, dedupe_distance=None)
    frames = vc.decode_all(source)
    for f in video.frames:
        hex_, quality = oracle(frames[f.frame_number])
        assert (f.hash.hex, f.hash.quality) == (hex_, quality), f.timestamp


def test_dedupe_drops_only_near_identical_neighbours(tmp_path: Path) -> None:
    still = vc.write(tmp_path / "still.mp4", [vc.scene(1)] * (5 * vc.FPS) + [vc.scene(2)] * (3 * vc.FPS))
    kept = hash_video(still)
    assert [f.timestamp for f in kept.frames] == [0.0, 5.0] and kept.sampled == 8
    assert len(hash_video(still, dedupe_distance=None).frames) == 8


def test_letterboxed_frames_get_a_trimmed_hash_close_to_the_source(source: Path, tmp_path: Path) -> None:
    boxed = vc.write(tmp_path / "boxed.mp4", vc.letterbox(vc.decode_all(source)))
    original = hash_video(source, dedupe_distance=None).frames
    framed = hash_video(boxed, dedupe_distance=None).frames
    assert all(f.trimmed is not None for f in framed) and all(f.trimmed is None for f in original)
    whole = [f.hash - o.hash for f, o in zip(framed, original)]
    inner = [f.trimmed - o.hash for f, o in zip(framed, original)]
    assert max(inner) <= 31 and np.mean(inner) < np.mean(whole)
    decoded = vc.decode_all(boxed)  # the whole-frame hash stays the reference's (vPDQ's) hash
    assert all((f.hash.hex, f.hash.quality) == oracle(decoded[f.frame_number]) for f in framed)


def test_content_box() -> None:
    rng = np.random.default_rng(0)
    picture = rng.uniform(0, 255, (100, 200)).astype(np.float32)
    assert content_box(picture) is None
    boxed = np.full((140, 200), 3.0, np.float32)
    boxed[20:120] = picture
    assert content_box(boxed) == (20, 120, 0, 200)
    white_side = np.full((100, 260), 250.0, np.float32)
    white_side[:, 60:] = picture
    assert content_box(white_side) == (0, 100, 60, 260)
    assert content_box(np.zeros((50, 50), np.float32)) is None  # flat: not all border


def test_bad_videos_get_error_records(source: Path, tmp_path: Path) -> None:
    audio = vc.audio_only(tmp_path / "voice.m4a")
    assert hash_file(audio)["error"]["code"] == "no-video-frames"
    data = source.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # moov atom at the end: unreadable
    cut = hash_file(tmp_path / "cut.mp4")
    assert cut["status"] == "error" and cut["error"]["code"] in ("corrupt", "no-video-frames") and cut["sha256"]
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)
    assert hash_file(tmp_path / "junk.mp4")["status"] == "error"
    with pytest.raises(MediaError) as info:
        hash_video(source, max_pixels=854 * 480 - 1)
    assert info.value.code == "decompression-bomb"


def test_a_cut_off_streamable_video_keeps_the_frames_before_the_cut(source: Path, tmp_path: Path) -> None:
    webm = vc.write(tmp_path / "clip.webm", vc.decode_all(source)[: 6 * vc.FPS], codec="libvpx-vp9", crf=40)
    data = webm.read_bytes()
    (tmp_path / "cut.webm").write_bytes(data[: len(data) * 2 // 3])
    record = hash_file(tmp_path / "cut.webm")
    assert record["status"] == "ok" and record["truncated"] is True and record["warnings"]
    assert 1 <= len(record["frames"]) < 6


def test_video_records_are_lists(source: Path, tmp_path: Path) -> None:
    record = hash_file(source)
    assert record["media_type"] == "video" and record["status"] == "ok" and record["video"]["frames_kept"] == 12
    jsonl = tmp_path / "videos.jsonl"
    jsonl.write_text(json.dumps(record) + "\n")
    listed, report = load_list(jsonl)
    frames = [e for e in listed.entries if e.timestamp is not None]
    assert not report.problems and len(frames) == 12 and {e.entry_id for e in frames} == {str(source)}
    assert [e.timestamp for e in frames] == [float(i) for i in range(12)]
    assert {e.algorithm for e in listed.entries if e.timestamp is None} == {"md5", "sha1", "sha256"}
    back, _ = read_list_text(dump_list(listed, "jsonl"), "again")
    assert [(e.hex, e.timestamp, e.quality) for e in back.entries if e.timestamp is not None] == [
        (e.hex, e.timestamp, e.quality) for e in frames]
    vpdq_text = dump_list(HashListOf(frames), "vpdq")
    assert vpdq_text.splitlines()[1].split(",")[0] == "1"  # frameNumber,quality,hex,timestamp
    again, report = read_list_text(vpdq_text, "clip")
    assert report.format == "vpdq" and not report.problems
    assert [(e.hex, e.timestamp) for e in again.entries] == [(e.hex, e.timestamp) for e in frames]


def HashListOf(entries: list) -> object:  # noqa: N802 - reads as a constructor
    from ocsea_match.formats import HashList

    return HashList("clip", list(entries))


@pytest.mark.skipif(not CORPUS_VIDEOS.is_dir(), reason=f"{CORPUS_VIDEOS} is absent (CI always has it)")
def test_corpus_videos_hash() -> None:
    for path in sorted(CORPUS_VIDEOS.iterdir()):
        video = hash_video(path, dedupe_distance=None)
        with av.open(str(path)) as c:
            seconds = float(c.duration) / 1e6
        assert len(video.frames) == int(seconds) and not video.truncated
