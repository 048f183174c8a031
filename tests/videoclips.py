"""Small generated video clips (PyAV + libx264 from its wheel): a slideshow of generated scenes
with a slow zoom, and the edits the video tests apply to it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import av
import cv2
import numpy as np

FPS = 15


def scene(seed: int, size: tuple[int, int] = (854, 480)) -> np.ndarray:
    """A smooth, textured RGB picture, different for every seed (PDQ quality 100)."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 256, (h // 24 + 2, w // 24 + 2, 3), dtype=np.uint8)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(big, (0, 0), 3)


def slideshow(scenes: Sequence[np.ndarray], seconds: float, fps: int = FPS) -> list[np.ndarray]:
    """Each scene for ``seconds``, zooming in slowly (so that consecutive frames differ a little)."""
    frames = []
    per = int(round(seconds * fps))
    for picture in scenes:
        h, w = picture.shape[:2]
        for i in range(per):
            k = 0.08 * i / per
            top, left = int(h * k / 2), int(w * k / 2)
            frames.append(cv2.resize(picture[top:h - top, left:w - left], (w, h), interpolation=cv2.INTER_AREA))
    return frames


def write(path: Path, frames: Iterable[np.ndarray], fps: int = FPS, codec: str = "libx264", crf: int = 23,
          size: tuple[int, int] | None = None) -> Path:
    frames = list(frames)
    h, w = frames[0].shape[:2]
    if size is not None:
        w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        else:
            stream.options = {"crf": str(crf), "b:v": "0"} if codec == "libvpx-vp9" else {"qscale": str(crf)}
        for picture in frames:
            if picture.shape[:2] != (h, w):
                picture = cv2.resize(picture, (w, h), interpolation=cv2.INTER_AREA)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def decode_all(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def letterbox(frames: Iterable[np.ndarray], canvas: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """Fit each frame into a 4:3 canvas with black bars above and below."""
    out = []
    cw, ch = canvas
    for f in frames:
        h, w = f.shape[:2]
        nh = int(round(h * cw / w))
        board = np.zeros((ch, cw, 3), np.uint8)
        top = (ch - nh) // 2
        board[top:top + nh] = cv2.resize(f, (cw, nh), interpolation=cv2.INTER_AREA)
        out.append(board)
    return out


def audio_only(path: Path, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        samples = np.zeros((1, 1024), np.float32)
        for _ in range(int(seconds * 44100 / 1024)):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def panorama(seed: int, size: tuple[int, int]) -> np.ndarray:
    """A wide RGB picture with a natural (1/f-like) spectrum: noise at six scales, coarse ones
    stronger. PDQ moves on it as on real footage: ~46 bits for a shift of 2.5% of the width."""
    w, h = size
    rng = np.random.default_rng(seed)
    acc = np.zeros((h, w, 3), np.float32)
    for cell in (256, 128, 64, 32, 16, 8):
        small = rng.standard_normal((h // cell + 2, w // cell + 2, 3)).astype(np.float32)
        acc += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * cell ** 0.5
    acc = (acc - acc.min()) / (acc.max() - acc.min()) * 255
    return np.ascontiguousarray(acc.astype(np.uint8))


def fast_motion(seed: int, seconds: float = 7.0, fps: int = 30, size: tuple[int, int] = (384, 216),
                cuts: Sequence[float] = (2.4, 5.3), speed: float = 0.05) -> list[np.ndarray]:
    """A camera panning across panoramas at ``speed`` frame widths a second (fast enough that
    PDQ moves by ~45 bits in half a second), cutting to a new panorama at ``cuts`` seconds."""
    w, h = size
    shots = [panorama(seed * 100 + k, (w * 3, h)) for k in range(len(cuts) + 1)]
    frames = []
    for i in range(int(round(seconds * fps))):
        t = i / fps
        shot = sum(t >= c for c in cuts)
        x = int((t - ([0.0, *cuts])[shot]) * speed * w) % (2 * w)
        frames.append(np.ascontiguousarray(shots[shot][:, x:x + w]))
    return frames


def retime(frames: Sequence[np.ndarray], fps_in: float, fps_out: float, speed: float = 1.0) -> list[np.ndarray]:
    """Frames for ``fps_out`` (and played ``speed`` times faster), each the nearest input frame."""
    count = int(len(frames) / fps_in / speed * fps_out)
    return [frames[min(len(frames) - 1, int(round(k * speed * fps_in / fps_out)))] for k in range(count)]


def crop(frames: Iterable[np.ndarray], share: float = 0.03) -> list[np.ndarray]:
    """Cut ``share`` of the width and height off every side and scale back to the frame size."""
    out = []
    for f in frames:
        h, w = f.shape[:2]
        m, n = int(share * h), int(share * w)
        out.append(cv2.resize(f[m:h - m, n:w - n], (w, h), interpolation=cv2.INTER_AREA))
    return out
