"""The decoded picture: the one value every hasher reads (plain, dialects, robust, displayed).

A ``Picture`` holds the pixels once (a PIL image, or a uint8 array as OpenCV decodes it) and makes
the forms the algorithms need (float32 luma, PIL gray, PIL RGB) at most once each. ``files.py``
decodes a file, builds its picture here and hands that same picture to ``hashers.run`` and to
``robust``; nothing decodes or converts a picture twice.

>>> pic = picture_from_array(np.full((48, 64, 3), 200, np.uint8))
>>> pic.size, pic.luma().dtype.name
((64, 48), 'float32')
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Union

import numpy as np
from PIL import Image, ImageOps

from ._core import arrow_pixels, content_box as native_content_box, gray_from_rgb, luma_from_gray, luma_from_rgb
from .decode import Decoded, open_image
from .errors import MediaError
from .evidence import read_evidence

__all__ = [
    "FAST_MIN_SIDES", "MODES", "ImageInput", "Picture", "content_box", "displayed", "draft_for", "pil_pixels",
    "picture_from_array", "picture_from_bytes", "picture_from_decoded", "picture_from_pil", "to_picture",
]

ImageInput = Union[Image.Image, np.ndarray, bytes, bytearray, memoryview, str, "os.PathLike[str]"]

#: Decoding modes. ``exact``: full decode, the reference's pixels. ``fast``: a JPEG is decoded at
#: 1/2, 1/4 or 1/8 scale in the DCT domain, keeping both sides at least the largest
#: ``FAST_MIN_SIDES`` of the algorithms asked for; PDQ box-averages any larger picture.
MODES = ("exact", "fast")

#: Fast mode decodes no smaller than this (both sides), per picture algorithm. Measured on the
#: corpus JPEGs against exact: PDQ at 768 px drifts p99 10 bits (512 px: 14); wHash 0 at 768 but
#: 21 bits max at 256; pHash/dHash/aHash <= 3 bits at 256 px, since they shrink to 8-32 px anyway.
FAST_MIN_SIDES: dict[str, int] = {
    "pdq": 768, "pdq-thumb512": 768, "pdq-nearest512": 768,
    "phash": 256, "dhash": 256, "ahash": 256, "whash": 768,
}


def draft_for(mode: str, names: Iterable[str]) -> tuple[int, int] | None:
    """The smallest size a fast decode may give for these algorithms (None: decode it all).

    >>> draft_for("fast", ["phash", "pdq"]), draft_for("exact", ["pdq"]), draft_for("fast", ["tmk"])
    ((768, 768), None, None)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "exact":
        return None
    sides = [FAST_MIN_SIDES[name] for name in names if name in FAST_MIN_SIDES]
    if not sides:
        return None  # only video algorithms: a picture is not hashed perceptually
    return (max(sides), max(sides))


class _ArrowView:
    """A picture's pixel buffer as NumPy sees it (``__array_interface__``), holding Pillow's Arrow
    export alive for as long as an array made from it lives (the array's base is this object)."""

    def __init__(self, img: Image.Image) -> None:
        self.capsules = img.__arrow_c_array__()
        address, channels, pixels = arrow_pixels(*self.capsules)
        width, height = img.size
        if pixels != width * height:
            raise ValueError(f"{pixels} pixels exported for a {width}x{height} picture")
        shape = (height, width) if channels == 1 else (height, width, channels)
        self.__array_interface__ = {"version": 3, "shape": shape, "typestr": "|u1", "data": (address, True)}


def pil_pixels(img: Image.Image) -> np.ndarray:
    """The pixels of an ``L`` or ``RGB`` PIL picture as a read-only uint8 array: HxW, or HxWx4
    for RGB (R, G, B and Pillow's pad byte), read in place through Pillow's Arrow export where it
    can (no copy; Pillow 11.2+, pictures stored in one block), else ``np.asarray(img)`` (HxWx3,
    a copy through ``tobytes``, which costs ~0.5 ms on a 0.3 MP picture: a sixth of hashing it).

    >>> pil_pixels(Image.new("RGB", (3, 2), (10, 20, 30)))[1, 2, :3].tolist()
    [10, 20, 30]
    """
    if img.mode in ("L", "RGB") and hasattr(img, "__arrow_c_array__"):
        img.load()
        try:
            return np.asarray(_ArrowView(img))
        except ValueError:  # rows in several blocks (large pictures), or another layout
            pass
    return np.asarray(img)


