"""Video: PDQ of frames sampled at a fixed rate of media time, vPDQ style, and vPDQ's match rule.

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

>>> video = hash_video("clip.mp4")  # doctest: +SKIP
>>> [(f.timestamp, f.hash.hex[:8], f.hash.quality) for f in video.frames][:2]  # doctest: +SKIP
[(0.0, 'e271017a', 100), (1.0, 'c0f11178', 98)]
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Union

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from . import _core
from .errors import MediaError, media_errors
from .hashes import Hash

__all__ = ["VideoFrame", "VideoHashes", "hash_video", "match_video", "aggregate_frame_hits", "VIDEO_DEFAULTS", "LIST_EVERY_SECONDS",
           "open_video", "sample", "DEFAULT_MAX_PIXELS"]

VideoSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

#: vPDQ's matching defaults: frames under quality 50 ignored, PDQ distance <= 31, and a video
#: matches when 80% of the query's frames match it (``listed_share``: of the listed video's
#: frames, 0 = not required, as vPDQ's default).
VIDEO_DEFAULTS: dict[str, float] = {"quality_floor": 50, "distance": 31, "query_share": 0.8, "listed_share": 0.0}

#: The sampling-phase rule: a video being listed is hashed at this interval, four times the
#: query's one frame a second, so that every query frame lies within 1/8 s of a listed frame
#: wherever its second boundaries fall (a cut at 2.37 s, 25 fps, a sped-up copy). Queries stay
#: at ``every_seconds=1``; lists made at 1 s (vPDQ's) still match, as before.
LIST_EVERY_SECONDS = 0.25

DEFAULT_MAX_PIXELS = 100_000_000  # decode.DEFAULT_MAX_PIXELS, without importing the picture layer


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
    """``(container, handle)``: the source opened by PyAV (``handle``: a buffer to close after it).

    >>> container, handle = open_video("clip.mp4")  # doctest: +SKIP
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        handle: IO[bytes] | None = io.BytesIO(bytes(source))
        target: Any = handle
    else:
        handle = None
        target = source if hasattr(source, "read") else os.fspath(source)  # type: ignore[arg-type]
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
    max_pixels: int = DEFAULT_MAX_PIXELS,
    time_limit: float = 600.0,
    max_frames: int = 100_000,
) -> VideoHashes:
    """PDQ of one frame per ``every_seconds`` of media time (path, bytes or a binary file object).

    Raises ``MediaError``: ``corrupt`` (FFmpeg cannot read it), ``no-video-frames`` (audio only,
    or no frame decodes), ``decompression-bomb`` (frames over ``max_pixels``). A file that stops
    decoding part way (cut off, broken data, ``time_limit`` seconds of wall time spent) keeps the
    frames before that point and is marked ``truncated`` with a warning.

    >>> hash_video(b"not a video")  # doctest: +SKIP
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
            return sample(container, every_seconds, dedupe_distance, max_pixels, time_limit, max_frames, jump=jump)
        except _JumpFailed:
            if position is not None:
                source.seek(position)  # type: ignore[union-attr]
        finally:
            container.close()
            if handle is not None:
                handle.close()
    raise AssertionError("unreachable: the second pass does not jump")


@media_errors()
def sample(container: Any, every: float, dedupe: int | None, max_pixels: int, time_limit: float, max_frames: int,
           observer: Callable[[Any], None] | None = None, observer_needs: set[int] | None = None,
           jump: bool = False) -> VideoHashes:
    """The sampling loop of ``hash_video`` over an open container; ``observer`` (TMK's builder)
    also sees every decoded frame, and then only frames neither needs are left undecoded
    (``observer_needs``: packet times it needs, ``None``: every frame).

    ``jump``: packets between sample times are held back and dropped when a keyframe at or before
    the next sample time comes (decoding restarts there, as after a seek): frames are those of
    decoding every packet, as long as the keyframes the container flags are real ones; raises
    ``_JumpFailed`` when one is not (the caller then samples again without jumping).

    >>> video = sample(open_video("clip.mp4")[0], 1.0, 4, DEFAULT_MAX_PIXELS, 600.0, 100_000)  # doctest: +SKIP
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
    to_rgb = VideoReformatter()  # keeps its conversion context: 3x faster than a new one per frame
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
                    h, trimmed = _frame_pdq(frame, to_rgb)
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


def _frame_pdq(frame: Any, to_rgb: VideoReformatter) -> tuple[Hash, Hash | None]:
    """The frame's PDQ (vPDQ's: the whole RGB frame) and, inside uniform bars, the content's."""
    # an explicit interpolation: the same pixels as PyAV's default for this unscaled conversion
    # (checked on 1,367 frames of 20 clips, every codec here), and 2-4x faster on small frames,
    # where the default's conversion context is rebuilt every other call
    # threads=1: PyAV's default (0: automatic) splits the conversion across threads, 10-50% more
    # CPU, and on a busy machine up to 8x the wall time
    rgb = np.ascontiguousarray(to_rgb.reformat(frame, format="rgb24", interpolation=Interpolation.BILINEAR,
                                               threads=1).to_ndarray())
    luma = _core.luma_from_rgb(rgb)
    box = content_box(luma)
    trimmed = None
    if box is not None:
        top, bottom, left, right = box
        # a copy: a full-width slice is contiguous, a view, and the in-place filter would spoil luma
        rows, quality = _core.pdq_from_luma(np.ascontiguousarray(luma[top:bottom, left:right]))  # a copy only when columns are cut
        trimmed = Hash("pdq", rows[0].tobytes(), int(quality))
    rows, quality = _core.pdq_from_luma(luma)
    return Hash("pdq", rows[0].tobytes(), int(quality)), trimmed


def content_box(luma: np.ndarray, *, tolerance: float = 12.0, min_trim: float = 0.02,
                min_keep: float = 0.4) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` inside uniform bars along the edges, or ``None``.

    A bar is a run of rows (columns) from an edge whose every value stays within ``tolerance``
    of the edge's median (black, white or any colour; video noise allowed). Only bars that
    together take at least ``min_trim`` of a side count, and at least ``min_keep`` of each side
    must remain (a flat picture is not all border).
    """
    h, w = luma.shape
    if h < 16 or w < 16:
        return None
    step_r, step_c = max(1, w // 256), max(1, h // 256)  # sample a row/column at ~256 points

    def run(lines: Any, n: int) -> int:
        colour = float(np.median(lines(0)))
        count = 0
        while count < n and float(np.max(np.abs(lines(count) - colour))) <= tolerance:
            count += 1
        return count

    top = run(lambda i: luma[i, ::step_r], h)
    if top == h:
        return None  # one colour throughout
    bottom = run(lambda i: luma[h - 1 - i, ::step_r], h - top)
    if top + bottom >= h:
        return None  # two flat bands and nothing between them (a dim, low-contrast frame): no bars
    left = run(lambda i: luma[top:h - bottom:step_c, i], w)
    right = run(lambda i: luma[top:h - bottom:step_c, w - 1 - i], w - left)
    if (top + bottom) < min_trim * h and (left + right) < min_trim * w:
        return None
    if h - top - bottom < min_keep * h or w - left - right < min_keep * w:
        return None
    return top, h - bottom, left, w - right


# ------------------------------------------------------------------------------------- matching


def match_video(
    query: Sequence[tuple[float, Hash]],
    listed: Mapping[Any, Sequence[tuple[float, Hash]]],
    *,
    quality_floor: int = int(VIDEO_DEFAULTS["quality_floor"]),
    distance: int = int(VIDEO_DEFAULTS["distance"]),
    query_share: float = VIDEO_DEFAULTS["query_share"],
    listed_share: float = VIDEO_DEFAULTS["listed_share"],
) -> dict[Any, dict[str, Any]]:
    """vPDQ's rule by brute force, for small sets and as the test oracle of the index's version:
    ``{key: {"query_share", "listed_share", "pairs"}}`` for each listed video that passes."""
    q = [(t, h) for t, h in query if (h.quality or 0) >= quality_floor]
    out: dict[Any, dict[str, Any]] = {}
    for key, frames in listed.items():
        frames = [(t, h) for t, h in frames if (h.quality or 0) >= quality_floor]
        if not q or not frames:
            continue
        pairs = [(qt, lt, qh - lh) for qt, qh in q for lt, lh in frames if qh - lh <= distance]
        q_share = len({p[0] for p in pairs}) / len(q)
        l_share = len({p[1] for p in pairs}) / len(frames)
        if q_share >= query_share and l_share >= listed_share:
            out[key] = {"query_share": q_share, "listed_share": l_share, "pairs": pairs}
    return out


def aggregate_frame_hits(
    query_times: Sequence[float],
    hits: Iterable[tuple[int, Any, float | None, int]],
    listed_frames: Mapping[Any, int],
    *,
    query_share: float = VIDEO_DEFAULTS["query_share"],
    listed_share: float = VIDEO_DEFAULTS["listed_share"],
) -> dict[Any, dict[str, Any]]:
    """Per listed item, what a query video's frame hits add up to (the index's side of vPDQ).

    ``query_times``: the times of the query's usable frames (quality over the floor; one per
    frame even when it was probed with several hashes). ``hits``: ``(query frame index, listed
    key, listed frame time or None for a still picture, distance)``. ``listed_frames``: usable
    frames per listed video. A listed video is reported when the share of query frames that hit
    it and the share of its frames that were hit pass the thresholds; a listed still picture
    when any frame hits it. Each result has ``distance`` (the closest), ``timestamps`` (query
    time, and the listed frame's time for a video, per hitting query frame, closest first per
    frame) and, for videos, both shares.
    """
    best: dict[Any, dict[int, tuple[int, float | None]]] = {}
    listed_hit: dict[Any, set[float]] = {}
    for qi, key, listed_time, dist in hits:
        per_frame = best.setdefault(key, {})
        if qi not in per_frame or dist < per_frame[qi][0]:
            per_frame[qi] = (dist, listed_time)
        if listed_time is not None:
            listed_hit.setdefault(key, set()).add(listed_time)
    out: dict[Any, dict[str, Any]] = {}
    usable = max(len(query_times), 1)
    for key, per_frame in best.items():
        distance = min(d for d, _ in per_frame.values())
        if key in listed_hit:
            q_share = len(per_frame) / usable
            l_share = len(listed_hit[key]) / max(listed_frames.get(key, 0), 1)
            if q_share + 1e-9 < query_share or l_share + 1e-9 < listed_share:
                continue
            stamps = [[query_times[qi], lt] for qi, (_, lt) in sorted(per_frame.items())]
            out[key] = {"distance": distance, "query_share": round(q_share, 4), "listed_share": round(min(l_share, 1.0), 4),
                        "timestamps": stamps}
        else:
            out[key] = {"distance": distance, "timestamps": [query_times[qi] for qi in sorted(per_frame)]}
    return out


def frames_of(record_frames: Iterable[Mapping[str, Any]]) -> list[tuple[float, Hash]]:
    """``[(timestamp, Hash)]`` from a record's ``frames`` (or a vPDQ list's lines)."""
    return [(float(f["timestamp"]), Hash.from_hex("pdq", f["pdq"], f.get("quality"))) for f in record_frames]
