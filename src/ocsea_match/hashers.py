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

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Union

import cv2
import numpy as np
from PIL import Image, ImageOps
from scipy.fft import dct as _dct

from . import _core
from .decode import DEFAULT_MAX_PIXELS, Decoded, open_image
from .errors import MediaError, media_errors
from .algorithms import PDQ_DIALECTS as _DIALECTS, VIDEO as _VIDEO
from .hashes import Hash

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "PDQ_DIALECTS",
    "Algorithm",
    "ImageInput",
    "hash_image",
    "pdq_dihedral",
]

ImageInput = Union[Image.Image, np.ndarray, bytes, bytearray, memoryview, str, "os.PathLike[str]"]

#: What ``hash_file`` and the CLI compute when not told otherwise.
DEFAULT_ALGORITHMS: tuple[str, ...] = ("pdq",)

#: PDQ as other tools compute it: they shrink the picture first, and the same picture's hashes
#: can then differ by more than the match threshold. ``pdq`` itself is full resolution.
PDQ_DIALECTS: tuple[str, ...] = _DIALECTS  # algorithms.ALGORITHM_INFO's dialects of pdq

#: Decoding modes. ``exact``: full decode, the reference's pixels. ``fast``: a JPEG is decoded at
#: 1/2, 1/4 or 1/8 scale in the DCT domain, keeping both sides at least the largest
#: ``Algorithm.fast_min_side`` of the algorithms asked for; PDQ box-averages any larger picture.
MODES = ("exact", "fast")

_LANCZOS = Image.Resampling.LANCZOS


def _draft_for(mode: str, names: Sequence[str]) -> tuple[int, int] | None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "exact":
        return None
    sides = [ALGORITHMS[name].fast_min_side for name in names if name in ALGORITHMS]
    if not sides:
        return None  # only video algorithms: a picture is not hashed perceptually
    return (max(sides), max(sides))


def _pdq_min_side(mode: str) -> int | None:
    return ALGORITHMS["pdq"].fast_min_side if mode == "fast" else None


