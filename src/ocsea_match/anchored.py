"""Regions anchored on a picture's content: PDQ hashes of rectangles framed by pairs of keypoints.

A crop, a border, a screenshot or a small rotation moves the picture's frame, and every hash of a
frame-defined region (the whole picture, a centre crop) moves with it: PDQ moves ~24 bits per 1%
shift of a side, so a grid of listed re-framings only finds crops that fall on the grid. Here the
regions are defined by the picture's content instead: the strongest SIFT keypoints (blob centres,
found to a fraction of a pixel at any scale; Shi-Tomasi corners fill in on pictures with few
blobs: gradients, facets, stripes) are taken in pairs, and each pair frames a rectangle running
from one keypoint to the other, ``ACROSS`` times their distance tall, turned along the line that
joins them and sampled to a square. The same two keypoints found in a cropped, shrunk, bordered,
tilted or mirrored copy frame the same region of content, so both sides hash the same region
wherever the frame went; ending at the keypoints, the region stays inside any crop that keeps
them, unless it reaches out across the line.

The listed side takes 14 keypoints at least 12% in from every side and keeps the 10 of their
rectangles most likely to be found again in a cropped repost (``_survivors``): the list holder has
the picture, so it makes simulated copies of it (generic crops, a tilt, a mirror, a shrink, JPEG)
to learn which rectangles' keypoints come back, and counts over many crops of 0-30% a side which
rectangles a crop leaves whole; a list costs 10 rows a picture. The query side takes 20 keypoints
anywhere, pairs each of the 12 strongest with every other, and probes each rectangle also mirrored.

Only PDQ hashes of regions are kept: the keypoints are used to place the rectangles and dropped
(no descriptor, position or other image-derived feature is stored). ``robust.py`` adds these rows
to its listed and queried hashes.

>>> from ocsea_match.anchored import anchored_hashes
>>> rng = np.random.default_rng(5)  # blobs of every size: keypoints to anchor on
>>> luma = cv2.GaussianBlur(rng.uniform(0, 255, (240, 320)).astype(np.float32), (0, 0), 3) * 4 - 380
>>> rows = anchored_hashes(luma, query=False)
>>> 0 < len(rows) <= LISTED_SQUARES, rows[0].algorithm
(True, 'pdq')
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from ._core import hamming_many_to_many, pdq_from_luma
from .hashes import Hash

__all__ = ["anchored_hashes", "ACROSS", "CANDIDATE_KEYPOINTS", "LISTED_SQUARES", "QUERY_KEYPOINTS", "QUERY_PAIRED"]

#: Keypoints a query takes: more than the listed side keeps, as a crop removes some of the
#: listed ones and a changed frame reorders the rest (a listed keypoint can fall to 17th-20th).
#: A query rectangle's pair holds one of the ``QUERY_PAIRED`` strongest: pairs of two weak ones
#: were ~14% of the probes and found nothing more (benchmarks/robustness.py, crops and screenshots).
QUERY_KEYPOINTS = 20
QUERY_PAIRED = 12
#: The listed side takes the pairs of this many keypoints as candidates and keeps the
#: ``LISTED_SQUARES`` most likely to be found in a cropped repost (``_survivors``), learning which
#: rectangles' keypoints come back from ``COPIES`` simulated copies of the picture (crops, a tilt,
#: a mirror, a shrink, JPEG), a copy finding a rectangle when one of its query rectangles is within
#: ``SURVIVE`` bits of it.
CANDIDATE_KEYPOINTS = 14
LISTED_SQUARES = 10
COPIES = 8
SURVIVE = 16
#: The simulated copies' crops (a share of each side) and tilts (degrees), at most.
_COPY_CROP = 0.2
_COPY_TILT = 4.0
#: The crops ``_survivors`` counts a rectangle's chances over: ``_CROPS`` crops, each side cut with
#: probability ``_CUT_CHANCE`` by up to ``_CUT_MOST`` of it (harsher than the 0-25% a side a repost
#: is expected to lose, so that the rows do not hug that bound).
_CROPS = 256
_CUT_CHANCE = 0.6
_CUT_MOST = 0.3
#: Listed keypoints are taken this far (a share of each side) from the picture's edges: a crop
#: takes the edges away, the middle of the picture stays in every copy.
LISTED_MARGIN = 0.12
#: A region's height across the line of its pair, as a share of the keypoints' distance (it runs
#: from one keypoint to the other along the line). Lower reaches out of fewer crops but holds less
#: of the picture: at 0.35 (0.7 along) different pictures' regions fell within 55 bits 11x as
#: often, at 0.6 fewer crops were found (benchmarks/robustness.py, crop families).
ACROSS = 0.5
#: Keypoints are found on the picture reduced to this long side; pairs closer than
#: ``_MIN_PAIR`` of it frame too small a region, keypoints closer than ``_MIN_APART`` are one.
_WORK_SIDE = 512
_MIN_PAIR = 0.12
_MIN_APART = 0.05
#: SIFT blobs smaller than this (pixels at ``_WORK_SIDE``) are noise and JPEG blocks.
_MIN_SIZE = 4.0
#: Corners (``_corners``) fill in when a picture has too few blobs: found on the picture blurred by
#: ``_CORNER_BLUR`` pixels (at ``_WORK_SIDE``) over blocks of ``_CORNER_BLOCK`` pixels.
_CORNERS = 1
_CORNER_BLUR = 1.5
_CORNER_BLOCK = 7
#: SIFT's contrast threshold: low, so smooth pictures (gradients, skies) still get their blobs;
#: the strongest are taken anyway.
_CONTRAST = 0.02
#: Pairs closer to vertical than this (|cos| of their angle) may turn over in a tilted copy: a
#: query then also probes their rectangles turned half a turn.
_NEAR_VERTICAL = 0.2
#: Regions are sampled to squares of this size (PDQ reduces to 64 x 64 anyway) and flatter than
#: ``QUALITY_FLOOR`` are dropped (flat regions of different pictures look alike). A region is a
#: small part of the picture, so its PDQ quality (its gradients' sum) is lower than a whole
#: picture's: at 50 the regions of smooth or pastel pictures were all dropped; 15 added no false
#: match in benchmarks/robustness.py (under 15: regions of flat parts, left out).
_SAMPLE = 64
QUALITY_FLOOR = 15


def anchored_hashes(luma: np.ndarray, *, query: bool, squares: int | None = None) -> list[Hash]:
    """PDQ hashes of the rectangles framed by pairs of the picture's strongest keypoints.

    ``luma``: float32 luma (any size; reduced here). Listed side (``query=False``): one hash a
    rectangle, each turned so that its pair runs left to right, at most ``squares`` of them
    (default ``LISTED_SQUARES``; ``0``: every candidate), chosen by their chances in a cropped
    repost (``_survivors``). Query side: also the rectangle mirrored (a mirrored copy turns the
    pair over), and for pairs near vertical the rectangle turned half a turn and its mirror (a
    tilt may turn them over).

    >>> luma = cv2.GaussianBlur(np.random.default_rng(5).uniform(0, 255, (240, 320)).astype(np.float32), (0, 0), 3)
    >>> 0 < len(anchored_hashes(luma * 4 - 380, query=False)) <= LISTED_SQUARES
    True
    """
    work = _reduce(luma)
    if query:
        return _query_hashes(work, _keypoints(work, QUERY_KEYPOINTS))
    candidates, margins = _listed_candidates(work)
    keep = LISTED_SQUARES if squares is None else squares
    if not keep or len(candidates) <= keep:
        return candidates
    return _survivors(work, candidates, margins, keep)


def _query_hashes(work: np.ndarray, points: list[np.ndarray]) -> list[Hash]:
    """The query side's rows: the PDQ of the region of every pair of ``points`` that holds one of
    the ``QUERY_PAIRED`` strongest (strongest pairs first), also mirrored, and for pairs near
    vertical turned half a turn and mirrored again, as ``anchored_hashes``."""
    out: list[Hash] = []
    for i in range(min(len(points), QUERY_PAIRED)):
        for j in range(i + 1, len(points)):
            square = _square(work, points[i], points[j])
            if square is None:
                continue
            patch, near_vertical, _ = square
            variants = [patch, patch[:, ::-1]]
            if near_vertical:
                variants += [patch[::-1, ::-1], patch[::-1, :]]
            for v in variants:
                found = _pdq(v)
                if found is None:
                    break
                out.append(found)
    return list(dict.fromkeys(out))


def _listed_candidates(work: np.ndarray) -> tuple[list[Hash], np.ndarray]:
    """The listed side's candidate rows (the regions of the pairs of ``CANDIDATE_KEYPOINTS``
    keypoints away from the edges) and, for each, its region's distance from the top, bottom, left
    and right sides as a share of the picture (a crop that cuts less keeps the region whole)."""
    points = _keypoints(work, CANDIDATE_KEYPOINTS, LISTED_MARGIN)
    rows: dict[Hash, np.ndarray] = {}
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            square = _square(work, points[i], points[j])
            found = _pdq(square[0]) if square is not None else None
            if found is not None and found not in rows:
                rows[found] = square[2]
    return list(rows), np.array(list(rows.values())).reshape(-1, 4)


def _pdq(patch: np.ndarray) -> Hash | None:
    rows, quality = pdq_from_luma(np.ascontiguousarray(patch, dtype=np.float32), dihedral=False)
    if quality < QUALITY_FLOOR:
        return None
    return Hash("pdq", np.asarray(rows).reshape(-1, 32)[0].tobytes(), int(quality))


def _survivors(work: np.ndarray, candidates: list[Hash], margins: np.ndarray, keep: int) -> list[Hash]:
    """The ``keep`` candidates most likely to be found in a cropped repost, chosen one at a time.

    A candidate is found when the crop leaves its region whole and the query finds its two
    keypoints again. The second is learnt from ``COPIES`` simulated copies (``_simulated_copy``:
    generic crops, a tilt, a mirror, a shrink, JPEG; drawn from a seed made of the picture's own
    pixels, so a picture always gets the same rows): of the copies whose crop left the region
    whole, the share that found it (one of their query rows within ``SURVIVE`` bits), counted from
    a prior of one in two. The first is counted over ``_CROPS`` crops (``_crop_model``), from the
    region's margins. Each next row is the one that most raises the chance that a crop finds at
    least one row (the rows spread over the parts of the picture that different crops keep); the
    copies' nearest distance on average next, the strongest keypoints' pairs first among equals.
    Costs ``COPIES`` query-side passes (keypoints and regions) a listed picture."""
    listed = np.frombuffer(b"".join(h.data for h in candidates), np.uint8).reshape(-1, 32)
    image = np.clip(work, 0, 255).astype(np.uint8)
    rng = np.random.default_rng([zlib.crc32(image.tobytes()), 15])
    found = np.zeros((len(candidates), COPIES), dtype=bool)
    whole = np.zeros((len(candidates), COPIES), dtype=bool)
    distance = np.zeros(len(candidates))
    for k in range(COPIES):
        copy, cut = _simulated_copy(image, rng, mirror=k % 2 == 1)
        whole[:, k] = (margins >= cut[None, :]).all(axis=1)
        queried = _query_hashes(copy, _keypoints(copy, QUERY_KEYPOINTS))
        if not queried:
            distance += 256
            continue
        rows = np.frombuffer(b"".join(h.data for h in queried), np.uint8).reshape(-1, 32)
        nearest = hamming_many_to_many(listed, rows, 1).min(axis=1)
        found[:, k] = nearest <= SURVIVE
        distance += nearest
    comes_back = ((found & whole).sum(axis=1) + 1.0) / (whole.sum(axis=1) + 2.0)
    kept_whole = (margins[:, None, :] >= _crop_model()[None, :, :]).all(axis=2)
    chance = kept_whole * comes_back[:, None]  # candidate x crop: found in that crop
    missed = np.ones(_CROPS)  # the chance that each crop finds none of the rows chosen so far
    chosen: list[int] = []
    for _ in range(keep):
        gain = (chance * missed[None, :]).sum(axis=1)
        gain[chosen] = -1.0
        best = min(range(len(candidates)), key=lambda i: (-gain[i], distance[i], i))
        chosen.append(best)
        missed *= 1.0 - chance[best]
    return [candidates[i] for i in sorted(chosen)]


def _crop_model() -> np.ndarray:
    """``_CROPS`` crops as (top, bottom, left, right) shares cut, the same every time."""
    rng = np.random.default_rng(7)
    cut = rng.random((_CROPS, 4)) < _CUT_CHANCE
    return np.where(cut, rng.uniform(0.0, _CUT_MOST, (_CROPS, 4)), 0.0)


def _simulated_copy(image: np.ndarray, rng: np.random.Generator, *, mirror: bool) -> tuple[np.ndarray, np.ndarray]:
    """A copy of the uint8 picture as reposts make them: each side cut by up to ``_COPY_CROP`` (half
    of them untouched), a small tilt half the time (the largest upright part kept), mirrored when
    asked, shrunk to 35-90% and JPEG re-encoded at quality 50-90; float32, reduced as a query is.
    With it, the share of each side (top, bottom, left, right) of the picture the copy lost."""
    h, w = image.shape
    top, bottom, left, right = (float(rng.uniform(0, _COPY_CROP)) if rng.random() < 0.5 else 0.0 for _ in range(4))
    cut = np.array([top, bottom, left, right])
    out = image[round(h * top): h - round(h * bottom), round(w * left): w - round(w * right)]
    if rng.random() < 0.5:
        degrees = float(rng.uniform(-_COPY_TILT, _COPY_TILT))
        ch, cw = out.shape
        inset = round(np.sin(np.radians(abs(degrees))) * max(ch, cw))
        if 2 * inset + 8 <= min(ch, cw):  # a long strip (a scrolling screenshot) stays upright
            turn = cv2.getRotationMatrix2D((cw / 2, ch / 2), degrees, 1.0)
            turned = cv2.warpAffine(out, turn, (cw, ch), flags=cv2.INTER_LINEAR)
            out = turned[inset: ch - inset, inset: cw - inset]
            cut += np.array([inset / h, inset / h, inset / w, inset / w])
    if mirror:
        out = out[:, ::-1]
    scale = float(rng.uniform(0.35, 0.9))
    size = (max(32, round(out.shape[1] * scale)), max(32, round(out.shape[0] * scale)))
    out = cv2.resize(np.ascontiguousarray(out), size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 91))])
    copy = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float32) if ok else out.astype(np.float32)
    return copy, cut


def _reduce(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape
    scale = _WORK_SIDE / max(h, w)
    if scale >= 1:
        return np.asarray(luma, dtype=np.float32)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(np.asarray(luma, dtype=np.float32), size, interpolation=cv2.INTER_AREA)


def _keypoints(work: np.ndarray, n: int, margin: float = 0.0) -> list[np.ndarray]:
    """The ``n`` strongest SIFT keypoints (positions only), at least ``_MIN_APART`` apart, none
    within ``margin`` of a side (a share of it); when the picture has fewer blobs (smooth or
    geometric pictures: gradients, stripes, facets), the strongest corners fill up to ``n``."""
    h, w = work.shape
    if min(h, w) < 32:
        return []
    image = np.clip(work, 0, 255).astype(np.uint8)
    sift = cv2.SIFT_create(nfeatures=200, contrastThreshold=_CONTRAST)
    found = sorted(sift.detect(image, None), key=lambda k: -k.response)
    blobs = [np.array(k.pt, dtype=np.float64) for k in found if k.size >= _MIN_SIZE * max(h, w) / _WORK_SIDE]
    points: list[np.ndarray] = []
    for candidates in (blobs, _corners(image, 4 * n) if _CORNERS else []):
        for p in candidates:
            if len(points) == n:
                return points
            if margin and not (margin * w <= p[0] <= (1 - margin) * w and margin * h <= p[1] <= (1 - margin) * h):
                continue
            if all(np.hypot(*(p - q)) > _MIN_APART * max(h, w) for q in points):
                points.append(p)
    return points


def _corners(image: np.ndarray, n: int) -> list[np.ndarray]:
    """The ``n`` strongest Shi-Tomasi corners of the slightly blurred picture, to a tenth of a pixel."""
    h, w = image.shape
    smooth = cv2.GaussianBlur(image, (0, 0), _CORNER_BLUR * max(h, w) / _WORK_SIDE)
    found = cv2.goodFeaturesToTrack(smooth, n, 0.02, _MIN_APART * max(h, w), blockSize=_CORNER_BLOCK)
    if found is None:
        return []
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 0.05)
    found = cv2.cornerSubPix(smooth, found.astype(np.float32), (5, 5), (-1, -1), criteria)
    return [np.array(p, dtype=np.float64) for p in found.reshape(-1, 2)]


def _square(work: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray] | None:
    """The region framed by keypoints ``a`` and ``b``: from one to the other along their line and
    ``ACROSS`` times their distance across it, sampled to a square ``_SAMPLE`` wide whose x axis
    runs along the pair left to right; whether the pair is near vertical; the region's distance
    from the top, bottom, left and right sides (shares of the picture). None when the pair is too
    close or the region not wholly inside the picture."""
    h, w = work.shape
    d = float(np.hypot(*(b - a)))
    if d < _MIN_PAIR * max(h, w):
        return None
    u = (b - a) / d
    if u[0] < 0:
        u = -u
    v = np.array([-u[1], u[0]])
    centre, along, across = (a + b) / 2, d / 2, ACROSS * d / 2
    corners = np.array([centre + sx * along * u + sy * across * v for sx in (-1, 1) for sy in (-1, 1)])
    if corners.min() < 0 or corners[:, 0].max() > w - 1 or corners[:, 1].max() > h - 1:
        return None
    start = centre - along * u
    src = np.float32([start - across * v, centre + along * u - across * v, start + across * v])
    # corners to the outer edges of the output's pixels, so that a mirrored or turned copy's region
    # is sampled at exactly the mirrored or turned points
    edge = -0.5
    turn = cv2.getAffineTransform(src, np.float32([[edge, edge], [_SAMPLE + edge, edge], [edge, _SAMPLE + edge]]))
    side = 2 * across  # the narrower side sets the blur that keeps the sampling from aliasing
    source = cv2.GaussianBlur(work, (0, 0), side / _SAMPLE / 2) if side > 2 * _SAMPLE else work
    patch = cv2.warpAffine(source, turn, (_SAMPLE, _SAMPLE), flags=cv2.INTER_LINEAR)
    margins = np.array([corners[:, 1].min() / h, 1 - corners[:, 1].max() / h,
                        corners[:, 0].min() / w, 1 - corners[:, 0].max() / w])
    return patch, abs(u[0]) < _NEAR_VERTICAL, margins


def textured_region(luma: np.ndarray) -> np.ndarray | None:
    """The part of a screenshot-like picture that holds a picture: the bounding box of the largest
    textured blob once thin things (lines of text, UI outlines) are opened away; None when it is
    most of the picture already or too small to be one.

    >>> picture = cv2.GaussianBlur(np.random.default_rng(5).uniform(0, 255, (200, 200)).astype(np.float32), (0, 0), 3)
    >>> screenshot = np.full((400, 300), 240.0, np.float32)
    >>> screenshot[100:300, 50:250] = picture * 4 - 380
    >>> textured_region(screenshot).shape
    (204, 204)
    """
    work = _reduce(luma)
    h, w = work.shape
    if min(h, w) < 64:
        return None
    mean = cv2.blur(work, (5, 5))
    spread = cv2.blur(work * work, (5, 5)) - mean * mean
    mask = (spread > 4.0).astype(np.uint8)
    side = max(9, round(0.03 * max(h, w)) | 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((side, side), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh = (int(v) for v in stats[best, :4])
    if bw * bh > 0.8 * h * w or bw < 0.15 * w or bh < 0.1 * h:
        return None
    scale = luma.shape[0] / h
    return luma[round(y * scale): round((y + bh) * scale), round(x * scale): round((x + bw) * scale)]
