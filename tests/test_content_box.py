"""The bar trim (``picture.content_box``), native since issue #14, against the NumPy rule it replaced.

The reference below is the former Python implementation, kept verbatim as the oracle: the native
kernel must return the same box (or ``None``) on every frame, bars or not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ocsea_match.picture import content_box


def reference_content_box(luma: np.ndarray, *, tolerance: float = 12.0, min_trim: float = 0.02,
                          min_keep: float = 0.4) -> tuple[int, int, int, int] | None:
    """The rule as NumPy evaluated it before the native kernel (float32 arithmetic throughout)."""
    h, w = luma.shape
    if h < 16 or w < 16:
        return None
    step_r, step_c = max(1, w // 256), max(1, h // 256)

    def run(lines: Any, n: int) -> int:
        colour = float(np.median(lines(0)))
        count = 0
        while count < n and float(np.max(np.abs(lines(count) - colour))) <= tolerance:
            count += 1
        return count

    top = run(lambda i: luma[i, ::step_r], h)
    if top == h:
        return None
    bottom = run(lambda i: luma[h - 1 - i, ::step_r], h - top)
    if top + bottom >= h:
        return None
    left = run(lambda i: luma[top:h - bottom:step_c, i], w)
    right = run(lambda i: luma[top:h - bottom:step_c, w - 1 - i], w - left)
    if (top + bottom) < min_trim * h and (left + right) < min_trim * w:
        return None
    if h - top - bottom < min_keep * h or w - left - right < min_keep * w:
        return None
    return top, h - bottom, left, w - right


def _frames(rng: np.random.Generator) -> list[np.ndarray]:
    """Generated luma frames: bars of any colour and width on any sides, with noise near the
    tolerance, gradients, plain noise, dim two-band frames, flat ones, odd and large sizes."""
    frames = []
    for _ in range(300):
        h, w = int(rng.integers(8, 700)), int(rng.integers(8, 900))
        kind = rng.integers(0, 5)
        if kind == 0:
            content = rng.uniform(0, 255, (h, w))
        elif kind == 1:  # a gradient, slow enough that the first lines look like a bar
            content = np.add.outer(np.arange(h) * rng.uniform(0, 0.5), np.arange(w) * rng.uniform(0, 0.5)) + rng.uniform(0, 100)
        elif kind == 2:  # two dim flat bands, each within the tolerance of its own edge
            content = np.full((h, w), rng.uniform(0, 60))
            content[h // 2:] += rng.uniform(0, 20)
        elif kind == 3:
            content = np.full((h, w), rng.uniform(0, 255))
        else:  # a smooth picture with noise
            y, x = np.indices((h, w))
            content = 128 + 60 * np.sin(x / rng.uniform(5, 60)) * np.cos(y / rng.uniform(5, 60)) + rng.normal(0, 4, (h, w))
        frame = content.copy()
        for side in range(4):
            if rng.random() < 0.5:
                continue
            size = int(rng.integers(1, max(2, (h if side < 2 else w) // 3)))
            colour, noise = rng.uniform(0, 255), rng.choice([0.0, 3.0, 6.5, 12.0, 13.0])
            band = colour + rng.uniform(-noise, noise, (size, w) if side < 2 else (h, size))
            if side == 0:
                frame[:size] = band
            elif side == 1:
                frame[h - size:] = band
            elif side == 2:
                frame[:, :size] = band
            else:
                frame[:, w - size:] = band
        frames.append(np.clip(frame, 0, 255).astype(np.float32))
    return frames


def test_native_equals_the_numpy_rule_on_generated_frames() -> None:
    rng = np.random.default_rng(14)
    frames = _frames(rng)
    boxes = 0
    for i, frame in enumerate(frames):
        expected = reference_content_box(frame)
        assert content_box(frame) == expected, (i, frame.shape)
        boxes += expected is not None
        for tolerance, min_trim, min_keep in ((0.0, 0.0, 0.0), (3.0, 0.1, 0.8), (40.0, 0.02, 0.4)):
            assert content_box(frame, tolerance=tolerance, min_trim=min_trim, min_keep=min_keep) == \
                reference_content_box(frame, tolerance=tolerance, min_trim=min_trim, min_keep=min_keep), (i, tolerance)
    assert 40 < boxes < len(frames) - 40  # the suite has frames with and without bars


def test_native_equals_the_numpy_rule_on_views_and_quantised_luma() -> None:
    rng = np.random.default_rng(7)
    for frame in _frames(rng)[:80]:
        for view in (frame[::-1], frame[:, ::-1], frame[1:-1:2, 3::3], frame.T, np.round(frame)):
            assert content_box(view) == reference_content_box(view)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_values_stop_a_bar_as_numpy_did(value: float) -> None:
    frame = np.full((64, 96), 10.0, np.float32)
    frame[20:44] = np.random.default_rng(0).uniform(50, 250, (24, 96))
    frame[5, 7] = value
    frame[50, 3] = value
    assert content_box(frame) == reference_content_box(frame)
