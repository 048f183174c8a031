"""Robust matching: find a listed picture after crops, borders, banners, mirroring and small rotations.

Plain PDQ compares one hash of the whole picture with one hash of the whole listed picture, so
anything that moves the picture inside its frame (a crop, a border, a banner, a screenshot, a
tilt) moves the hash past its threshold. This module adds PDQ hashes of *parts and re-framings*
of the picture on both sides, and never drops the plain one:

- ``list_hashes(image)``: what to store per listed picture: the plain PDQ first, then the PDQ of
  the picture with its bars trimmed and of the picture inside uniform edge bands (a looser trim
  with no step asked for, made on both sides), then either three centre crops and four one-side
  crops (the default) or, with ``anchored``, squares anchored on the picture's content instead
  (``anchored.py``: framed by pairs of keypoints, so a crop anywhere, a tilt or a mirror leaves
  them found on both sides; the 10 that simulated copies of the picture find again).
- ``query_hashes(image)``: what to probe with: the plain PDQ first, its other 7 rotations/flips,
  the same 8 after trimming bars, the picture turned back upright when it sits tilted on a plain
  canvas, the same one-side crops as the list (a banner over one side leaves the rest intact), and
  the same uniform-band trim, and the content-anchored squares (also mirrored), and the PDQ and
  squares of a picture shown inside a screenshot (``shown.py``).
- ``is_match(queries, listed)``: the union of two rules, so it never finds less than PDQ-dihedral:
  any of the query's first ``DIHEDRAL`` hashes (the plain PDQ's 8 rotations/flips) against the
  listed plain hash within ``PLAIN_THRESHOLD`` (what plain PDQ and PDQ-dihedral find stays found),
  or any (query, listed) pair within ``THRESHOLD``: lower than 31 because about a hundred pairs are
  compared instead of one.

A *bar* is a band along an edge that is flat (any colour; lines of caption text allowed) and
ends in a straight step: letterboxing, padding, borders, a caption strip, a chat app's canvas.

Every hash is an ordinary 256-bit ``Hash("pdq", ...)``, so an index stores and searches them
like any PDQ row, all of a picture's rows pointing to its one entry. Costs and recall are
measured by ``benchmarks/robustness.py``.

>>> import numpy as np
>>> known = np.random.default_rng(7).integers(0, 256, (120, 160, 3), dtype=np.uint8)
>>> repost = np.pad(known, ((24, 24), (0, 0), (0, 0)))  # letterboxed
>>> is_match(query_hashes(repost), list_hashes(known))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ._core import hamming_many_to_many
from .anchored import anchored_hashes, textured_region
from .decode import DEFAULT_MAX_PIXELS
from .hashers import pdq_hashes
from .hashes import Hash, pack_hashes
from .picture import ImageInput, Picture, content_box, to_picture
from .shown import shown_boxes

__all__ = [
    "PLAIN_THRESHOLD",
    "THRESHOLD",
    "DIHEDRAL",
    "QUALITY_FLOOR",
    "list_hashes",
    "query_hashes",
    "both_hashes",
    "picture_hashes",
    "best_distance",
    "is_match",
]

#: Plain PDQ against plain PDQ: the usual threshold, kept as it is; also for the plain PDQ's
#: rotations/flips against the listed plain hash (PDQ-dihedral's rule).
PLAIN_THRESHOLD = 31
#: ``query_hashes`` starts with this many hashes: the plain PDQ's 8 rotations/flips, the plain one
#: first, in ``hash_image(..., dihedral=True)`` order and never deduplicated (a record's
#: ``robust.query`` leaves the plain one out, so its first 7 are the other rotations/flips).
DIHEDRAL = 8
#: Any (query, listed) pair: the false-positive rate 1e-4 point of this rule on the corpus (14
#: transforms x 101 x 100 different-picture pairs, benchmarks/robustness.py); the same point as
#: PDQ-dihedral's there, both set by one mirrored near-duplicate pair of renders.
THRESHOLD = 23
#: Derived hashes flatter than this (PDQ quality) are not made: flat crops of different pictures
#: look alike. The plain hash is always kept (an index applies its own floor to it).
QUALITY_FLOOR = 50

#: Derived hashes are made from the luma reduced to this long side: the bars are found to a pixel
#: of it (at 512 a one-pixel error is a 1% shift of a small picture, about 24 bits of PDQ).
_WORK_SIDE = 1024
#: Bars (see ``_bar``): a line is flat when ``_BAR_SHARE`` of it is within ``_BAR_TOLERANCE`` of the
#: bar's colour and half of it within ``_BAR_FLAT``; it ends where ``_STEP_SHARE`` of a line is
#: over ``_STEP_LEVEL`` off that colour within ``_EDGE_SEARCH`` lines; text may interrupt it for
#: ``_TEXT_GAP`` of the side. All sides together must lose ``_MIN_BAR`` of a side for a trim, and
#: keep ``_MIN_KEEP`` of each (a chat screenshot's picture may fill only a fifth of it).
_BAR_SHARE = 0.6
_BAR_TOLERANCE = 14.0
_BAR_FLAT = 1.0
_STEP_LEVEL = 3.0
_STEP_SHARE = 0.5
_EDGE_SEARCH = 8
_TEXT_GAP = 0.12
_MIN_BAR = 0.02
_MIN_KEEP = 0.15
#: Fixed crops, as (top, bottom, left, right) shares cut off: a 5% grid of centred crops (what a
#: centred crop needs: PDQ moves ~24 bits per 1% shift of every side), and 20% off one side.
_CENTRE_CROPS = ((0.05, 0.05, 0.05, 0.05), (0.1, 0.1, 0.1, 0.1), (0.15, 0.15, 0.15, 0.15))
_SIDE_CROPS = ((0.0, 0.2, 0.0, 0.0), (0.2, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.2), (0.0, 0.0, 0.2, 0.0))


def list_hashes(
    image: ImageInput, *, mode: str = "exact", max_pixels: int = DEFAULT_MAX_PIXELS, anchored: bool = False
) -> list[Hash]:
    """The PDQ hashes to store for one listed picture; the first is ``hash_image(image, ["pdq"])``.

    Then, when they differ and are not flat: the picture with its bars trimmed, the picture
    inside uniform edge bands (a looser trim made on both sides, ``_uniform_trim``), and either
    (the default) its centre crops (5, 10, 15% cut from every side of the trimmed picture) and
    one-side crops (20% cut from the top, bottom, left or right): 7-8 hashes a picture; or, with
    ``anchored``, the regions framed by pairs of its keypoints instead, the ``anchored.LISTED_SQUARES``
    most likely to be found in a cropped repost (``anchored.anchored_hashes``): ~11 hashes of 32
    bytes a picture on the corpus. The regions find crops anywhere and screenshots (and banners, which
    the one-side crops were for), at ~10x the listing time and ~5x the index look-up time
    (README, "Robust matching"), so they are asked for, not assumed.
    Raises ``MediaError`` as ``hash_image`` does.

    >>> len(list_hashes(np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8))) <= 1 + 1 + 3 + 4 + 1
    True
    """
    return picture_hashes(to_picture(image, ("pdq",), max_pixels, mode), "list", anchored=anchored)["list"]


def query_hashes(
    image: ImageInput, *, mode: str = "exact", max_pixels: int = DEFAULT_MAX_PIXELS, anchored: bool = False
) -> list[Hash]:
    """The PDQ hashes to probe with for one query picture; the first is ``hash_image(image, ["pdq"])``.

    Then: the other 7 rotations/flips of the plain picture (from the same DCT; these first
    ``DIHEDRAL`` hashes are kept even when two are equal, so a caller knows where they are), the picture with
    its bars trimmed and its 7 rotations/flips, the picture turned upright and cut out when it
    sits tilted on a plain canvas, the one-side crops of ``list_hashes``, the uniform-band trim and,
    with ``anchored``, the content-anchored squares of the trimmed (or turned upright) picture and
    their mirrors, and for a picture shown inside a screenshot the PDQ of up to 3 rectangles that
    frame it (``shown.shown_boxes``) and the squares of the first: ~190 hashes on the corpus (~15
    without them, the default).
    Raises ``MediaError`` as ``hash_image`` does.

    >>> from ocsea_match import hash_image
    >>> repost = np.random.default_rng(2).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    >>> query_hashes(repost)[0] == hash_image(repost, ["pdq"])["pdq"]
    True
    """
    return picture_hashes(to_picture(image, ("pdq",), max_pixels, mode), "query", anchored=anchored)["query"]


def both_hashes(
    image: ImageInput, *, mode: str = "exact", max_pixels: int = DEFAULT_MAX_PIXELS, anchored: bool = False
) -> tuple[list[Hash], list[Hash]]:
    """``(query_hashes(image), list_hashes(image))`` from one decode and one luma.

    >>> query, listed = both_hashes(np.random.default_rng(3).integers(0, 256, (64, 64), dtype=np.uint8))
    >>> query[0] == listed[0]
    True
    """
    found = picture_hashes(to_picture(image, ("pdq",), max_pixels, mode), "both", anchored=anchored)
    return found["query"], found["list"]


def picture_hashes(
    picture: Picture, which: str = "both", *, anchored: bool = False, plain: Hash | None = None,
) -> dict[str, list[Hash]]:
    """``{"query": query_hashes, "list": list_hashes}`` of a picture already decoded (``which``:
    ``"query"``, ``"list"`` or ``"both"`` says which of the two), from the picture's own luma.

    ``plain``: the picture's plain PDQ when the caller has it already (``files`` hashed the same
    picture with ``hashers.run``); it is used as it is where the luma is the whole picture's (not
    box-averaged by fast mode), so a list-only call hashes no plain PDQ again. The query's
    rotations/flips come from their own pass over the luma (all 8 from one DCT).

    >>> from ocsea_match.picture import picture_from_array
    >>> pic = picture_from_array(np.random.default_rng(4).integers(0, 256, (64, 64), dtype=np.uint8))
    >>> sorted(picture_hashes(pic)), len(picture_hashes(pic, "query")["query"]) >= DIHEDRAL
    (['list', 'query'], True)
    """
    if which not in ("query", "list", "both"):
        raise ValueError(f"which must be 'query', 'list' or 'both', got {which!r}")
    luma = picture.luma(full=True)  # the one luma, shared with hashers.run when it is the whole picture
    if plain is not None and plain.algorithm == "pdq" and which == "list" and picture.luma_is_full():
        dihedral = [plain]
    else:
        dihedral = pdq_hashes("pdq", luma, dihedral=which != "list")
    work = _work_luma(luma)
    found: dict[str, list[Hash]] = {}
    if which in ("query", "both"):
        found["query"] = _queried(list(dihedral), work, anchored)
    if which in ("list", "both"):
        found["list"] = _listed(dihedral, work, anchored)
    return found


def _listed(dihedral: list[Hash], work: np.ndarray, anchored: bool = True) -> list[Hash]:
    content = _crop(work, _bars(work))
    derived = [content] if content is not work else []
    if not anchored:  # the anchored squares find these crops and more, in fewer rows
        derived += [_crop(content, _share_box(content, cut)) for cut in _CENTRE_CROPS]
        derived += [_crop(work, _share_box(work, cut)) for cut in _SIDE_CROPS]
    derived += _uniform_trim(work)
    hashes = dihedral[:1] + [h for luma in derived for h in _pdq_derived(luma)]
    if anchored:
        hashes += anchored_hashes(content, query=False)
    return _unique(hashes)


def _queried(dihedral: list[Hash], work: np.ndarray, anchored: bool = True) -> list[Hash]:
    hashes = list(dihedral)
    content = _crop(work, _bars(work))
    if content is not work:
        hashes += _pdq_derived(content, dihedral=True)
    upright = _upright(work)
    if upright is not None:
        hashes += _pdq_derived(upright)
    hashes += [h for cut in _SIDE_CROPS for h in _pdq_derived(_crop(work, _share_box(work, cut)))]
    hashes += [h for luma in _uniform_trim(work) for h in _pdq_derived(luma)]
    if anchored:
        hashes += anchored_hashes(upright if upright is not None else content, query=True)
        # a picture shown inside a screenshot: the PDQ of each framed rectangle, and the squares
        # of the largest (or of the textured region) from its own keypoints
        boxes = shown_boxes(content)
        hashes += [h for box in boxes for h in _pdq_derived(_crop(content, box))]
        shown = _crop(content, boxes[0]) if boxes else textured_region(content)
        if shown is not None:
            hashes += anchored_hashes(shown, query=True)
    seen = set(dihedral)
    return dihedral + [h for h in _unique(hashes[len(dihedral):]) if h not in seen]


def best_distance(queries: Sequence[Hash], listed: Sequence[Hash]) -> int:
    """The smallest Hamming distance over all (query, listed) pairs (257 when either is empty)."""
    if not queries or not listed:
        return 257
    d = hamming_many_to_many(pack_hashes(queries, "pdq"), pack_hashes(listed, "pdq"), 1)
    return int(d.min())


def is_match(
    queries: Sequence[Hash], listed: Sequence[Hash], *,
    threshold: int = THRESHOLD, plain_threshold: int = PLAIN_THRESHOLD,
) -> bool:
    """The matching rule: the plain listed hash (``listed[0]``) within ``plain_threshold`` of
    the query's plain hash or of one of its rotations/flips (``queries[:DIHEDRAL]``: PDQ-dihedral's
    rule, so robust never finds less than it), or any pair within ``threshold``.

    >>> flat = [Hash("pdq", bytes(32), 100)]
    >>> is_match(flat, flat), is_match(flat, [])
    (True, False)
    """
    if not queries or not listed:
        return False
    if min(q - listed[0] for q in queries[:DIHEDRAL]) <= plain_threshold:
        return True
    return best_distance(queries, listed) <= threshold


# ------------------------------------------------------------------------------------ helpers


def _work_luma(luma: np.ndarray) -> np.ndarray:
    """The float32 luma reduced to ``_WORK_SIDE`` (a new array: the picture's luma is shared)."""
    h, w = luma.shape
    scale = _WORK_SIDE / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    return luma.copy()


def _pdq_derived(luma: np.ndarray, dihedral: bool = False) -> list[Hash]:
    """PDQ of a derived picture: [] when it is too flat; with ``dihedral``, all 8."""
    if min(luma.shape) < 16:
        return []
    hashes = pdq_hashes("pdq", np.array(luma, dtype=np.float32, order="C"), dihedral=dihedral)
    return hashes if (hashes[0].quality or 0) >= QUALITY_FLOOR else []


def _unique(hashes: list[Hash]) -> list[Hash]:
    """Drop repeated hashes, keeping the order (the plain hash stays first)."""
    return list(dict.fromkeys(hashes))


Box = tuple[int, int, int, int]  # top, bottom, left, right (bottom and right exclusive)


def _crop(luma: np.ndarray, box: Box | None) -> np.ndarray:
    if box is None or box == (0, luma.shape[0], 0, luma.shape[1]):
        return luma
    top, bottom, left, right = box
    return luma[top:bottom, left:right]


def _share_box(luma: np.ndarray, cut: tuple[float, float, float, float]) -> Box:
    h, w = luma.shape
    top, bottom, left, right = cut
    return round(h * top), h - round(h * bottom), round(w * left), w - round(w * right)


def _bar(lines: np.ndarray, limit: int) -> int:
    """How many of ``lines`` (first = outermost) form a bar of the outermost line's colour.

    A bar ends in a step straight across: within ``_EDGE_SEARCH`` lines past its last flat line,
    at least ``_STEP_SHARE`` of a line is off the bar's colour by more than ``_STEP_LEVEL``, and the
    jump is abrupt (three times what the bar's own drift gives over as many lines). A flat part of
    the picture that fades into the rest (fog, sky, a gradient) or ends at an object is not a bar.
    The bar ends halfway up the step: JPEG blurs a bar's last few lines into the picture. Lines of
    text (gaps of up to ``_TEXT_GAP`` of the side between flat lines) stay inside the bar.
    """
    colour = np.median(lines[0])
    off = np.abs(lines[: limit + _EDGE_SEARCH] - colour)
    inside = ((off <= _BAR_TOLERANCE).mean(axis=1) >= _BAR_SHARE) & ((off <= _BAR_FLAT).mean(axis=1) >= 0.5)
    flat = np.flatnonzero(inside)
    if len(flat) == 0 or flat[0] != 0:
        return 0
    gaps = np.flatnonzero(np.diff(flat) > max(2, _TEXT_GAP * len(lines)))  # a line of text: a gap
    run = int(flat[gaps[0]] if len(gaps) else flat[-1]) + 1
    if run >= limit:
        return 0
    last = lines[run - 1]
    away = (off[run : run + _EDGE_SEARCH] > _STEP_LEVEL).mean(axis=1)  # share off the bar's colour
    if away.max() < _STEP_SHARE:
        return 0
    edge = run + int(np.argmax(away >= away.max() / 2))
    # abrupt, not a gradient: the jump over the edge dwarfs the bar's own drift over as many lines
    beyond = min(edge + 2, len(lines) - 1)
    jump = float(np.abs(lines[beyond] - last).mean())
    back = max(run - 4, 0)
    slope = float(np.abs(last - lines[back]).mean()) / max(run - 1 - back, 1)
    if jump < max(_STEP_LEVEL, 3 * slope * (beyond - run + 1)):
        return 0
    return min(edge, limit)


def _bars(luma: np.ndarray) -> Box | None:
    """The box inside bars of any colour along the edges (captions and text allowed), or None.

    Each side is peeled up to four times, so a header bar on a canvas of another colour goes
    too; a side keeps at least ``_MIN_KEEP`` of its length, and bars under ``_MIN_BAR`` of a side
    in all are left (JPEG fringes).
    """
    h, w = luma.shape
    if h < 16 or w < 16:
        return None
    top, bottom, left, right = 0, h, 0, w
    for _ in range(4):
        before = (top, bottom, left, right)
        spare_h = bottom - top - int(_MIN_KEEP * h)
        if spare_h > 0:
            top += _bar(luma[top:bottom, left:right], spare_h)
            spare_h = bottom - top - int(_MIN_KEEP * h)
        if spare_h > 0:
            bottom -= _bar(luma[top:bottom, left:right][::-1], spare_h)
        spare_w = right - left - int(_MIN_KEEP * w)
        if spare_w > 0:
            left += _bar(luma[top:bottom, left:right].T, spare_w)
            spare_w = right - left - int(_MIN_KEEP * w)
        if spare_w > 0:
            right -= _bar(luma[top:bottom, left:right].T[::-1], spare_w)
        if (top, bottom, left, right) == before:
            break
    if (top + h - bottom) < _MIN_BAR * h and (left + w - right) < _MIN_BAR * w:
        return None
    return top, bottom, left, right


def _uniform_trim(luma: np.ndarray) -> list[np.ndarray]:
    """The picture inside edge bands of one colour, with no step asked for (``picture.content_box``,
    as letterboxed video frames are trimmed), made on both sides: where a picture's own dark edge
    meets a black pad there is no step for ``_bars`` to find, but this trim cuts the listed
    picture and its padded copy back to the same content."""
    box = content_box(luma)
    return [] if box is None else [_crop(luma, box)]


def _upright(luma: np.ndarray) -> np.ndarray | None:
    """The picture turned back upright and cut out, when it sits tilted on a plain canvas.

    The canvas is the colour of most of the picture's outer frame; the picture is what differs
    from it, and its smallest enclosing rectangle gives the tilt. None when the frame is not
    mostly one colour, or the tilt is under half a degree (the bars already cover that).
    """
    h, w = luma.shape
    if h < 32 or w < 32:
        return None
    frame = np.concatenate([luma[0], luma[-1], luma[:, 0], luma[:, -1]])
    colour = float(np.median(frame))
    if (np.abs(frame - colour) <= _BAR_TOLERANCE).mean() < 0.5:
        return None
    mask = (np.abs(luma - colour) > _BAR_TOLERANCE).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if cv2.countNonZero(mask) < 0.1 * h * w:
        return None
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(np.concatenate(contours))
    while angle > 45 or angle <= -45:  # OpenCV versions disagree on the range; take the smaller tilt
        angle += -90 if angle > 45 else 90
        rw, rh = rh, rw
    if abs(angle) < 0.5 or rw < 16 or rh < 16:
        return None
    turn = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    turn[:, 2] += (rw / 2 - cx, rh / 2 - cy)
    return cv2.warpAffine(luma, turn, (int(rw), int(rh)), flags=cv2.INTER_LINEAR)
