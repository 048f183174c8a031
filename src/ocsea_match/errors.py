"""Stable error codes for file records, and the exception that carries one.

A code never changes meaning once released; new ones may be added. Messages are for people and
may change.
"""

from __future__ import annotations

__all__ = ["ERROR_CODES", "MediaError"]

#: code -> what it means. Records carry ``{"code": ..., "message": ...}``.
ERROR_CODES: dict[str, str] = {
    "not-found": "the path does not exist",
    "is-directory": "the path is a directory, not a file",
    "unreadable": "the file could not be opened or read (permissions, I/O error)",
    "empty-file": "the file has no bytes",
    "too-large": "the file is larger than the configured size limit",
    "not-media": "the bytes are not a picture or video format this tool recognises",
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
