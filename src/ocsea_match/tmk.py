"""TMK+PDQF: Meta's video hash (ThreatExchange ``tmk/``), computed, scored, read and written.

A video is resampled to 15 frames a second the way Meta's ``tmk-hash-video`` has FFmpeg do it
(``ffmpeg -i VIDEO -s 64:64 -pix_fmt rgb24 -r 15``: every frame scaled to 64x64 RGB with
bicubic swscale, then FFmpeg's constant-frame-rate rule drops or repeats frames). Each frame's
PDQF feature is PDQ's float DCT before quantisation (256 floats, see ``_tmk.pyx``). The features
are folded by time kernels (Poullot's periods 2731, 4391, 9767 and 14653 frames, 32 Fourier
coefficients) into fixed-size cosine and sine features, plus the plain mean feature. Two videos
match when the level-1 score (cosine of the mean features) and the level-2 score (the TMK
kernel at the best time offset) are both at least 0.7, Meta's defaults. The result reads and
writes Meta's ``.tmk`` file (263,344 bytes) byte for byte in layout.

>>> tmk = hash_video_tmk("clip.mp4")
>>> open("clip.tmk", "wb").write(tmk.to_bytes())
263344
>>> [round(score, 3) for score in tmk.score(load_tmk("clip.tmk"))]  # the same video: (1, 1)
[1.0, 1.0]
>>> all(score < 0.7 for score in tmk.score(hash_video_tmk("other.mp4")))  # an unrelated one
True
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _tmk  # the native kernels: fold, level2, pdqf_*
from .errors import MediaError
from .video import VIDEO_MAX_PIXELS, VideoHashes, VideoSource, open_video, sample_frames

# PyAV is imported where a video is decoded, not here: `import ocsea_match` and picture hashing
# do not pay for it (issue #12)

__all__ = ["TMK", "TMKError", "hash_video_tmk", "hash_video_with_tmk", "load_tmk", "TMK_THRESHOLDS", "TMK_FILE_SIZE"]

FPS = 15
PERIODS = (2731, 4391, 9767, 14653)
#: Poullot's coefficients (modified Bessel I_j(32) / sinh(32)), as Meta tabulates them.
COEFFICIENTS = np.array([
    0.0708041893112, 0.13937789309, 0.132897260304, 0.122765735552, 0.109878684888, 0.09529606433,
    0.0800986647852, 0.0652590650356, 0.0515478238322, 0.0394851531195, 0.0293374252025, 0.0211492623679,
    0.0147973073245, 0.0100512818746, 0.0066306408014, 0.00424947117334, 0.0026467615764, 0.00160270959695,
    0.000943882629639, 0.000540841638603, 0.000301633183798, 0.000163800158855, 8.66454753015e-05,
    4.46626303151e-05, 2.24429442235e-05, 1.09982139799e-05, 5.25823487999e-06, 2.45358229988e-06,
    1.11781474895e-06, 4.97406489221e-07, 2.16265487234e-07, 9.19087006565e-08], dtype=np.float32)
DIM = 256
#: Meta's default thresholds (``tmk_default_thresholds.h``): both scores must reach them.
TMK_THRESHOLDS: dict[str, float] = {"level1": 0.7, "level2": 0.7}
_HEADER = struct.Struct("<4s4s4s5i")
TMK_FILE_SIZE = _HEADER.size + 4 * len(PERIODS) + 4 * len(COEFFICIENTS) + 4 * DIM * (1 + 2 * len(PERIODS) * len(COEFFICIENTS))
_BATCH = 128  # frames folded per native call


class TMKError(ValueError):
    """Bytes that are not a TMK+PDQF feature-vector file, or two TMKs that cannot be compared."""


@dataclass(frozen=True, eq=False)
class TMK:
    """One video's TMK+PDQF: ``average`` (256), ``cos`` / ``sin`` (periods x 32 x 256), float32.

    ``frame_count``: frames after resampling to ``fps``. ``truncated`` / ``warnings``: what
    decoding found (not part of the file format).
    """

    average: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    frame_count: int
    fps: int = FPS
    periods: tuple[int, ...] = PERIODS
    coefficients: np.ndarray = field(default_factory=lambda: COEFFICIENTS.copy())
    truncated: bool = False
    warnings: tuple[str, ...] = ()

    def score(self, other: TMK) -> tuple[float, float]:
        """``(level1, level2)``: cosine of the mean features, and the TMK score at the best offset.

        >>> a, b = hash_video_tmk("clip.mp4"), hash_video_tmk("other.mp4")
        >>> [round(score, 3) for score in a.score(a)]
        [1.0, 1.0]
        >>> a.score(b) == b.score(a)
        True
        """
        self._check_compatible(other)
        return self.level1(other), float(_tmk.level2(self.cos, self.sin, other.cos, other.sin,
                                                     np.asarray(self.periods, np.int32), self.coefficients))

    def level1(self, other: TMK) -> float:
        """The cosine similarity of the two mean features (0 when both are zero)."""
        a, b = self.average.astype(np.float64), other.average.astype(np.float64)
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        return 0.0 if na == 0.0 or nb == 0.0 else float(a @ b) / (na * nb)

    def matches(self, other: TMK, level1: float = TMK_THRESHOLDS["level1"], level2: float = TMK_THRESHOLDS["level2"]) -> bool:
        """Meta's two-level rule: level 1 first (cheap), level 2 only when it passes."""
        return self.level1(other) >= level1 and self.score(other)[1] >= level2

    def _check_compatible(self, other: TMK) -> None:
        if (self.fps, self.periods, self.cos.shape) != (other.fps, other.periods, other.cos.shape):
            raise TMKError(f"TMKs made with different parameters: {self.fps} fps, periods {self.periods}, "
                           f"{self.cos.shape} vs {other.fps} fps, periods {other.periods}, {other.cos.shape}")
        if not np.allclose(self.coefficients, other.coefficients, rtol=1e-6, atol=0.0):
            raise TMKError("TMKs made with different Fourier coefficients")

    def to_bytes(self) -> bytes:
        """Meta's ``.tmk`` file: header, periods, coefficients, mean, cosine then sine features."""
        p, m, d = self.cos.shape
        header = _HEADER.pack(b"TMK1", b"FVEC", b"PDQF", self.fps, p, m, d, self.frame_count)
        parts = [np.asarray(self.periods, "<i4"), self.coefficients, self.average, self.cos, self.sin]
        return header + b"".join(np.ascontiguousarray(a, "<f4" if a.dtype.kind == "f" else "<i4").tobytes() for a in parts)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> TMK:
        """Parse a ``.tmk`` file's bytes; ``TMKError`` when they are not one (wrong magic, size)."""
        data = bytes(data)
        if len(data) < _HEADER.size:
            raise TMKError(f"{len(data)} bytes: too short for a TMK header")
        project, kind, algorithm, fps, p, m, d, count = _HEADER.unpack_from(data)
        if (project, kind) != (b"TMK1", b"FVEC"):
            raise TMKError(f"not a TMK feature-vector file (magic {project!r} {kind!r})")
        if algorithm != b"PDQF":
            raise TMKError(f"frame features {algorithm!r}, not PDQF")
        if not (0 < p <= 64 and 0 < m <= 1024 and 0 < d <= 4096 and fps > 0 and count >= 0):
            raise TMKError(f"implausible TMK header: {fps} fps, {p} periods, {m} coefficients, dimension {d}")
        expected = _HEADER.size + 4 * (p + m + d + 2 * p * m * d)
        if len(data) != expected:
            raise TMKError(f"{len(data)} bytes where the header announces {expected}")
        offset = _HEADER.size

        def take(dtype: str, count_: int) -> np.ndarray:
            nonlocal offset
            out = np.frombuffer(data, dtype, count_, offset)
            offset += 4 * count_
            return out

        periods = tuple(int(x) for x in take("<i4", p))
        coefficients = take("<f4", m).astype(np.float32)
        average = take("<f4", d).astype(np.float32)
        cos = take("<f4", p * m * d).astype(np.float32).reshape(p, m, d)
        sin = take("<f4", p * m * d).astype(np.float32).reshape(p, m, d)
        if any(x <= 0 for x in periods) or not all(np.isfinite(a).all() for a in (coefficients, average, cos, sin)):
            raise TMKError("TMK with non-positive periods or non-finite values")
        return cls(average, cos, sin, int(count), int(fps), periods, coefficients)


