"""Stable error codes for file records, and the exception that carries one.

A code never changes meaning once released; new ones may be added. Messages are for people and
may change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["ERROR_CODES", "SKIP_CODES", "MediaError", "as_media_error", "media_errors", "status_of"]

#: code -> what it means. Records carry ``{"code": ..., "message": ...}``.
ERROR_CODES: dict[str, str] = {
    "not-found": "the path does not exist",
    "is-directory": "the path is a directory, not a file",
    "unreadable": "the file could not be opened or read (permissions, I/O error)",
    "empty-file": "(skip reason) the file has no bytes: its digests are those of nothing, there is no picture",
    "too-large": "(skip reason) the file is larger than the configured size limit: digested, not decoded",
    "not-media": "(skip reason) the bytes are not a picture or video format this tool recognises",
    "unsupported-format": "a recognised media format that this version cannot decode",
    "decompression-bomb": "the picture declares more pixels than the configured limit, or an archive "
    "expands past its limits (members, bytes, compression ratio)",
    "corrupt": "the decoder failed on the picture's data",
    "no-video-frames": "a video file without a decodable picture frame (audio only, or every frame broken)",
    "empty-image": "the picture has no pixels (zero width or height)",
    "bad-input": "the value given to the API is not a picture (wrong type, shape or dtype)",
    "worker-crashed": "the worker process hashing this file died",
    "known-good": "(skip reason) the file's digest is on a known-good list such as the NSRL",
    "symlink": "(skip reason) a symbolic link; never followed, its target is reported",
    "special-file": "(skip reason) a device, FIFO or socket; never opened",
    "encrypted": "an archive member that is encrypted; its bytes could not be examined",
    "nested-too-deep": "(skip reason) an archive inside archives deeper than the configured limit",
    "internal-error": "an unexpected failure; please report it with the file's type and size",
}


class MediaError(Exception):
    """A file or picture could not be hashed; ``code`` is one of ``ERROR_CODES``."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


#: Codes that make a record ``skipped`` rather than failed: nothing went wrong, the file simply
#: has nothing to hash perceptually (its digests are there). One classification for ``hash``,
#: ``match``, ``scan`` and the API.
SKIP_CODES: frozenset[str] = frozenset(
    {"empty-file", "not-media", "too-large", "known-good", "symlink", "special-file", "nested-too-deep"}
)


def status_of(code: str) -> str:
    """``"skipped"`` for a skip reason, else ``"error"``.

    >>> status_of("not-media"), status_of("corrupt")
    ('skipped', 'error')
    """
    return "skipped" if code in SKIP_CODES else "error"


def as_media_error(exc: BaseException) -> MediaError:
    """Any failure while decoding or hashing, as a ``MediaError`` with a stable code.

    ``MediaError`` passes through; running out of memory is ``too-large``; anything else (a
    decoder's or a library's unexpected exception) is ``internal-error`` naming the exception.

    >>> as_media_error(ValueError("zero-size array")).code
    'internal-error'
    """
    if isinstance(exc, MediaError):
        return exc
    if isinstance(exc, MemoryError):
        return MediaError("too-large", "not enough memory to hash this file")
    return MediaError("internal-error", f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def media_errors() -> Iterator[None]:
    """Re-raise any failure inside the block as a ``MediaError`` (see ``as_media_error``): what
    the public entry points (``hash_image``, ``hash_video``) promise to raise.

    >>> try:
    ...     with media_errors():
    ...         raise ValueError("zero-size array")  # what a decoder might raise
    ... except MediaError as exc:
    ...     print(exc.code, exc)
    internal-error ValueError: zero-size array
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the contract: only MediaError leaves a decoder
        if isinstance(exc, MediaError):
            raise
        raise as_media_error(exc) from exc
