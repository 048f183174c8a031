"""The algorithm registry and the picture entry points: hash_image, pdq_dihedral.

Files (their digests, decoding, records, batches) are ``files.py``'s, on top of this module.

Every algorithm is a short function from a prepared picture to a ``Hash``; the picture is decoded
once and its luma / grayscale forms are made once, whatever the number of algorithms asked for.

>>> from PIL import Image
>>> hashes = hash_image(Image.new("RGB", (64, 48), "white"), algorithms=("pdq", "phash"))
>>> sorted(hashes), hashes["pdq"].quality
(['pdq', 'phash'], 0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ._core import lanczos_gray, luma_from_rgb, pdq_from_luma, whash_low
from .algorithms import DEFAULT_ALGORITHMS, PDQ_DIALECTS as _DIALECTS, VIDEO as _VIDEO, modules_for
from .decode import DEFAULT_MAX_PIXELS
from .errors import media_errors
from .hashes import Hash
from .picture import FAST_MIN_SIDES, MODES, ImageInput, Picture, draft_for, pil_pixels, to_picture

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "PDQ_DIALECTS",
    "Algorithm",
    "ImageInput",
    "MODES",
    "check_algorithms",
    "modules_for",
    "native_resize_matches_pillow",
    "shrink_gray",
    "draft_for",
    "pdq_hashes",
    "run",
    "hash_image",
    "pdq_dihedral",
]


#: PDQ as other tools compute it: they shrink the picture first, and the same picture's hashes
#: can then differ by more than the match threshold. ``pdq`` itself is full resolution.
PDQ_DIALECTS: tuple[str, ...] = _DIALECTS  # algorithms.ALGORITHM_INFO's dialects of pdq

_LANCZOS = Image.Resampling.LANCZOS


# --------------------------------------------------------------------------------------------
# The algorithms
# --------------------------------------------------------------------------------------------


def pdq_hashes(name: str, luma: np.ndarray, dihedral: bool = False) -> list[Hash]:
    """PDQ of a float32 luma picture (only read): one hash, or the 8 dihedral ones (the first is
    then exactly the one hash: the same filter and DCT).

    >>> [h.quality for h in pdq_hashes("pdq", np.zeros((16, 16), np.float32), dihedral=True)]
    [0, 0, 0, 0, 0, 0, 0, 0]
    """
    rows, quality = pdq_from_luma(luma, dihedral=dihedral)
    return [Hash(name, row.tobytes(), int(quality)) for row in rows]


def _pdq(pic: Picture) -> Hash:
    return pdq_hashes("pdq", pic.luma())[0]


def _pdq_of_rgb_image(name: str, img: Image.Image) -> Hash:
    return pdq_hashes(name, luma_from_rgb(np.asarray(img)))[0]


def _pdq_thumb512(pic: Picture) -> Hash:
    # the PDQ Python reference: Pillow's thumbnail((512, 512)) (aspect kept, Pillow's defaults)
    img = pic.rgb_image().copy()
    img.thumbnail((512, 512))
    return _pdq_of_rgb_image("pdq-thumb512", img)


def _pdq_nearest512(pic: Picture) -> Hash:
    # the C++ pdq-photo-hasher: when a side is over 512, CImg's resize(512, 512), aspect ignored,
    # whose default is nearest neighbour taking source pixel floor(x * W / 512) (top-left, not
    # Pillow's pixel centres); smaller pictures are hashed as they are
    rgb = np.asarray(pic.rgb_image())
    return pdq_hashes("pdq-nearest512", luma_from_rgb(np.ascontiguousarray(cimg_nearest_512(rgb))))[0]


def cimg_nearest_512(rgb: np.ndarray) -> np.ndarray:
    """What the PDQ C++ tool hashes: a picture with a side over 512 resized to 512x512 by CImg's
    nearest neighbour (output pixel x takes source pixel ``floor(x * W / 512)``); others as they are.

    >>> cimg_nearest_512(np.zeros((600, 100, 3), np.uint8)).shape
    (512, 512, 3)
    """
    h, w = rgb.shape[:2]
    if h <= 512 and w <= 512:
        return rgb
    rows = (np.arange(512, dtype=np.int64) * h) // 512
    cols = (np.arange(512, dtype=np.int64) * w) // 512
    return rgb[rows[:, None], cols[None, :]]


def _phash(pic: Picture) -> Hash:
    # The 32x32 DCT is SciPy's (pocketfft), as in imagehash: on blocky or symmetric pictures many
    # coefficients are zero in exact arithmetic and the median is 0, so pocketfft's rounding
    # noise (+-1e-13) decides bits. A DCT of our own, however exact, differed there (hypothesis
    # found a 32x23 two-level picture); sharing the implementation makes every bit the same.
    # dct2 is that very pocketfft, loaded without the scipy package (~0.2 s of a worker's start-up)
    from .dct import dct2  # here, not at the top: pHash alone needs it

    pixels = shrink_gray(pic.gray(), 32, 32)
    low = dct2(dct2(pixels, axis=0), axis=1)[:8, :8]
    return Hash.from_bits("phash", low > np.median(low))


def _dhash(pic: Picture) -> Hash:
    pixels = shrink_gray(pic.gray(), 9, 8)
    return Hash.from_bits("dhash", pixels[:, 1:] > pixels[:, :-1])


def _ahash(pic: Picture) -> Hash:
    pixels = shrink_gray(pic.gray(), 8, 8)
    return Hash.from_bits("ahash", pixels > pixels.mean())


def _whash(pic: Picture) -> Hash:
    # imagehash.whash(image, hash_size=8, mode="haar", remove_max_haar_ll=True)
    smallest = min(pic.size)
    scale = max(2 ** int(np.log2(smallest)), 8)
    pixels = shrink_gray(pic.gray(), scale, scale) / 255.0
    low = whash_low(np.ascontiguousarray(pixels), 8, True)
    return Hash.from_bits("whash", low > np.median(low))


def shrink_gray(img: Image.Image, width: int, height: int) -> np.ndarray:
    """``np.asarray(img.resize((width, height), LANCZOS))`` of an ``L`` picture, as imagehash
    shrinks it: by the native kernel (``lanczos_gray``, 5-7x quicker) when it gives this
    Pillow's bytes (checked once per process, ``native_resize_matches_pillow``), else by Pillow.

    >>> shrink_gray(Image.new("L", (64, 48), 200), 8, 8).tolist()[0]
    [200, 200, 200, 200, 200, 200, 200, 200]
    """
    if native_resize_matches_pillow():
        return lanczos_gray(np.ascontiguousarray(pil_pixels(img)), width, height)
    return np.asarray(img.resize((width, height), _LANCZOS))


_native_resize: list[bool] = []  # the one answer of native_resize_matches_pillow, once known

#: Sizes (h, w, new h, new w) where Pillow's two pass orders give different bytes, or where it
#: changed its order (Pillow 13, python-pillow/Pillow#9549): the native kernel must match on all.
_RESIZE_PROBES = ((40, 50, 8, 100), (217, 118, 45, 99), (100, 100, 8, 8), (41, 73, 32, 32), (73, 41, 32, 32),
                  (159, 113, 105, 86), (120, 51, 27, 11), (84, 62, 25, 3), (37, 41, 32, 32), (20, 30, 9, 8))


def native_resize_matches_pillow() -> bool:
    """Whether ``lanczos_gray`` equals the installed Pillow's LANCZOS resize on noise
    pictures of sizes where the pass order shows (Pillow before 13 always ran the horizontal pass
    first; 13 runs the vertical one first when the height shrinks much more): if a Pillow
    changes its arithmetic again, the hashes stay imagehash's, through Pillow itself.

    >>> native_resize_matches_pillow() in (True, False)
    True
    """
    if not _native_resize:
        rng = np.random.default_rng(17)
        same = True
        for h, w, new_h, new_w in _RESIZE_PROBES:
            noise = rng.integers(0, 256, (h, w), dtype=np.uint8)
            pillow = np.asarray(Image.fromarray(noise, "L").resize((new_w, new_h), _LANCZOS))
            same = same and np.array_equal(lanczos_gray(noise, new_w, new_h), pillow)
        _native_resize.append(same)
    return _native_resize[0]


@dataclass(frozen=True)
class Algorithm:
    """A registered hash algorithm."""

    name: str
    bits: int
    compute: Callable[[Picture], Hash]
    description: str
    #: fast mode decodes no smaller than this (both sides): ``picture.FAST_MIN_SIDES``, measured there.
    fast_min_side: int


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("pdq", 256, _pdq, "Meta's PDQ, 256 bits + quality; bit-identical to the reference", FAST_MIN_SIDES["pdq"]),
        Algorithm("pdq-thumb512", 256, _pdq_thumb512, "PDQ dialect of the PDQ Python reference (Pillow thumbnail 512)", FAST_MIN_SIDES["pdq-thumb512"]),
        Algorithm("pdq-nearest512", 256, _pdq_nearest512, "PDQ dialect of the C++ tool (512x512 nearest resize)", FAST_MIN_SIDES["pdq-nearest512"]),
        Algorithm("phash", 64, _phash, "DCT perceptual hash, identical to imagehash.phash", FAST_MIN_SIDES["phash"]),
        Algorithm("dhash", 64, _dhash, "difference hash, identical to imagehash.dhash", FAST_MIN_SIDES["dhash"]),
        Algorithm("ahash", 64, _ahash, "average hash, identical to imagehash.average_hash", FAST_MIN_SIDES["ahash"]),
        Algorithm("whash", 64, _whash, "Haar wavelet hash, identical to imagehash.whash", FAST_MIN_SIDES["whash"]),
    )
}


#: Algorithms of whole videos (``tmk.py``): asked for like the others, computed only for videos.
VIDEO_ALGORITHMS: tuple[str, ...] = _VIDEO  # algorithms.ALGORITHM_INFO's video rows


def check_algorithms(algorithms: Iterable[str] | str) -> tuple[str, ...]:
    """The names asked for, checked and without repeats (``ValueError`` for an unknown one).

    >>> check_algorithms("pdq"), check_algorithms(["phash", "tmk", "phash"])
    (('pdq',), ('phash', 'tmk'))
    """
    names = (algorithms,) if isinstance(algorithms, str) else tuple(algorithms)
    if not names:
        raise ValueError("no algorithm requested")
    unknown = [n for n in names if n not in ALGORITHMS and n not in VIDEO_ALGORITHMS]
    if unknown:
        raise ValueError(f"unknown algorithm(s) {unknown}; known: {sorted(ALGORITHMS) + list(VIDEO_ALGORITHMS)}")
    return tuple(dict.fromkeys(names))




def run(pic: Picture, names: Sequence[str]) -> dict[str, Hash]:
    """Each picture algorithm of ``names`` on one picture (video algorithms are left out).

    >>> from .picture import picture_from_array
    >>> run(picture_from_array(np.zeros((32, 32), np.uint8)), ["ahash", "tmk"])["ahash"].hex
    '0000000000000000'
    """
    return {name: ALGORITHMS[name].compute(pic) for name in names if name in ALGORITHMS}


def hash_image(
    image: ImageInput,
    algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
    *,
    mode: str = "exact",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict[str, Hash]:
    """Hash one picture with each named algorithm: ``{name: Hash}``.

    ``image`` is a PIL image, a uint8 ndarray (HxW gray, HxWx3 RGB, HxWx4 RGBA; RGB order, so
    convert OpenCV's BGR first), the file's bytes, or a path. ``mode="fast"`` decodes JPEG bytes
    at a reduced scale (see README, "Exact and fast"); pixels given in memory are always hashed
    as they are. Raises ``MediaError`` (with a stable ``code``) when the input is not a usable
    picture.

    >>> hash_image(np.zeros((32, 32, 3), np.uint8), ["ahash"])["ahash"].hex
    '0000000000000000'
    """
    names = check_algorithms(algorithms)
    with media_errors():
        return run(to_picture(image, names, max_pixels, mode), names)


def pdq_dihedral(
    image: ImageInput, *, mode: str = "exact", max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[Hash]:
    """The PDQ hashes of the picture's 8 rotations and flips, from one decode and one DCT.

    Order as pdqhash.compute_dihedral: original, rotate 90, rotate 180, rotate 270, flip X,
    flip Y, flip about the main diagonal, flip about the anti-diagonal.

    >>> len(pdq_dihedral(np.zeros((16, 16), np.uint8)))
    8
    """
    with media_errors():
        return pdq_hashes("pdq", to_picture(image, ("pdq",), max_pixels, mode).luma(), dihedral=True)
