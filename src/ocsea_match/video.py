"""Video: PDQ of frames sampled at a fixed rate of media time, vPDQ style (matching: ``video_match.py``).

Frames are chosen by their presentation time: the first frame at or after 0 s, ``every_seconds``,
2 x ``every_seconds`` ... For a constant frame rate this is the frame Meta's vPDQ hashes (its
frame number is a multiple of ``int(every_seconds * fps)``), and each frame's PDQ is computed the
same way (RGB frame, full resolution, PDQ reference), so frame hashes are comparable with vPDQ's.
Differences, on purpose: timestamps come from the stream, so variable frame rates, and rates
where ``every_seconds * fps`` is not a whole number of frames (vPDQ then takes every
``int(every_seconds * fps)``-th frame and drifts from media time), are sampled evenly in time; and consecutive frames within ``dedupe_distance`` bits of the last kept one are dropped
(a still shot held for a minute is one frame, which also keeps a sped-up copy's frame shares
close to the original's); ``dedupe_distance=None`` keeps every sampled frame as vPDQ does.

Decoding is FFmpeg's, through PyAV (its wheels carry FFmpeg). Between the sampled frames, frames
that no other frame references are not decoded at all (FFmpeg's ``skip_frame``), which for a
typical H.264 file with B-frames halves the decoding work, and when a keyframe comes at or before
the next sample time, the packets before it are not decoded either (as if it seeked there).
Decoding is bounded in time and in frame size, so one poisoned file cannot stall a batch.

>>> import io, av, numpy as np
>>> buffer = io.BytesIO()  # a 2 s clip, 4 frames a second: a gradient, brighter after 1 s
>>> with av.open(buffer, "w", format="mp4") as out:
...     stream = out.add_stream("mpeg4", rate=4)
...     stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
...     for i in range(8):
...         gray = np.indices((48, 64)).sum(axis=0).astype(np.uint8) * (i // 4 + 1)
...         out.mux(stream.encode(av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")))
...     out.mux(stream.encode())
>>> video = hash_video(buffer.getvalue())
>>> [f.timestamp for f in video.frames]
[0.0, 1.0]
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Union

import numpy as np

from ._core import luma_from_rgb, pdq_from_luma
from .errors import MediaError, media_errors
from .hashes import Hash
from .picture import content_box
from .video_match import VIDEO_DEFAULTS

# PyAV is imported where a video is opened, not here: `import ocsea_match` and picture hashing
# do not pay for it (issue #12)
__all__ = ["VideoFrame", "VideoHashes", "hash_video", "VIDEO_DEFAULTS", "LIST_EVERY_SECONDS", "VIDEO_MAX_PIXELS", "open_video",
           "sample_frames"]

VideoSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


#: The sampling-phase rule: a video being listed is hashed at this interval, four times the
#: query's one frame a second, so that every query frame lies within 1/8 s of a listed frame
#: wherever its second boundaries fall (a cut at 2.37 s, 25 fps, a sped-up copy). Queries stay
#: at ``every_seconds=1``; lists made at 1 s (vPDQ's) still match, as before.
LIST_EVERY_SECONDS = 0.25

VIDEO_MAX_PIXELS = 100_000_000  # decode.DEFAULT_MAX_PIXELS, without importing the picture layer


@dataclass(frozen=True)
class VideoFrame:
    """One sampled frame: presentation time (s), frame number (vPDQ's, ``round(t * fps)``), PDQ
    of the whole frame, and, when the frame has uniform bars (letterbox, pillarbox, a border),
    ``trimmed``: the PDQ of what is inside them."""

    timestamp: float
    frame_number: int
    hash: Hash
    trimmed: Hash | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"timestamp": round(self.timestamp, 6), "frame_number": self.frame_number,
                               "pdq": self.hash.hex, "quality": self.hash.quality}
        if self.trimmed is not None:
            out["pdq_trimmed"] = self.trimmed.hex
            out["quality_trimmed"] = self.trimmed.quality
        return out


@dataclass
class VideoHashes:
    """A video's sampled frame hashes and what decoding it found."""

    frames: list[VideoFrame]
    every_seconds: float
    width: int
    height: int
    fps: float | None
    duration: float | None  # as the container declares it
    codec: str
    sampled: int  # frames hashed, before near-identical neighbours were dropped
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """The record's ``video`` field."""
        return {"duration": self.duration, "fps": self.fps, "codec": self.codec, "every_seconds": self.every_seconds,
                "frames_sampled": self.sampled, "frames_kept": len(self.frames)}


class _JumpFailed(MediaError):
    """A packet the container flags as a keyframe decoded to a frame that is not one."""

    def __init__(self) -> None:
        super().__init__("corrupt", "a frame flagged as a keyframe is not one")


@media_errors()  # whatever else fails inside FFmpeg or the hashing is a MediaError with a code
def open_video(source: VideoSource) -> tuple[Any, IO[bytes] | None]:
    """A PyAV container of a path, bytes or a binary file, and the handle to close after it (package-internal: tmk.py)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        handle: IO[bytes] | None = io.BytesIO(bytes(source))
        target: Any = handle
    else:
        handle = None
        target = source if hasattr(source, "read") else os.fspath(source)  # type: ignore[arg-type]
    import av

    try:
        container = av.open(target, mode="r", timeout=30.0, metadata_errors="ignore")
    except av.error.InvalidDataError as exc:
        raise MediaError("corrupt", f"FFmpeg cannot read the container: {exc}") from None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError("corrupt", f"FFmpeg cannot open the file: {exc}") from None
    return container, handle


def hash_video(
    source: VideoSource,
    every_seconds: float = 1.0,
    *,
    dedupe_distance: int | None = 4,
    max_pixels: int = VIDEO_MAX_PIXELS,
    time_limit: float = 600.0,
    max_frames: int = 100_000,
) -> VideoHashes:
    """PDQ of one frame per ``every_seconds`` of media time (path, bytes or a binary file object).

    Raises ``MediaError``: ``corrupt`` (FFmpeg cannot read it), ``no-video-frames`` (audio only,
    or no frame decodes), ``decompression-bomb`` (frames over ``max_pixels``). A file that stops
    decoding part way (cut off, broken data, ``time_limit`` seconds of wall time spent) keeps the
    frames before that point and is marked ``truncated`` with a warning.

    >>> hash_video(b"not a video")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    MediaError: FFmpeg cannot read the container: ...
    """
    if not every_seconds > 0:
        raise ValueError("every_seconds must be positive")
    stream_like = hasattr(source, "read")
    seekable = stream_like and bool(getattr(source, "seekable", lambda: False)())
    position = source.tell() if seekable else None  # type: ignore[union-attr]
    # jumping over packets to keyframes; once more without, when a keyframe flag proves wrong
    for jump in (not stream_like or position is not None, False):
        container, handle = open_video(source)
        try:
            return sample_frames(container, every_seconds, dedupe_distance, max_pixels, time_limit, max_frames, jump=jump)
        except _JumpFailed:
            if position is not None:
                source.seek(position)  # type: ignore[union-attr]
        finally:
            container.close()
            if handle is not None:
                handle.close()
    raise AssertionError("unreachable: the second pass does not jump")


@media_errors()
def sample_frames(container: Any, every: float, dedupe: int | None, max_pixels: int, time_limit: float, max_frames: int,
           observer: Callable[[Any], None] | None = None, observer_needs: set[int] | None = None,
           jump: bool = False) -> VideoHashes:
    """The sampling loop of ``hash_video`` over an open container; ``observer`` (TMK's builder)
    also sees every decoded frame, and then only frames neither needs are left undecoded
    (``observer_needs``: packet times it needs, ``None``: every frame).

    ``jump``: packets between sample times are held back and dropped when a keyframe at or before
    the next sample time comes (decoding restarts there, as after a seek): frames are those of
    decoding every packet, as long as the keyframes the container flags are real ones; raises
    ``_JumpFailed`` when one is not (the caller then samples again without jumping).
    """
    if not container.streams.video:
        raise MediaError("no-video-frames", "no video stream (audio only, or not a video)")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx is None:  # a stream whose codec FFmpeg does not know (found by fuzz/: an mp4 with a mangled codec tag)
        raise MediaError("unsupported-format", "the video stream's codec is not one FFmpeg can decode")
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width * height > max_pixels:
        raise MediaError("decompression-bomb", f"{width}x{height} frames, over the limit of {max_pixels} pixels")
    ctx.thread_count = 1  # one file, one thread: a batch runs files in parallel instead
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    tb = float(stream.time_base) if stream.time_base else None
    start = stream.start_time if stream.start_time is not None else 0
    duration = float(container.duration) / 1e6 if container.duration else None
    frame_time = 1.0 / fps if fps else 0.0
    # every frame asked for (an interval no longer than a frame): decode every frame; skipping
    # unreferenced frames near the sample times would lose some, as packets come in decode order
    every_frame = not fps or every <= frame_time + 1e-9
    result = VideoHashes([], every, width, height, fps, duration, ctx.name or "", 0)
    deadline = time.monotonic() + time_limit
    target = 0.0  # the next sample time
    last_kept: Hash | None = None
    last_time: float | None = None
    import av

    frame_pdq = _FramePDQ()
    intra_only = bool(getattr(ctx.codec, "intra_only", False))  # MJPEG, ProRes ...: no frame refers to another
    skip = "DEFAULT"
    # packets before the next sample time are held back, not decoded; a keyframe at or before that
    # time drops them (decoding restarts there: a jump), otherwise they are decoded when it comes
    held: list[Any] = []
    jump = jump and observer is None and not every_frame and tb is not None
    jumped_to: int | None = None  # the keyframe jumped to, until its frame shows it is one
    try:
        for packet in container.demux(stream):
            if time.monotonic() > deadline:
                result.truncated = True
                result.warnings.append(f"decoding stopped after {time_limit:.0f} s of wall time")
                break
            batch = (packet,)
            if jump:
                t = (packet.pts - start) * tb if packet.pts is not None and packet.size else None
                if t is not None and t + 1e-6 < target:
                    if (packet.is_keyframe or intra_only) and all(p.pts < packet.pts for p in held):
                        if held:
                            last_time = max(0.0, t)
                            jumped_to = packet.pts
                        held.clear()
                    held.append(packet)
                    continue
                if held and t is not None and t <= target + 1e-6 and (packet.is_keyframe or intra_only) \
                        and all(p.pts < packet.pts for p in held):
                    last_time, jumped_to = max(0.0, t), packet.pts  # a keyframe right at the sample time
                    held.clear()
                if not packet.size and packet.pts is None:  # the end: what is held lies before the next sample
                    last_time = max([last_time or 0.0] + [(p.pts - start) * tb for p in held])
                    held.clear()
                elif held:
                    batch, held = (*held, packet), []
            for packet in batch:
                if observer is not None and (observer_needs is None or packet.pts is None or packet.pts in observer_needs):
                    if skip != "DEFAULT":
                        ctx.skip_frame = skip = "DEFAULT"
                elif tb is not None and packet.pts is not None and not every_frame:
                    t = (packet.pts - start) * tb
                    if intra_only and t + 1e-6 < target:
                        last_time = max(0.0, t)  # a frame before the next sample time: not decoded at all
                        continue
                    # decode a frame nothing references only when it may be the next sampled one
                    near = target - 1e-6 <= t < target + frame_time - 1e-6
                    wanted = "DEFAULT" if near or packet.is_keyframe else "NONREF"
                    if wanted != skip:  # set only on change: a per-packet call costs on small frames
                        ctx.skip_frame = skip = wanted
                for frame in packet.decode():
                    if observer is not None:
                        observer(frame)
                    if jumped_to is not None and frame.pts == jumped_to:
                        if not frame.key_frame:  # the container's keyframe flag was wrong
                            raise _JumpFailed
                        jumped_to = None
                    t = _frame_time(frame, start, tb, last_time, frame_time)
                    last_time = t
                    if t + 1e-6 < target:
                        continue
                    if frame.width * frame.height > max_pixels:
                        raise MediaError("decompression-bomb", f"a {frame.width}x{frame.height} frame, over the limit")
                    h, trimmed = frame_pdq(frame)
                    result.sampled += 1
                    target = (math.floor((t + 1e-6) / every) + 1) * every
                    if dedupe is not None and last_kept is not None and (h - last_kept) <= dedupe:
                        continue
                    last_kept = h
                    number = int(round(t * fps)) if fps else result.sampled - 1
                    result.frames.append(VideoFrame(round(t, 6), number, h, trimmed))
                    if result.sampled >= max_frames:
                        result.truncated = True
                        result.warnings.append(f"stopped after {max_frames} sampled frames")
                        return result
    except av.error.FFmpegError as exc:  # broken or cut-off data: keep what decoded
        result.truncated = True
        result.warnings.append(f"decoding stopped: {exc}")
    if not result.frames:
        raise MediaError("no-video-frames", "no frame of the video stream decodes"
                         + (f" ({result.warnings[-1]})" if result.warnings else ""))
    if duration and last_time is not None and last_time + max(2 * every, 2.0) < duration and not result.truncated:
        result.truncated = True
        result.warnings.append(f"frames end at {last_time:.1f} s of a declared {duration:.1f} s")
    return result


def _frame_time(frame: Any, start: int, tb: float | None, previous: float | None, frame_time: float) -> float:
    if frame.pts is not None and tb is not None:
        return max(0.0, (frame.pts - start) * tb)
    return 0.0 if previous is None else previous + frame_time  # no timestamps: count frames


class _FramePDQ:
    """Each sampled frame's PDQ (vPDQ's: the whole RGB frame) and, inside uniform bars, the
    content's. Holds the conversion context and the luma buffer from frame to frame: a fresh
    picture-sized array per frame costs more in page faults than the luma takes to compute."""

    def __init__(self) -> None:
        from av.video.reformatter import Interpolation, VideoReformatter

        self.to_rgb = VideoReformatter()  # keeps its conversion context: 3x faster than a new one per frame
        self.interpolation = Interpolation.BILINEAR
        self.luma = np.empty((0, 0), np.float32)

    def __call__(self, frame: Any) -> tuple[Hash, Hash | None]:
        # an explicit interpolation: the same pixels as PyAV's default for this unscaled conversion
        # (checked on 1,367 frames of 20 clips, every codec here), and 2-4x faster on small frames,
        # where the default's conversion context is rebuilt every other call
        # threads=1: PyAV's default (0: automatic) splits the conversion across threads, 10-50% more
        # CPU, and on a busy machine up to 8x the wall time
        rgb = self.to_rgb.reformat(frame, format="rgb24", interpolation=self.interpolation, threads=1)
        width, height, plane = rgb.width, rgb.height, rgb.planes[0]
        # the plane in place (rows may be padded), not a copy: to_ndarray's copy costs as much as the luma
        if plane.line_size >= 3 * width:
            pixels = np.ndarray((height, width, 3), np.uint8, plane, strides=(plane.line_size, 3, 1))
        else:  # a plane stored bottom-up (negative line size): PyAV's copy
            pixels = np.ascontiguousarray(rgb.to_ndarray())
        if self.luma.shape != (height, width):
            self.luma = np.empty((height, width), np.float32)
        luma = luma_from_rgb(pixels, out=self.luma)
        box = content_box(luma)
        trimmed = None
        if box is not None:
            top, bottom, left, right = box
            # a copy only when columns are cut (a full-width slice is a contiguous view)
            rows, quality = pdq_from_luma(np.ascontiguousarray(luma[top:bottom, left:right]))
            trimmed = Hash("pdq", rows[0].tobytes(), int(quality))
        rows, quality = pdq_from_luma(luma)
        return Hash("pdq", rows[0].tobytes(), int(quality)), trimmed