def load_tmk(path: str | os.PathLike[str]) -> TMK:
    """Read a ``.tmk`` file written by Meta's ``tmk-hash-video`` (or ``TMK.to_bytes``).

    >>> _ = open("clip.tmk", "wb").write(hash_video_tmk("clip.mp4").to_bytes())
    >>> load_tmk("clip.tmk").frame_count
    30
    """
    with open(path, "rb") as f:
        data = f.read(TMK_FILE_SIZE * 64 + 1)  # bounded: no real TMK is larger
    return TMK.from_bytes(data)


# ------------------------------------------------------------------------------------ hashing


class _FrameRateRule:
    """FFmpeg's ``-r`` constant-frame-rate rule (``vsync cfr``, as FFmpeg 4 applies it): for each
    input frame in presentation order, how many output frames repeat the previous input frame
    and how many show this one. Times are in output frames (seconds x 15). A video that starts
    late has its first frame repeated back to time 0, as FFmpeg's ``cfr`` does."""

    def __init__(self, duration: float) -> None:
        self.next_out = 0.0  # the next output frame's number
        self.duration = duration

    def push(self, ipts: float) -> tuple[int, int]:
        duration = self.duration
        delta0 = ipts - self.next_out
        delta = delta0 + duration
        if delta0 < 0 < delta:
            duration += delta0
            delta0 = 0.0
            delta = duration
        total, previous = 1, 0
        if delta < -1.1:
            total = 0
        elif delta > 1.1:
            total = int(round(delta))  # round half to even, as np.rint
            if delta0 > 1.1:
                previous = int(round(delta0 - 0.6))
        self.next_out += total
        return previous, total - previous


