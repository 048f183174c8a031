"""Find a picture shown inside a screenshot: the upright rectangles framed by straight steps.

A chat app or a window shows a picture as an upright rectangle laid on flat UI (a theme colour,
a message bubble, bars): its four sides are straight steps in brightness whose ends line up,
a top and a bottom step spanning the same columns, and a left or a right step along most of
the rows between them. Text, icons and rounded bubbles do not frame such a rectangle. Cut out exactly, the
shown picture is the listed picture shrunk (plus JPEG), so its own PDQ and its own
content-anchored squares (``anchored.py``) are what a query probes with. Only the query side
uses this; nothing is stored.

>>> import numpy as np
>>> screen = np.full((700, 400), 236.0, np.float32)
>>> screen[0:60] = 20.0  # a header bar
>>> screen[150:350, 60:340] = np.add.outer(np.arange(200), np.arange(280)) * 0.3  # the picture
>>> shown_boxes(screen)
[(150, 350, 60, 340)]
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["shown_boxes"]

#: A step: neighbouring lines differ by more than this (luma levels) along most of a side.
_STEP = 10.0
#: A side's step must cover this share of its length (JPEG and a picture's own edge colour
#: matching the UI leave gaps), after gaps of up to ``_GAP`` pixels are closed.
_COVER = 0.8
_GAP = 5
#: Ends of matching sides agree to this many pixels.
_SLACK = 8
#: Steps of neighbouring lines within this many pixels of each other's ends are one step.
_SAME = 2
#: A shown picture is at least this share of the screenshot's width and of its height, and not
#: (almost) all of it.
_MIN_SHARE = 0.15
_MAX_AREA = 0.9
#: At most this many rectangles are returned (largest first).
_MAX_BOXES = 3


def shown_boxes(luma: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Upright rectangles (top, bottom, left, right; bottom and right exclusive) framed by a top
    and a bottom step whose ends line up and a step along one side at least, largest first (near
    duplicates dropped); [] when there is none.

    ``luma``: a float32 luma (a screenshot reduced to ~1024 px is plenty)."""
    h, w = luma.shape
    if h < 64 or w < 64:
        return []
    across = _runs(np.abs(np.diff(luma, axis=0)), _MIN_SHARE * w)  # (y, x0, x1): step below row y
    down = _runs(np.abs(np.diff(luma, axis=1)).T, _MIN_SHARE * h)  # (x, y0, y1): step right of column x
    found: list[tuple[float, int, tuple[int, int, int, int]]] = []
    for i, (top, x0, x1) in enumerate(across):
        for bottom, b0, b1 in across[i + 1:]:
            if bottom - top < _MIN_SHARE * h or abs(b0 - x0) > _SLACK or abs(b1 - x1) > _SLACK:
                continue
            # JPEG and a picture's corners matching the UI shorten a step's ends: the wider of the
            # two, unless a side's own step is found
            (left, cover_left) = _side(down, min(x0, b0) - 1, max(x0, b0) - 1, top, bottom)
            (right, cover_right) = _side(down, max(x1, b1) - 1, min(x1, b1) - 1, top, bottom)
            if cover_left + cover_right < 1:
                continue
            box = (top + 1, bottom + 1, left + 1, right + 1)
            area = (box[1] - box[0]) * (box[3] - box[2])
            if area <= _MAX_AREA * h * w:
                found.append((cover_left + cover_right, area, box))
    found.sort(key=lambda f: (-round(f[0], 2), -f[1]))  # sides stepped along all rows first
    kept: list[tuple[int, int, int, int]] = []
    for _, _, box in found:  # near-identical boxes: a picture's own edges just inside
        if not any(max(abs(a - b) for a, b in zip(box, k)) <= _SAME for k in kept):
            kept.append(box)
    return kept[:_MAX_BOXES]


def _runs(step: np.ndarray, min_length: float) -> list[tuple[int, int, int]]:
    """(line, start, end) of each long run of steps along ``step``'s rows (gaps of ``_GAP`` closed,
    ``_COVER`` of the run a step), keeping the strongest of neighbouring lines with the same run."""
    strong = (step > _STEP).astype(np.uint8)
    closed = cv2.morphologyEx(strong, cv2.MORPH_CLOSE, np.ones((1, 2 * _GAP + 1), np.uint8))
    lines = np.flatnonzero(closed.sum(axis=1) >= min_length)
    found: list[tuple[int, int, int, float]] = []
    for y in lines:
        row = np.concatenate([[0], closed[y], [0]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(row))
        for start, end in zip(edges[::2], edges[1::2]):
            if end - start >= min_length and strong[y, start:end].mean() >= _COVER:
                found.append((int(y), int(start), int(end), float(step[y, start:end].mean())))
    kept: list[tuple[int, int, int, float]] = []
    for run in sorted(found, key=lambda r: -r[3]):
        if not any(abs(run[0] - k[0]) <= _SAME and abs(run[1] - k[1]) <= _SAME and abs(run[2] - k[2]) <= _SAME
                   for k in kept):
            kept.append(run)
    return sorted((y, a, b) for y, a, b, _ in kept)


def _side(down: list[tuple[int, int, int]], outer: int, inner: int, top: int, bottom: int) -> tuple[int, float]:
    """The column of the run of steps near ``outer``..``inner`` (the two ends found for this side,
    within ``_SLACK``) inside rows ``top``..``bottom`` (a bubble's side runs on past the picture)
    that covers most of those rows, and the share it covers; ``(outer, 0.0)`` when there is none."""
    lo, hi = min(outer, inner) - _SLACK, max(outer, inner) + _SLACK
    near = [(min(1.0, (y1 - y0) / (bottom - top)), -abs(column - inner), column) for column, y0, y1 in down
            if lo <= column <= hi and y0 >= top + 1 - _SLACK and y1 <= bottom + 1 + _SLACK]
    return (max(near)[2], max(near)[0]) if near else (outer, 0.0)