class _Picture:
    """One decoded picture and the forms the algorithms need, each made at most once.

    The pixels are a PIL image or a uint8 array (HxW gray, HxWx3/4 in RGB order, or BGR order
    with ``bgr=True`` as OpenCV decodes). ``pdq_min_side`` (fast mode) lets PDQ work on a
    box-averaged copy: see ``luma``.
    """

    def __init__(
        self, image: Image.Image | None = None, array: np.ndarray | None = None,
        *, bgr: bool = False, pdq_min_side: int | None = None,
    ) -> None:
        self._image = image
        self._array = array
        self._bgr = bgr
        self._pdq_min_side = pdq_min_side
        self._gray: Image.Image | None = None
        self._rgb: Image.Image | None = None

    @property
    def size(self) -> tuple[int, int]:
        if self._image is not None:
            return self._image.size
        assert self._array is not None
        return int(self._array.shape[1]), int(self._array.shape[0])

    def _pixels(self) -> np.ndarray:
        """The pixels as an array (a copy out of PIL for PIL pictures: only where needed)."""
        if self._array is not None:
            return self._array
        assert self._image is not None
        img = self._image
        return np.asarray(img if img.mode in ("L", "RGB") else img.convert("RGB"))

    def luma(self) -> np.ndarray:
        """Float32 luma as the pdqhash binding computes it from the RGB pixels (a new array).

        In fast mode a picture larger than twice ``pdq_min_side`` is first box-averaged by the
        largest whole factor keeping both sides >= pdq_min_side: decoders without DCT-domain
        scaling (WebP, PNG) give the full picture, and averaging k x k blocks is what a JPEG
        decoder's 1/k scaling approximates. Only PDQ uses it: its filter's cost grows with the
        picture, while the imagehash family shrinks it with one Lanczos pass anyway (and box
        pre-averaging moved pHash by 4-6 bits on two hypersensitive corpus WebPs).
        """
        arr = self._pixels()
        if self._pdq_min_side is not None:
            k = min(arr.shape[0], arr.shape[1]) // self._pdq_min_side
            if k >= 2:
                h, w = arr.shape[0] // k * k, arr.shape[1] // k * k
                arr = cv2.resize(arr[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)
        if arr.ndim == 2:
            return _core.luma_from_gray(arr)
        return _core.luma_from_rgb(arr, self._bgr)

    def rgb_image(self) -> Image.Image:
        """The picture as a PIL RGB image (what the PDQ dialects shrink), made once."""
        if self._rgb is None:
            if self._image is not None:
                self._rgb = self._image if self._image.mode == "RGB" else self._image.convert("RGB")
            else:
                assert self._array is not None
                arr = self._array
                if arr.ndim == 2:
                    self._rgb = Image.fromarray(arr, "L").convert("RGB")
                else:
                    rgb = arr[:, :, 2::-1] if self._bgr else arr[:, :, :3]
                    self._rgb = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
        return self._rgb

    def gray(self) -> Image.Image:
        """The PIL ``L`` picture imagehash starts from (``image.convert("L")``)."""
        if self._gray is None:
            if self._image is not None:
                self._gray = self._image.convert("L")
            else:
                assert self._array is not None
                arr = self._array
                gray = arr if arr.ndim == 2 else _core.gray_from_rgb(arr, self._bgr)  # Pillow's formula
                self._gray = Image.fromarray(np.ascontiguousarray(gray), "L")
        return self._gray


# --------------------------------------------------------------------------------------------
# The algorithms
# --------------------------------------------------------------------------------------------


def _pdq_hashes(name: str, luma: np.ndarray, dihedral: bool = False) -> list[Hash]:
    """PDQ of a float32 luma picture (only read): one hash, or the 8 dihedral ones."""
    rows, quality = _core.pdq_from_luma(luma, dihedral=dihedral)
    return [Hash(name, row.tobytes(), int(quality)) for row in rows]


def _pdq(pic: _Picture) -> Hash:
    return _pdq_hashes("pdq", pic.luma())[0]


def _pdq_of_rgb_image(name: str, img: Image.Image) -> Hash:
    return _pdq_hashes(name, _core.luma_from_rgb(np.asarray(img)))[0]


def _pdq_thumb512(pic: _Picture) -> Hash:
    # the PDQ Python reference: Pillow's thumbnail((512, 512)) (aspect kept, Pillow's defaults)
    img = pic.rgb_image().copy()
    img.thumbnail((512, 512))
    return _pdq_of_rgb_image("pdq-thumb512", img)


def _pdq_nearest512(pic: _Picture) -> Hash:
    # the C++ pdq-photo-hasher: when a side is over 512, CImg's resize(512, 512), aspect ignored,
    # whose default is nearest neighbour taking source pixel floor(x * W / 512) (top-left, not
    # Pillow's pixel centres); smaller pictures are hashed as they are
    rgb = np.asarray(pic.rgb_image())
    return _pdq_hashes("pdq-nearest512", _core.luma_from_rgb(np.ascontiguousarray(cimg_nearest_512(rgb))))[0]


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


def _phash(pic: _Picture) -> Hash:
    # The 32x32 DCT is SciPy's (pocketfft), as in imagehash: on blocky or symmetric pictures many
    # coefficients are zero in exact arithmetic and the median is 0, so pocketfft's rounding
    # noise (+-1e-13) decides bits. A DCT of our own, however exact, differed there (hypothesis
    # found a 32x23 two-level picture); sharing the implementation makes every bit the same.
    pixels = np.asarray(pic.gray().resize((32, 32), _LANCZOS))
    low = _dct(_dct(pixels, axis=0), axis=1)[:8, :8]
    return Hash.from_bits("phash", low > np.median(low))


def _dhash(pic: _Picture) -> Hash:
    pixels = np.asarray(pic.gray().resize((9, 8), _LANCZOS))
    return Hash.from_bits("dhash", pixels[:, 1:] > pixels[:, :-1])


def _ahash(pic: _Picture) -> Hash:
    pixels = np.asarray(pic.gray().resize((8, 8), _LANCZOS))
    return Hash.from_bits("ahash", pixels > pixels.mean())


def _whash(pic: _Picture) -> Hash:
    # imagehash.whash(image, hash_size=8, mode="haar", remove_max_haar_ll=True)
    smallest = min(pic.size)
    scale = max(2 ** int(np.log2(smallest)), 8)
    pixels = np.asarray(pic.gray().resize((scale, scale), _LANCZOS)) / 255.0
    low = _core.whash_low(np.ascontiguousarray(pixels), 8, True)
    return Hash.from_bits("whash", low > np.median(low))


@dataclass(frozen=True)
class Algorithm:
    """A registered hash algorithm."""

    name: str
    bits: int
    compute: Callable[[_Picture], Hash]
    description: str
    #: fast mode decodes no smaller than this (both sides). Measured on the corpus JPEGs against
    #: exact: PDQ at 768 px drifts p99 10 bits (512 px: 14); wHash 0 at 768 but 21 bits max at
    #: 256; pHash/dHash/aHash <= 3 bits at 256 px, since they shrink to 8-32 px anyway.
    fast_min_side: int


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("pdq", 256, _pdq, "Meta's PDQ, 256 bits + quality; bit-identical to the reference", 768),
        Algorithm("pdq-thumb512", 256, _pdq_thumb512, "PDQ dialect of the PDQ Python reference (Pillow thumbnail 512)", 768),
        Algorithm("pdq-nearest512", 256, _pdq_nearest512, "PDQ dialect of the C++ tool (512x512 nearest resize)", 768),
        Algorithm("phash", 64, _phash, "DCT perceptual hash, identical to imagehash.phash", 256),
        Algorithm("dhash", 64, _dhash, "difference hash, identical to imagehash.dhash", 256),
        Algorithm("ahash", 64, _ahash, "average hash, identical to imagehash.average_hash", 256),
        Algorithm("whash", 64, _whash, "Haar wavelet hash, identical to imagehash.whash", 768),
    )
}