class _Folder:
    """Collects frame features in batches and folds them into TMK's running sums natively."""

    def __init__(self) -> None:
        self.batch = np.empty((_BATCH, DIM), np.float32)
        self.filled = 0
        self.count = 0
        self.periods = np.asarray(PERIODS, np.int32)
        self.sums = np.zeros(DIM, np.float64)
        self.cos = np.zeros((len(PERIODS), len(COEFFICIENTS), DIM), np.float64)
        self.sin = np.zeros_like(self.cos)

    def add(self, feature: np.ndarray, times: int) -> None:
        for _ in range(times):
            self.batch[self.filled] = feature
            self.filled += 1
            if self.filled == _BATCH:
                self.flush()

    def flush(self) -> None:
        if self.filled:
            _tmk.fold(self.batch[: self.filled], self.count, self.periods, self.sums, self.cos, self.sin)
            self.count += self.filled
            self.filled = 0

    def finish(self, truncated: bool, warnings: list[str]) -> TMK:
        self.flush()
        n = max(self.count, 1)
        scale = np.sqrt(COEFFICIENTS.astype(np.float64))[None, :, None]

        def unit(a: np.ndarray) -> np.ndarray:
            norms = np.linalg.norm(a, axis=2, keepdims=True)
            return np.divide(a, norms, out=np.zeros_like(a), where=norms > 0) * scale

        return TMK((self.sums / n).astype(np.float32), unit(self.cos).astype(np.float32), unit(self.sin).astype(np.float32),
                   self.count, truncated=truncated, warnings=tuple(warnings))


def hash_video_tmk(
    source: VideoSource, *, max_pixels: int = VIDEO_MAX_PIXELS, time_limit: float = 600.0, max_frames: int = 1_000_000,
    fast: bool = False,
) -> TMK:
    """TMK+PDQF of a video (path, bytes or binary file object), as Meta's ``tmk-hash-video`` makes it.

    ``fast``: scale each frame's luma plane alone to 64x64 instead of the RGB picture (2-3x less
    scaling; scores against the exact TMK >= 0.9975 on Meta's samples, see the README).

    Raises ``MediaError`` (``corrupt``, ``no-video-frames``, ``decompression-bomb``) like
    ``hash_video``; a video that stops decoding part way is hashed from what decoded and is
    marked ``truncated``.

    >>> hash_video_tmk("clip.mp4").frame_count  # 2 s at 15 fps
    30
    """
    source, needed = _plan(source, time_limit / 4)
    container, handle = open_video(source)
    try:
        return _hash(container, max_pixels, time_limit, max_frames, needed, fast)
    finally:
        container.close()
        if handle is not None:
            handle.close()


