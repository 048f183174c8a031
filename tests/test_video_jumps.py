"""Jumping to keyframes between sample times: the packets before a keyframe that still comes
before the next sample time are not decoded, and the sampled frames stay those of decoding
every packet; a keyframe flag that proves wrong makes hash_video sample again without jumps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest

from ocsea_match import MediaError
from ocsea_match.video import VIDEO_MAX_PIXELS, hash_video, open_video, sample_frames

import videoclips as vc

FPS = 15


def _clip(path: Path, codec: str, gop: int, b_frames: int = 0) -> Path:
    """4 s of fast motion, a keyframe every ``gop`` frames."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = b_frames
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "keyint": str(gop), "min-keyint": str(gop), "scenecut": "0"}
        for picture in vc.fast_motion(7, seconds=4.0, fps=FPS, size=(320, 240)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


class _Counted:
    """A packet that counts its decoding."""

    def __init__(self, packet: Any, counter: list[int]) -> None:
        self.packet, self.counter = packet, counter
        self.pts, self.size, self.is_keyframe = packet.pts, packet.size, packet.is_keyframe

    def decode(self) -> Any:
        self.counter[0] += 1
        return self.packet.decode()


class _Container:
    """A container whose packets count their decoding (and may all claim to be keyframes)."""

    def __init__(self, container: Any, all_keyframes: bool = False) -> None:
        self.container, self.decoded, self.all_keyframes = container, [0], all_keyframes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.container, name)

    def demux(self, stream: Any) -> Any:
        for packet in self.container.demux(stream):
            counted = _Counted(packet, self.decoded)
            counted.is_keyframe = counted.is_keyframe or (self.all_keyframes and bool(packet.size))
            yield counted


def _sampled(path: Path, jump: bool, all_keyframes: bool = False) -> tuple[list[Any], int]:
    container, _ = open_video(path)
    try:
        counted = _Container(container, all_keyframes)
        video = sample_frames(counted, 1.0, None, VIDEO_MAX_PIXELS, 60.0, 1000, jump=jump)
        return [(f.timestamp, f.frame_number, f.hash, f.trimmed) for f in video.frames], counted.decoded[0]
    finally:
        container.close()


@pytest.mark.parametrize("codec,gop,b_frames", [("mpeg4", 4, 0), ("mpeg4", 5, 2), ("libx264", 6, 2),
                                                ("libx264", FPS, 2), ("mpeg4", FPS, 0)])  # keyframes at the sample times
def test_jumping_decodes_less_and_samples_the_same_frames(tmp_path: Path, codec: str, gop: int, b_frames: int) -> None:
    path = _clip(tmp_path / f"{codec}.mp4", codec, gop, b_frames)
    jumped, decoded_jumping = _sampled(path, jump=True)
    through, decoded_through = _sampled(path, jump=False)
    assert [f[0] for f in jumped] == [0.0, 1.0, 2.0, 3.0]
    assert jumped == through
    assert decoded_jumping < 0.75 * decoded_through, (decoded_jumping, decoded_through)
    assert [(f.timestamp, f.hash) for f in hash_video(path, dedupe_distance=None).frames] == [(f[0], f[2]) for f in through]


def test_a_wrong_keyframe_flag_is_caught(tmp_path: Path) -> None:
    """Packets all flagged as keyframes (as a sloppy muxer writes them) of a codec whose frames
    refer to each other: the jump's first frame is not a keyframe, and sampling says so."""
    path = _clip(tmp_path / "clip.avi", "mpeg4", 30)
    with pytest.raises(MediaError):
        _sampled(path, jump=True, all_keyframes=True)
    through, _ = _sampled(path, jump=False, all_keyframes=True)  # flags do not matter without jumps
    assert through == _sampled(path, jump=False)[0]


def test_file_objects_and_bytes_jump_too(tmp_path: Path) -> None:
    path = _clip(tmp_path / "clip.avi", "mpeg4", 4)
    expected = hash_video(path).frames
    assert hash_video(path.read_bytes()).frames == expected
    with path.open("rb") as f:
        f.read(7)
        f.seek(0)
        assert hash_video(f).frames == expected


def test_hash_video_samples_again_without_jumps_after_a_wrong_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ocsea_match import video

    path = _clip(tmp_path / "clip.avi", "mpeg4", 30)
    expected = hash_video(path, dedupe_distance=None).frames
    opened: list[_Container] = []

    def sloppy(source: Any) -> tuple[Any, Any]:
        container, handle = open_video(source)
        opened.append(_Container(container, all_keyframes=True))
        return opened[-1], handle

    monkeypatch.setattr(video, "open_video", sloppy)
    assert hash_video(path, dedupe_distance=None).frames == expected
    assert len(opened) == 2  # the jumping pass failed, the second decoded every packet
