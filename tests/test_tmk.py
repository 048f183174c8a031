"""TMK+PDQF: agreement with Meta's .tmk files of Meta's sample clips, the match matrix, the file
format, bad input, and generated clips (plain clone)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ocsea_match import TMK, MediaError, hash_video_tmk, load_tmk
from ocsea_match.tmk import TMK_FILE_SIZE, TMKError, _FrameRateRule, _needed_frames, hash_video_with_tmk
from ocsea_match.video import hash_video
from video_helpers import tmk_with_every_frame_decoded

import videoclips as vc
from helpers import SHARED

REFERENCE = SHARED / "video-reference" / "tmk"
needs_reference = pytest.mark.skipif(
    not (REFERENCE / "sample-hashes").is_dir(),
    reason=f"{REFERENCE} is absent (a plain clone has no ../shared; CI always has it)",
)


def _meta(name: str) -> TMK:
    return load_tmk(REFERENCE / "sample-hashes" / f"{name}.tmk")


def _matches(a: TMK, b: TMK) -> bool:
    l1, l2 = a.score(b)
    return l1 >= 0.7 and l2 >= 0.7


@pytest.fixture(scope="module")
def ours() -> dict[str, TMK]:
    if not (REFERENCE / "sample-videos").is_dir():
        pytest.skip(f"{REFERENCE} is absent (a plain clone has no ../shared; CI always has it)")
    return {p.stem: hash_video_tmk(p) for p in sorted((REFERENCE / "sample-videos").glob("*.mp4"))}


@needs_reference
def test_meta_files_round_trip_byte_for_byte() -> None:
    for path in sorted((REFERENCE / "sample-hashes").glob("*.tmk")):
        data = path.read_bytes()
        tmk = TMK.from_bytes(data)
        assert len(data) == TMK_FILE_SIZE == 263_344
        assert tmk.to_bytes() == data
        assert tmk.fps == 15 and tmk.periods == (2731, 4391, 9767, 14653) and tmk.cos.shape == (4, 32, 256)


@needs_reference
def test_meta_pair_scores_as_meta_publishes_them() -> None:
    # tmk/README.md: "0.999750 0.999720 chair-22-sd-sepia-bar.tmk chair-orig-22-sd-bar.tmk"
    l1, l2 = _meta("chair-22-sd-sepia-bar").score(_meta("chair-orig-22-sd-bar"))
    assert l1 == pytest.approx(0.999750, abs=2e-6) and l2 == pytest.approx(0.999720, abs=2e-6)
    l1, l2 = _meta("doorknob-hd-no-bar").score(_meta("pattern-sd-with-large-logo-bar"))
    assert l1 == pytest.approx(-0.310042, abs=2e-6) and l2 == pytest.approx(0.017566, abs=2e-6)


@needs_reference
def test_our_tmk_agrees_with_meta_on_every_sample(ours: dict[str, TMK]) -> None:
    compared = 0
    for name, tmk in ours.items():
        meta_path = REFERENCE / "sample-hashes" / f"{name}.tmk"
        if not meta_path.exists():
            continue  # test-padded-dimensions.mp4 has no .tmk
        meta = load_tmk(meta_path)
        assert tmk.frame_count == meta.frame_count, name  # FFmpeg's -r 15 rule, frame for frame
        l1, l2 = tmk.score(meta)
        # measured: both >= 0.999998 on every sample (the issue asks for >= 0.98)
        assert l1 >= 0.99999 and l2 >= 0.99999, (name, l1, l2)
        assert np.abs(tmk.average - meta.average).max() <= 1e-3 * np.abs(meta.average).max(), name
        compared += 1
    assert compared == 13


@needs_reference
def test_match_matrix_is_meta_s(ours: dict[str, TMK]) -> None:
    """Every pair of sample clips matches (or not) exactly as Meta's own .tmk files do; the
    colour, logo and length variants match their original, different clips never match."""
    names = [n for n in ours if (REFERENCE / "sample-hashes" / f"{n}.tmk").exists()]
    for a, b in itertools.combinations(names, 2):
        assert _matches(ours[a], ours[b]) == _matches(_meta(a), _meta(b)), (a, b)
        if a.split("-")[0] != b.split("-")[0]:
            assert not _matches(ours[a], ours[b]), (a, b)
    original = ours["chair-orig-22-sd-bar"]
    for variant in ("chair-22-sd-grey-bar", "chair-22-sd-sepia-bar", "chair-22-with-small-logo-bar", "chair-20-sd-bar",
                    "chair-19-sd-bar"):
        assert _matches(original, ours[variant]), variant
    # letterbox: the clip without bars is missing from the sample set; Meta's .tmk of it is there
    for no_bar in ("chair-orig-22-hd-no-bar", "chair-orig-22-fhd-no-bar"):
        assert _matches(original, _meta(no_bar)), no_bar
    assert _matches(ours["pattern-hd-no-bar"], ours["pattern-sd-grey-bar"])
    assert _matches(ours["pattern-hd-no-bar"], ours["pattern-longer-no-bar"])
    # the large logo covers too much: Meta's own scores stay under 0.7 too
    assert not _matches(original, ours["chair-22-with-large-logo-bar"])


def test_frame_rate_rule_is_ffmpeg_s() -> None:
    rule = _FrameRateRule(0.5)  # 30 fps -> 15 fps: FFmpeg keeps 0, 1, 2, 3, then every other frame
    shown = [rule.push(i * 0.5) for i in range(12)]
    assert [i for i, (_, n) in enumerate(shown) if n] == [0, 1, 2, 3, 5, 7, 9, 11]
    rule = _FrameRateRule(1.0)  # 7.5 fps -> 15 fps: every frame twice
    assert [rule.push(i * 2.0)[1] for i in range(5)] == [1, 2, 2, 2, 2]
    rule = _FrameRateRule(1.0)  # a gap in the timestamps: the frame before it fills half the gap
    assert [rule.push(t) for t in (0.0, 1.0, 5.0)] == [(0, 1), (0, 1), (2, 2)]


def test_generated_clips(tmp_path: Path) -> None:
    scenes = [vc.scene(i) for i in range(4)]
    source = vc.write(tmp_path / "source.mp4", vc.slideshow(scenes, 1.5))
    other = vc.write(tmp_path / "other.mp4", vc.slideshow([vc.scene(10 + i) for i in range(4)], 1.5))
    frames = vc.decode_all(source)
    reencoded = vc.write(tmp_path / "small.mp4", frames, crf=32, size=(426, 240))
    vp9 = vc.write(tmp_path / "small.webm", frames[::2], fps=8, codec="libvpx-vp9", crf=40, size=(320, 180))
    a = hash_video_tmk(source)
    assert a.frame_count == len(frames) == 88 and not a.truncated  # 15 fps in, 15 fps out
    assert TMK.from_bytes(a.to_bytes()).to_bytes() == a.to_bytes()
    assert a.score(a)[0] == pytest.approx(1.0, abs=1e-6) and a.score(a)[1] == pytest.approx(1.0, abs=1e-5)
    assert a.matches(hash_video_tmk(reencoded))
    assert a.matches(hash_video_tmk(vp9.read_bytes()))  # bytes in; VP9, 180p, 15 -> 8 fps
    assert not a.matches(hash_video_tmk(other))


def test_skipping_dropped_frames_changes_nothing(tmp_path: Path) -> None:
    """Frames the 15 fps rule drops and nothing refers to are not decoded; the TMK is the same
    bytes as when every frame is decoded (30 fps H.264 with B-frames: about a quarter skipped)."""
    clip = vc.write(tmp_path / "clip30.mp4", vc.fast_motion(3, seconds=3.0), fps=30)
    needed = _needed_frames(clip)
    assert needed is not None and len(needed) < 90
    every = tmk_with_every_frame_decoded(clip)
    assert hash_video_tmk(clip).to_bytes() == every.to_bytes()
    assert hash_video_tmk(clip.read_bytes()).to_bytes() == every.to_bytes()
    with open(clip, "rb") as f:
        assert hash_video_tmk(f).to_bytes() == every.to_bytes()


def test_one_decoding_pass_for_vpdq_and_tmk(tmp_path: Path) -> None:
    clip = vc.write(tmp_path / "clip30.mp4", vc.fast_motion(5, seconds=3.0), fps=30)
    video, tmk = hash_video_with_tmk(clip.read_bytes(), 0.5)
    alone = hash_video(clip, 0.5)
    assert [(f.timestamp, f.hash, f.trimmed) for f in video.frames] == [(f.timestamp, f.hash, f.trimmed) for f in alone.frames]
    assert tmk.to_bytes() == hash_video_tmk(clip).to_bytes()
    with pytest.raises(MediaError):
        hash_video_with_tmk(b"not a video")


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as info:
        hash_video_tmk(b"not a video at all")
    assert info.value.code == "corrupt"
    with pytest.raises(MediaError) as info:
        hash_video_tmk(vc.audio_only(tmp_path / "sound.m4a"))
    assert info.value.code == "no-video-frames"
    good = hash_video_tmk(vc.write(tmp_path / "c.mp4", vc.slideshow([vc.scene(1)], 1.0))).to_bytes()
    for bad, reason in ((good[:1000], "announces"), (b"TMK1FVECPDQG" + good[12:], "PDQF"), (b"x" * 8, "too short"),
                        (b"TMK1VSTR" + good[8:], "magic")):
        with pytest.raises(TMKError, match=reason):
            TMK.from_bytes(bad)
    path = tmp_path / "bad.tmk"
    path.write_bytes(good[:-4])
    with pytest.raises(TMKError):
        load_tmk(path)
