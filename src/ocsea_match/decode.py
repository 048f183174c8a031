"""Bytes or paths to pixels: type sniffing by magic numbers, size limits, truncation, modes.

Decoding is Pillow's (libjpeg-turbo, libpng, libwebp ...). This module adds what a batch over
seized or uploaded files needs around it: the type comes from the bytes, not the name; a picture
that declares more pixels than ``max_pixels`` is refused from its header, before any large
allocation; a truncated picture is decoded as far as it goes and flagged, never passed off as
whole; every failure is a ``MediaError`` with a stable code.

>>> import io
>>> from PIL import Image
>>> png = io.BytesIO(); Image.new("RGB", (320, 240), "white").save(png, "PNG")
>>> decoded = open_image(png.getvalue())
>>> decoded.size, decoded.truncated, sniff(png.getvalue()[:32])
((320, 240), False, ('image', 'PNG'))
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from PIL import (  # the plugins of PICTURE_FORMATS, registered here: Image.open then never loads all ~40 (init())
    BmpImagePlugin,  # noqa: F401
    GifImagePlugin,  # noqa: F401
    Image,
    ImageFile,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    WebPImagePlugin,  # noqa: F401
)

from .errors import MediaError

__all__ = ["DEFAULT_MAX_PIXELS", "PICTURE_FORMATS", "Decoded", "sniff", "open_image", "normalize_mode"]

#: Pictures declaring more pixels than this are refused (``decompression-bomb``). 100 megapixels
#: covers the largest camera and panorama files while keeping one decode under ~1 GB.
DEFAULT_MAX_PIXELS = 100_000_000

#: The only Pillow plugins a picture is ever opened with (``Image.open(..., formats=...)``): the
#: formats this project claims (README, "What is hashed"). Every other Pillow plugin (PSD, PCX,
#: TGA, EPS, FITS ... each a parser of hostile bytes) is unreachable; a picture in a format that
#: ``sniff`` recognises but that is not here (HEIF, AVIF, PSD, JPEG 2000, ICO) is
#: ``unsupported-format``, anything else ``not-media``. A JPEG with further pictures (MPO) opens
#: through the JPEG plugin.
PICTURE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")

_QUIET_BOMB_WARNING = ("ignore", None, Image.DecompressionBombWarning, None, 0)


def _quiet_pillow_bomb_warning() -> None:
    """Pillow warns when a picture declares more than its own default limit (89 megapixels); this
    project checks its own limit (``max_pixels``) from the header right after opening and says so in
    the record, so Pillow's warning is noise on an examiner's terminal. A process-wide filter, kept
    in place at each open (a caller's ``catch_warnings`` may have dropped it), rather than
    ``warnings.catch_warnings`` around each open, which is not thread-safe (a service decodes in
    threads)."""
    if _QUIET_BOMB_WARNING not in warnings.filters:
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def sniff(head: bytes) -> tuple[str, str | None]:
    """``(media_type, format)`` from a file's first bytes (32 are enough).

    media_type is ``"image"``, ``"video"``, ``"archive"`` or ``"other"``.

    >>> sniff(b"\\xff\\xd8\\xff\\xe0\\x00\\x10JFIF")
    ('image', 'JPEG')
    """
    h = bytes(head)
    for magic, media_type, format_name in _MAGIC:
        if h.startswith(magic):
            return media_type, format_name
    if h[:4] == b"RIFF":
        return _RIFF.get(h[8:12], ("other", None))
    if h[:2] == b"BM" and len(h) >= 14:
        return "image", "BMP"
    if h[4:8] == b"ftyp":  # ISO base media: the brand says what it holds
        brand = h[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "image", "HEIF"
        if brand in (b"avif", b"avis"):
            return "image", "AVIF"
        return "video", "MOV" if brand.startswith(b"qt") else "3GP" if brand.startswith(b"3g") else "MP4"
    return "other", None


# (first bytes, media type, format): the signatures read at the start of a file
_MAGIC: tuple[tuple[bytes | tuple[bytes, ...], str, str], ...] = (
    (b"\xff\xd8\xff", "image", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "image", "PNG"),
    ((b"GIF87a", b"GIF89a"), "image", "GIF"),
    ((b"II*\x00", b"MM\x00*"), "image", "TIFF"),
    (b"\x00\x00\x01\x00", "image", "ICO"),
    (b"8BPS", "image", "PSD"),
    ((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xffO\xffQ"), "image", "JPEG2000"),
    (b"\x1a\x45\xdf\xa3", "video", "MATROSKA"),
    (b"FLV", "video", "FLV"),
    (b"\x30\x26\xb2\x75", "video", "ASF"),
    ((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"), "video", "MPEG"),
    ((b"PK\x03\x04", b"PK\x05\x06"), "archive", "ZIP"),
)
_RIFF = {b"WEBP": ("image", "WEBP"), b"AVI ": ("video", "AVI")}  # RIFF containers by their form type


class _SharedExclusive:
    """Many shared holders or one exclusive holder.

    Pillow's switch for decoding truncated files (``ImageFile.LOAD_TRUNCATED_IMAGES``) is a
    process-wide global. Ordinary decodes hold this lock shared; the rare retry of a truncated
    file holds it exclusively while the switch is on, so no other thread's truncated file is
    silently accepted as whole meanwhile.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive or self._shared:
                self._cond.wait()
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


_LOAD_LOCK = _SharedExclusive()


@dataclass
class Decoded:
    """A decoded picture and what the decoder said about it.

    The pixels are either a PIL ``image`` (Pillow's decoders) or an ``array`` (uint8 HxWx3 in
    OpenCV's B, G, R order), never both; ``orientation`` is the EXIF orientation tag (1-8).
    """

    image: Image.Image | None
    format: str | None
    original_size: tuple[int, int]
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    array: np.ndarray | None = None
    orientation: int | None = None

    @property
    def size(self) -> tuple[int, int]:
        if self.array is not None:
            return int(self.array.shape[1]), int(self.array.shape[0])
        assert self.image is not None
        return self.image.size


def _orientation(img: Image.Image) -> int | None:
    try:
        value = img.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not fail the picture
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _bomb_message(exc: Exception, max_pixels: int) -> str:
    """Pillow's own refusal (over twice ``Image.MAX_IMAGE_PIXELS``), told with this project's limit."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    declared = int(found.group(1)) if found else None
    if declared is None or declared > max_pixels:
        what = f"{declared} pixels" if declared is not None else "more pixels than the decoder accepts"
        return f"refused from its header: it declares {what}, over the limit of {max_pixels}"
    hard = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return (f"refused from its header: it declares {declared} pixels, within the limit of {max_pixels} but over "
            f"Pillow's own hard limit of {hard} (twice PIL.Image.MAX_IMAGE_PIXELS)")


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    _quiet_pillow_bomb_warning()
    try:
        img = Image.open(io.BytesIO(data), formats=PICTURE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise MediaError("decompression-bomb", _bomb_message(exc, max_pixels)) from None
    except Image.UnidentifiedImageError:
        media_type, fmt = sniff(data[:32])
        if media_type == "image":
            raise MediaError(
                "corrupt" if fmt in PICTURE_FORMATS else "unsupported-format",
                f"{fmt} picture that the decoder cannot read" if fmt in PICTURE_FORMATS
                else f"{fmt} picture: not one of the formats this tool decodes ({', '.join(PICTURE_FORMATS)})",
            ) from None
        if media_type in ("video", "archive"):
            raise MediaError("unsupported-format", f"{fmt} {media_type}, not a picture") from None
        raise MediaError("not-media", "not a picture: the bytes match no known picture format") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure on hostile bytes
        raise MediaError("corrupt", f"cannot read the picture header: {exc}") from None
    width, height = img.size
    if width <= 0 or height <= 0:
        raise MediaError("empty-image", f"the picture is {width}x{height} pixels")
    if width * height > max_pixels:
        raise MediaError(
            "decompression-bomb",
            f"refused from its header: it declares {width}x{height} = {width * height} pixels, "
            f"over the limit of {max_pixels}",
        )
    return img


def _apply_draft(img: Image.Image, draft: tuple[int, int] | None) -> None:
    """Let the JPEG decoder scale by 1/2, 1/4 or 1/8 (DCT domain), keeping both sides >= draft.

    Only when it does scale, a YCbCr picture is also decoded straight to its Y (luma) plane:
    every algorithm here hashes luma, and JPEG's Y uses PDQ's and Pillow's luma weights.
    """
    if draft is None or img.format != "JPEG":
        return
    if min(img.size[0] // draft[0], img.size[1] // draft[1]) < 2:
        return  # no reduction possible: decode exactly as mode="exact" does
    img.draft("L" if img.mode in ("RGB", "L") else None, draft)


def _decode_with_opencv(data: bytes) -> np.ndarray | None:
    """WebP through OpenCV's libwebp, BGR: the same pixels as Pillow's ``convert("RGB")`` (checked
    on the corpus), in about half the time. None when OpenCV cannot decode it (truncated,
    damaged), so that Pillow's path reports why."""
    import cv2  # here: only WebP needs OpenCV, and a worker that meets none need not import it

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None or arr.ndim != 3 or arr.shape[2] != 3:
        return None
    return arr


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, draft: tuple[int, int] | None = None) -> Decoded:
    """Decode a picture from its bytes (first frame of an animation).

    ``draft``: let the JPEG decoder scale down in the DCT domain to no less than this size;
    other formats ignore it. Raises ``MediaError``.
    """
    if not data:
        raise MediaError("empty-file", "the file is empty")
    img = _open_checked(data, max_pixels)
    fmt = img.format
    original_size = img.size
    orientation = _orientation(img)
    if fmt == "WEBP" and not getattr(img, "is_animated", False):
        bgr = _decode_with_opencv(data)
        if bgr is not None and (bgr.shape[1], bgr.shape[0]) == original_size:
            return Decoded(None, fmt, original_size, array=bgr, orientation=orientation)
    _apply_draft(img, draft)
    warnings: list[str] = []
    truncated = False
    try:
        with _LOAD_LOCK.shared():
            img.load()
    except MemoryError:
        raise MediaError("too-large", "not enough memory to decode the picture") from None
    except Exception as exc:  # noqa: BLE001
        message = str(exc)
        if "truncated" not in message and not isinstance(exc, EOFError):
            raise MediaError("corrupt", f"the decoder failed: {message}") from None
        truncated = True
        warnings.append(message or "unexpected end of data")
        img = _open_checked(data, max_pixels)
        _apply_draft(img, draft)
        try:
            with _LOAD_LOCK.exclusive():
                saved = ImageFile.LOAD_TRUNCATED_IMAGES
                ImageFile.LOAD_TRUNCATED_IMAGES = True
                try:
                    img.load()
                finally:
                    ImageFile.LOAD_TRUNCATED_IMAGES = saved
        except Exception as exc2:  # noqa: BLE001
            raise MediaError("corrupt", f"truncated, and nothing decodes: {exc2}") from None
    return Decoded(normalize_mode(img), fmt, original_size, truncated, warnings, orientation=orientation)


def normalize_mode(img: Image.Image) -> Image.Image:
    """Bring high-bit-depth pictures to 8 bits by scaling, not clipping.

    Pillow's own ``convert("L")`` clips 16-bit values at 255 (a 16-bit scan would hash as white);
    here 16-bit and 32-bit integer pictures are scaled to 0..255 and float pictures clipped.
    8-bit modes are returned unchanged.
    """
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(img).astype(np.int64)
        top = int(arr.max()) if arr.size else 0
        if 255 < top <= 65535:
            arr = arr >> 8
        elif top > 65535:
            low = int(arr.min())
            arr = (arr - low) * 255 // (top - low)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if mode == "F":
        arr = np.nan_to_num(np.asarray(img), nan=0.0, posinf=255.0, neginf=0.0)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    return img