def _timing(container: Any, stream: Any) -> tuple[_FrameRateRule, float | None, float, float]:
    """The frame-rate rule for the stream, its time base, start time and frame rate."""
    rate = stream.guessed_rate or stream.average_rate
    in_fps = float(rate) if rate else float(FPS)
    # FFmpeg 4 takes a frame's duration from its packet when that rounds to >= 1 output frame
    rule = _FrameRateRule(1.0 if FPS / in_fps > 0.5 else FPS / in_fps)
    tb = float(stream.time_base) if stream.time_base else None
    start = container.start_time * 1e-6 if container.start_time is not None else (
        (stream.start_time or 0) * tb if tb else 0.0)
    return rule, tb, start, in_fps


def _plan(source: VideoSource, time_limit: float) -> tuple[VideoSource, set[int] | None]:
    """The source ready to be read again (bytes kept, a file object rewound) and the frames the
    15 fps output needs (``_needed_frames``; None when unknown: then every frame is decoded)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = bytes(source)
    position = source.tell() if hasattr(source, "tell") else None
    import av

    try:
        needed = _needed_frames(source, time_limit)
    except (MediaError, av.error.FFmpegError, OSError, ValueError):
        needed = None  # the decoding pass reports what is wrong
    if position is not None:
        source.seek(position)  # type: ignore[union-attr]
    return source, needed


def _needed_frames(source: VideoSource, time_limit: float = 60.0) -> set[int] | None:
    """The presentation times (stream ticks) of the frames the 15 fps output uses, from a pass over
    the packets alone, or None when that cannot be known (no timestamps, duplicates) or would not pay.
    A frame the rule drops leaves the rule's state as it was: not decoding it changes nothing."""
    container, handle = open_video(source)
    try:
        stream = container.streams.video[0] if container.streams.video else None
        ctx = stream.codec_context if stream is not None else None
        if ctx is None or not (ctx.has_b_frames or getattr(ctx.codec, "intra_only", False)):
            return None  # no B-frames, where skipping pays: the pass would cost 2-4 ms a 20 s 320x240 clip for nothing
        rule, tb, start, _ = _timing(container, stream)
        ticks = []
        deadline = time.monotonic() + time_limit
        for packet in container.demux(stream):
            if packet.size:
                ticks.append(packet.pts)
            if time.monotonic() > deadline:
                return None  # the decoding pass then reports the time spent
    finally:
        container.close()
        if handle is not None:
            handle.close()
    if tb is None or not ticks or None in ticks or len(set(ticks)) != len(ticks):
        return None
    ticks.sort()
    needed: set[int] = set()
    for i, tick in enumerate(ticks):
        repeat_previous, show = rule.push((tick * tb - start) * FPS)
        if show:
            needed.add(tick)
        if repeat_previous and i:
            needed.add(ticks[i - 1])
    return needed


def _hash(container: Any, max_pixels: int, time_limit: float, max_frames: int, needed: set[int] | None,
          fast: bool = False) -> TMK:
    if not container.streams.video:
        raise MediaError("no-video-frames", "no video stream (audio only, or not a video)")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if int(ctx.width or 0) * int(ctx.height or 0) > max_pixels:
        raise MediaError("decompression-bomb", f"{ctx.width}x{ctx.height} frames, over the limit of {max_pixels} pixels")
    ctx.thread_count = 1  # one file, one thread: a batch runs files in parallel instead
    builder = _Builder(container, stream, max_pixels, fast)
    warnings: list[str] = []
    truncated = False
    deadline = time.monotonic() + time_limit
    import av

    try:
        for frame in _frames(container, stream, needed):
            if time.monotonic() > deadline:
                truncated = True
                warnings.append(f"decoding stopped after {time_limit:.0f} s of wall time")
                break
            builder.push(frame)
            if builder.frames >= max_frames:
                truncated = True
                warnings.append(f"stopped after {max_frames} resampled frames")
                break
    except av.error.FFmpegError as exc:  # broken or cut-off data: keep what decoded
        truncated = True
        warnings.append(f"decoding stopped: {exc}")
    return builder.finish(truncated, warnings)


