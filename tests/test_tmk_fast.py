"""TMK+PDQF's fast path (``fast=True``, and ``mode="fast"`` in ``hash_file``): each frame's luma
plane scaled to 64x64 alone instead of the RGB picture. Not Meta's bits; these tests bound how far
it strays from the exact TMK and from Meta's files, and check it matches what the exact one does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ocsea_match import hash_file, hash_video_tmk, load_tmk
from ocsea_match._tmk import pdqf_gray_rows, pdqf_into
from ocsea_match.tmk import hash_video_with_tmk
from ocsea_match.tmk_lists import tmk_to_text
from video_helpers import tmk_with_every_frame_decoded

import videoclips as vc
from helpers import SHARED

REFERENCE = SHARED / "video-reference" / "tmk"


def test_the_gray_feature_is_the_rgb_feature_of_a_gray_frame() -> None:
    gray = np.random.default_rng(3).integers(0, 256, (64, 80), dtype=np.uint8)  # rows padded to 80 bytes
    fast, exact = np.empty(256, np.float32), np.empty(256, np.float32)
    pdqf_gray_rows(gray, fast)
    pdqf_into(np.ascontiguousarray(np.dstack([gray[:, :64]] * 3)), exact)
    # 0.299 v + 0.587 v + 0.114 v in float32 is v within an ulp or two
    assert np.allclose(fast, exact, rtol=0, atol=1e-3 * np.abs(exact).max())
    with pytest.raises(ValueError):
        pdqf_gray_rows(gray[:, :63].copy(), fast)


def test_fast_tmk_of_generated_clips(tmp_path: Path) -> None:
    source = vc.write(tmp_path / "source.mp4", vc.slideshow([vc.scene(i) for i in range(4)], 1.5))
    other = vc.write(tmp_path / "other.mp4", vc.slideshow([vc.scene(10 + i) for i in range(4)], 1.5))
    small = vc.write(tmp_path / "small.mp4", vc.decode_all(source), crf=32, size=(426, 240))
    exact, fast = hash_video_tmk(source), hash_video_tmk(source, fast=True)
    assert fast.frame_count == exact.frame_count
    assert min(fast.score(exact)) > 0.999
    assert fast.matches(hash_video_tmk(small, fast=True)) and fast.matches(hash_video_tmk(small))
    assert not fast.matches(hash_video_tmk(other, fast=True)) and not fast.matches(hash_video_tmk(other))
    _, together = hash_video_with_tmk(source, fast=True)
    assert together.to_bytes() == fast.to_bytes()
    # hash_file: the fast mode's TMK is the fast one, the exact mode's the exact one
    assert hash_file(source, ["tmk"], mode="fast")["tmk"] == tmk_to_text(fast)
    assert hash_file(source, ["tmk"], mode="exact")["tmk"] == tmk_to_text(exact)


@pytest.mark.skipif(not (REFERENCE / "sample-videos").is_dir(), reason=f"{REFERENCE} is absent (Meta's TMK sample clips)")
@pytest.mark.parametrize("name", ["doorknob-hd-no-bar", "pattern-sd-grey-bar", "chair-22-sd-sepia-bar"])
def test_fast_tmk_agrees_with_metas_files(name: str) -> None:
    level1, level2 = hash_video_tmk(REFERENCE / "sample-videos" / f"{name}.mp4", fast=True).score(
        load_tmk(REFERENCE / "sample-hashes" / f"{name}.tmk"))
    # the exact path scores >= 0.9999985 on every sample; the fast one loses most on doorknob's
    # near-flat stretch, where each frame's small feature is close to rounding noise (README, "Video speed")
    floor = 0.997 if name.startswith("doorknob") else 0.9999
    assert level1 >= floor and level2 >= floor


def test_an_intra_only_clip_skips_the_frames_the_rule_drops(tmp_path: Path) -> None:
    """MJPEG: the frames the 15 fps rule drops are not decoded at all; the TMK is the same bytes."""
    import av

    from ocsea_match.tmk import _needed_frames

    clip = tmp_path / "clip30.avi"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("mjpeg", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuvj420p"
        for picture in vc.fast_motion(4, seconds=2.0):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24").reformat(160, 120, "yuvj420p")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    needed = _needed_frames(clip)
    assert needed is not None and len(needed) < 40
    every = tmk_with_every_frame_decoded(clip)
    assert hash_video_tmk(clip).to_bytes() == every.to_bytes() and every.frame_count == 32  # FFmpeg keeps 0-3, then every other