#: Algorithms of whole videos (``tmk.py``): asked for like the others, computed only for videos.
VIDEO_ALGORITHMS: tuple[str, ...] = _VIDEO  # algorithms.ALGORITHM_INFO's video rows


def _check_algorithms(algorithms: Iterable[str] | str) -> tuple[str, ...]:
    names = (algorithms,) if isinstance(algorithms, str) else tuple(algorithms)
    if not names:
        raise ValueError("no algorithm requested")
    unknown = [n for n in names if n not in ALGORITHMS and n not in VIDEO_ALGORITHMS]
    if unknown:
        raise ValueError(f"unknown algorithm(s) {unknown}; known: {sorted(ALGORITHMS) + list(VIDEO_ALGORITHMS)}")
    return tuple(dict.fromkeys(names))


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _picture_from_array(arr: np.ndarray) -> _Picture:
    if arr.dtype != np.uint8:
        raise MediaError("bad-input", f"arrays must be uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise MediaError("bad-input", f"arrays must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MediaError("empty-image", f"the array has shape {arr.shape}")
    return _Picture(array=np.ascontiguousarray(arr))


def _picture_from_pil(img: Image.Image, pdq_min_side: int | None = None) -> _Picture:
    if img.size[0] == 0 or img.size[1] == 0:
        raise MediaError("empty-image", f"the picture is {img.size[0]}x{img.size[1]} pixels")
    return _Picture(image=img, pdq_min_side=pdq_min_side)


def _read_file(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise MediaError("not-found", f"no such file: {os.fsdecode(path)}") from None
    except IsADirectoryError:
        raise MediaError("is-directory", f"a directory: {os.fsdecode(path)}") from None
    except OSError as exc:
        raise MediaError("unreadable", f"cannot read {os.fsdecode(path)}: {exc.strerror or exc}") from None


def _picture_from_decoded(decoded: Decoded, mode: str) -> _Picture:
    if decoded.array is not None:
        return _Picture(array=decoded.array, bgr=True, pdq_min_side=_pdq_min_side(mode))
    assert decoded.image is not None
    return _picture_from_pil(decoded.image, _pdq_min_side(mode))


_TRANSPOSE = {  # EXIF orientation -> how a viewer shows the stored pixels (as ImageOps.exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _displayed(decoded: Decoded, mode: str) -> _Picture:
    if decoded.array is not None and decoded.orientation in _TRANSPOSE:
        turned = np.ascontiguousarray(_TRANSPOSE[decoded.orientation](decoded.array))
        return _Picture(array=turned, bgr=True, pdq_min_side=_pdq_min_side(mode))
    assert decoded.image is not None
    return _picture_from_pil(ImageOps.exif_transpose(decoded.image), _pdq_min_side(mode))


def _to_picture(image: ImageInput, names: Sequence[str], max_pixels: int, mode: str) -> _Picture:
    draft = _draft_for(mode, names)
    if isinstance(image, Image.Image):
        return _picture_from_pil(image)
    if isinstance(image, np.ndarray):
        return _picture_from_array(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _picture_from_decoded(open_image(bytes(image), max_pixels, draft), mode)
    if isinstance(image, (str, os.PathLike)):
        return _picture_from_decoded(open_image(_read_file(image), max_pixels, draft), mode)
    raise MediaError("bad-input", f"cannot hash a {type(image).__name__}")


def _run(pic: _Picture, names: Sequence[str]) -> dict[str, Hash]:
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
    names = _check_algorithms(algorithms)
    with media_errors():
        return _run(_to_picture(image, names, max_pixels, mode), names)


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
        return _pdq_hashes("pdq", _to_picture(image, ("pdq",), max_pixels, mode).luma(), dihedral=True)