class _Builder:
    """A TMK built from decoded frames pushed in presentation order (the frames the 15 fps rule
    drops may be left out: they change nothing)."""

    def __init__(self, container: Any, stream: Any, max_pixels: int, fast: bool = False) -> None:
        self.rule, self.tb, self.start, self.in_fps = _timing(container, stream)
        self.max_pixels, self.fast, self.folder = max_pixels, fast, _Folder()
        from av.video.reformatter import Interpolation, VideoReformatter

        self.interpolation, self.scaler = Interpolation.BICUBIC, VideoReformatter()
        self.previous_frame: Any = None
        self.previous_feature: np.ndarray | None = None  # of previous_frame, once computed
        self.last_t = -1.0 / self.in_fps

    @property
    def frames(self) -> int:
        return self.folder.count + self.folder.filled

    def _feature_of(self, frame: Any) -> np.ndarray:
        if frame.width * frame.height > self.max_pixels:
            raise MediaError("decompression-bomb", f"a {frame.width}x{frame.height} frame, over the limit")
        # threads=1: PyAV's default (0, automatic) splits even a 64x64 scaling across threads,
        # 15-40% more CPU per frame and far slower on a busy machine
        small = self.scaler.reformat(frame, width=64, height=64, format="gray" if self.fast else "rgb24",
                                     interpolation=self.interpolation, threads=1)
        plane, feature = small.planes[0], np.empty(DIM, np.float32)
        if plane.line_size >= (64 if self.fast else 192):  # the plane's rows in place: no copy through to_ndarray
            rows = np.ndarray((64, plane.line_size), np.uint8, plane)
            (_tmk.pdqf_gray_rows if self.fast else _tmk.pdqf_rows)(rows, feature)
        else:  # a plane stored bottom-up (negative line size): PyAV's copy
            pixels = small.to_ndarray()
            _tmk.pdqf_into(np.ascontiguousarray(np.dstack([pixels] * 3) if self.fast else pixels), feature)
        return feature

    def push(self, frame: Any) -> None:
        t = (frame.pts * self.tb - self.start) if frame.pts is not None and self.tb else self.last_t + 1.0 / self.in_fps
        self.last_t = t
        repeat_previous, show = self.rule.push(t * FPS)
        if repeat_previous and self.previous_frame is not None:
            if self.previous_feature is None:
                self.previous_feature = self._feature_of(self.previous_frame)
            self.folder.add(self.previous_feature, repeat_previous)
        self.previous_frame, self.previous_feature = frame, None
        if show:
            self.previous_feature = self._feature_of(frame)
            self.folder.add(self.previous_feature, show)

    def finish(self, truncated: bool, warnings: list[str]) -> TMK:
        if self.frames == 0:
            raise MediaError("no-video-frames", "no frame of the video stream decodes" + (f" ({warnings[-1]})" if warnings else ""))
        return self.folder.finish(truncated, warnings)


def hash_video_with_tmk(
    source: VideoSource, every_seconds: float = 1.0, *, dedupe_distance: int | None = 4,
    max_pixels: int = VIDEO_MAX_PIXELS, time_limit: float = 600.0, fast: bool = False,
) -> tuple[VideoHashes, TMK]:
    """``hash_video`` and ``hash_video_tmk`` of one video from one decoding pass.

    >>> frames, tmk = hash_video_with_tmk("clip.mp4")
    >>> len(frames.frames), tmk.frame_count  # one PDQ a second; TMK's 15 fps
    (2, 30)
    """
    if not every_seconds > 0:
        raise ValueError("every_seconds must be positive")
    source, needed = _plan(source, time_limit / 4)
    container, handle = open_video(source)
    try:
        if not container.streams.video:
            raise MediaError("no-video-frames", "no video stream (audio only, or not a video)")
        builder = _Builder(container, container.streams.video[0], max_pixels, fast)
        video = sample_frames(container, every_seconds, dedupe_distance, max_pixels, time_limit, 100_000,
                        observer=builder.push, observer_needs=needed)
        return video, builder.finish(video.truncated, video.warnings)
    finally:
        container.close()
        if handle is not None:
            handle.close()


def _frames(container: Any, stream: Any, needed: set[int] | None) -> Any:
    """Decoded frames in presentation order; frames outside ``needed`` that no other frame refers to
    are not decoded (FFmpeg's ``skip_frame``; an intra-only codec's are not even handed to the decoder)."""
    ctx = stream.codec_context
    skip, intra_only = "DEFAULT", bool(getattr(ctx.codec, "intra_only", False))  # MJPEG...: no frame refers to another
    for packet in container.demux(stream):
        if needed is not None and packet.pts is not None:
            if intra_only and packet.size and packet.pts not in needed:
                continue
            wanted = "DEFAULT" if packet.pts in needed or packet.is_keyframe else "NONREF"
            if wanted != skip:  # set only on change: a per-packet call costs on small frames
                ctx.skip_frame = skip = wanted
        yield from packet.decode()