def _pdq_min_side(mode: str) -> int | None:
    return FAST_MIN_SIDES["pdq"] if mode == "fast" else None


class Picture:
    """One decoded picture and the forms the algorithms need, each made at most once.

    The pixels are a PIL image or a uint8 array (HxW gray, HxWx3/4 in RGB order, or BGR order
    with ``bgr=True`` as OpenCV decodes). ``pdq_min_side`` (fast mode) lets PDQ work on a
    box-averaged copy: see ``luma``. Make one with the ``picture_from_*`` constructors.
    """

    def __init__(
        self, image: Image.Image | None = None, array: np.ndarray | None = None,
        *, bgr: bool = False, pdq_min_side: int | None = None,
    ) -> None:
        self.image = image
        self.array = array
        self.bgr = bgr
        self.pdq_min_side = pdq_min_side
        self._gray: Image.Image | None = None
        self._rgb: Image.Image | None = None
        self._luma: dict[bool, np.ndarray] = {}

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        if self.image is not None:
            return self.image.size
        assert self.array is not None
        return int(self.array.shape[1]), int(self.array.shape[0])

    def _pixels(self) -> np.ndarray:
        """The pixels as an array (a copy out of PIL for PIL pictures: only where needed)."""
        if self.array is not None:
            return self.array
        assert self.image is not None
        img = self.image
        return pil_pixels(img if img.mode in ("L", "RGB") else img.convert("RGB"))

    def _box_factor(self, arr: np.ndarray) -> int:
        if self.pdq_min_side is None:
            return 1
        return min(arr.shape[0], arr.shape[1]) // self.pdq_min_side

    def luma(self, *, full: bool = False) -> np.ndarray:
        """Float32 luma as the pdqhash binding computes it from the RGB pixels, made once
        (callers only read it: the PDQ kernel does not write its input).

        In fast mode a picture larger than twice ``pdq_min_side`` is first box-averaged by the
        largest whole factor keeping both sides >= pdq_min_side (``full=True``: never; what the
        robust re-framings start from): decoders without DCT-domain scaling (WebP, PNG) give
        the full picture, and averaging k x k blocks is what a JPEG decoder's 1/k scaling
        approximates. Only PDQ uses it: its filter's cost grows with the picture, while the
        imagehash family shrinks it with one Lanczos pass anyway (and box pre-averaging moved
        pHash by 4-6 bits on two hypersensitive corpus WebPs).
        """
        arr = self._pixels()
        k = 1 if full else self._box_factor(arr)
        reduced = k >= 2
        if reduced not in self._luma:
            if reduced:
                import cv2  # here: only fast mode's reduction of pictures without a draft decode needs OpenCV

                h, w = arr.shape[0] // k * k, arr.shape[1] // k * k
                arr = cv2.resize(arr[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)
            if arr.ndim == 2:
                self._luma[reduced] = luma_from_gray(arr)
            else:
                self._luma[reduced] = luma_from_rgb(arr, self.bgr)
        return self._luma[reduced]

    def luma_is_full(self) -> bool:
        """Whether ``luma()`` is the whole picture's (no fast-mode box-averaging)."""
        return self._box_factor(self._pixels()) < 2

    def rgb_image(self) -> Image.Image:
        """The picture as a PIL RGB image (what the PDQ dialects shrink), made once."""
        if self._rgb is None:
            if self.image is not None:
                self._rgb = self.image if self.image.mode == "RGB" else self.image.convert("RGB")
            else:
                assert self.array is not None
                arr = self.array
                if arr.ndim == 2:
                    self._rgb = Image.fromarray(arr, "L").convert("RGB")
                else:
                    rgb = arr[:, :, 2::-1] if self.bgr else arr[:, :, :3]
                    self._rgb = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
        return self._rgb

    def gray(self) -> Image.Image:
        """The PIL ``L`` picture imagehash starts from (``image.convert("L")``), made once."""
        if self._gray is None:
            if self.image is not None:
                self._gray = self.image.convert("L")
            else:
                assert self.array is not None
                arr = self.array
                gray = arr if arr.ndim == 2 else gray_from_rgb(arr, self.bgr)  # Pillow's formula
                self._gray = Image.fromarray(np.ascontiguousarray(gray), "L")
        return self._gray


# --------------------------------------------------------------------------------------------
# Constructors
# --------------------------------------------------------------------------------------------


def picture_from_array(arr: np.ndarray) -> Picture:
    """Pixels in memory: uint8 HxW gray, HxWx3 RGB or HxWx4 RGBA (RGB order), hashed as they are."""
    if arr.dtype != np.uint8:
        raise MediaError("bad-input", f"arrays must be uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise MediaError("bad-input", f"arrays must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MediaError("empty-image", f"the array has shape {arr.shape}")
    return Picture(array=np.ascontiguousarray(arr))


def picture_from_pil(img: Image.Image, pdq_min_side: int | None = None) -> Picture:
    """A PIL image, hashed as it is (``pdq_min_side``: fast mode's PDQ box-averaging)."""
    if img.size[0] == 0 or img.size[1] == 0:
        raise MediaError("empty-image", f"the picture is {img.size[0]}x{img.size[1]} pixels")
    return Picture(image=img, pdq_min_side=pdq_min_side)


def picture_from_decoded(decoded: Decoded, mode: str) -> Picture:
    """The picture ``decode.open_image`` gave, as stored (the EXIF orientation not applied)."""
    if decoded.array is not None:
        return Picture(array=decoded.array, bgr=True, pdq_min_side=_pdq_min_side(mode))
    assert decoded.image is not None
    return picture_from_pil(decoded.image, _pdq_min_side(mode))


def picture_from_bytes(data: bytes, names: Iterable[str], max_pixels: int, mode: str) -> Picture:
    """Decode a file's bytes for these algorithms (``draft_for``), as stored."""
    return picture_from_decoded(open_image(bytes(data), max_pixels, draft_for(mode, names)), mode)


_TRANSPOSE = {  # EXIF orientation -> how a viewer shows the stored pixels (as ImageOps.exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def displayed(decoded: Decoded, mode: str) -> Picture:
    """The picture as a viewer shows it: the EXIF orientation applied."""
    if decoded.array is not None and decoded.orientation in _TRANSPOSE:
        turned = np.ascontiguousarray(_TRANSPOSE[decoded.orientation](decoded.array))
        return Picture(array=turned, bgr=True, pdq_min_side=_pdq_min_side(mode))
    assert decoded.image is not None
    return picture_from_pil(ImageOps.exif_transpose(decoded.image), _pdq_min_side(mode))


def to_picture(image: ImageInput | Picture, names: Iterable[str], max_pixels: int, mode: str) -> Picture:
    """Any input ``hash_image`` takes: a picture as it is, pixels in memory as they are; bytes and
    paths (read by ``evidence.read_evidence``: read-only, ``O_NOATIME``) decoded for ``names``."""
    draft_for(mode, names)  # a bad mode is the caller's error, whatever the input
    if isinstance(image, Picture):
        return image
    if isinstance(image, Image.Image):
        return picture_from_pil(image)
    if isinstance(image, np.ndarray):
        return picture_from_array(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return picture_from_bytes(bytes(image), names, max_pixels, mode)
    if isinstance(image, (str, os.PathLike)):
        return picture_from_bytes(read_evidence(image), names, max_pixels, mode)
    raise MediaError("bad-input", f"cannot hash a {type(image).__name__}")


# --------------------------------------------------------------------------------------------
# Geometry of the luma
# --------------------------------------------------------------------------------------------


def content_box(luma: np.ndarray, *, tolerance: float = 12.0, min_trim: float = 0.02,
                min_keep: float = 0.4) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` inside uniform bars along the edges, or ``None``.

    A bar is a run of rows (columns) from an edge whose every value stays within ``tolerance``
    of the edge's median (black, white or any colour; video noise allowed). Only bars that
    together take at least ``min_trim`` of a side count, and at least ``min_keep`` of each side
    must remain (a flat picture is not all border).

    >>> boxed = np.zeros((140, 200), np.float32)
    >>> boxed[20:120] = np.random.default_rng(0).integers(50, 250, (100, 200))  # letterboxed
    >>> content_box(boxed)
    (20, 120, 0, 200)
    """
    # native (``_core.content_box``): the same rule in float32 as NumPy evaluated it, without a
    # Python loop per bar line (160-260 us a letterboxed 320x240 frame before, a few us now)
    return native_content_box(np.asarray(luma, np.float32), tolerance, min_trim, min_keep)
