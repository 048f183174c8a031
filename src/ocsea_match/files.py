"""Files: one read of the bytes for MD5, SHA-1, SHA-256 and the decoder; a record per file,
whatever is wrong with it; batches over worker processes (``hash_files``).

>>> import io
>>> from PIL import Image
>>> png = io.BytesIO(); Image.new("L", (64, 48), 128).save(png, "PNG")
>>> record = hash_bytes(png.getvalue(), ["pdq", "phash"])
>>> record["status"], sorted(record["hashes"]), len(record["sha256"])
('ok', ['pdq', 'phash'], 64)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Unpack

from .batch import DEFAULT_FILE_TIME_LIMIT, hash_files  # the batch entry point, in its light module
from .decode import open_image, sniff
from .errors import MediaError, as_media_error, status_of
from .evidence import open_evidence, open_regular
from .hashers import DEFAULT_ALGORITHMS, modules_for, run
from .options import DEFAULT_MAX_BYTES, HashKeywords, HashOptions
from .picture import displayed, picture_from_decoded
from .records import FileRecord, new_record

# Videos (PyAV, TMK, the list formats) and the robust re-framings (OpenCV) are imported where a
# record needs them, not here: a worker process that hashes pictures starts without them.

__all__ = [
    "DEFAULT_FILE_TIME_LIMIT", "DEFAULT_MAX_BYTES", "SkipCheck", "file_sha256", "hash_bytes", "hash_file",
    "hash_files", "open_evidence", "worker_modules",
]

_CHUNK = 1 << 20


def _read_and_digest(path: str | os.PathLike[str], record: FileRecord, max_bytes: int) -> bytes | None:
    """Fill size and MD5/SHA-1/SHA-256; return the bytes when the file is media to decode."""
    fd, st = open_regular(path)  # the one opening of evidence, with its one set of errors
    digests = (hashlib.md5(), hashlib.sha1(), hashlib.sha256())
    data: bytes | None = None
    size = 0
    with os.fdopen(fd, "rb", buffering=0) as f:
        try:
            head = f.read(65536)
            record["media_type"], record["format"] = sniff(head[:32])
            if record["media_type"] == "image" and st.st_size <= max_bytes:
                data = head + f.read()  # one read; the same bytes feed the digests and the decoder
                size = len(data)
                chunks: Iterable[bytes] = ()  # digested while the picture decodes: _digests_meanwhile
            else:
                chunks = _chunks(f, head)
            for chunk in chunks:
                for d in digests:
                    d.update(chunk)
                size += len(chunk)
        except OSError as exc:
            raise MediaError("unreadable", f"read error after {size} bytes: {exc.strerror or exc}") from None
    record["size"] = size
    if data is None:
        record["md5"], record["sha1"], record["sha256"] = (d.hexdigest() for d in digests)
    if size == 0:
        record["media_type"] = "other"
        raise MediaError("empty-file", "the file is empty")
    return data


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file of ours (a list, an index part, an output), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(f: Any, head: bytes) -> Iterator[bytes]:
    chunk = head
    while chunk:
        yield chunk
        chunk = f.read(_CHUNK)


#: Called with a record once its digests are known; a ``MediaError`` it returns skips the
#: perceptual work and becomes the record's reason (``status: "skipped"``), e.g. known-good files.
SkipCheck = Callable[[FileRecord], MediaError | None]


def hash_file(
    path: str | os.PathLike[str],
    algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
    *,
    skip: SkipCheck | None = None,
    options: HashOptions | None = None,
    archives: Collection[str] = (),
    **keywords: Unpack[HashKeywords],
) -> FileRecord:
    """Hash one file into a file record (docs/ARCHITECTURE.md's shape); never raises for a bad file.

    Every file gets size, MD5, SHA-1 and SHA-256; pictures also get the perceptual hashes,
    videos ``frames``: the PDQ of one frame per ``every_seconds`` of media time (vPDQ's frames,
    see ``video.hash_video``) and a ``video`` summary. ``status`` is ``"ok"``, ``"skipped"``
    (nothing to hash perceptually, e.g. an archive) or ``"error"``, with ``error = {"code",
    "message"}`` for the last two. A truncated picture or video is hashed from what decodes and
    has ``"truncated": true`` and the decoder's ``warnings``.

    Pictures are hashed as stored, as the reference tools and published lists do; a picture
    whose EXIF orientation tag turns it has ``exif_orientation``, and with ``displayed=True`` also
    ``hashes_displayed``: the same algorithms on the picture as a viewer shows it.

    ``robust``: ``"query"``, ``"list"`` or ``"both"`` adds ``robust: {"query": [...], "list":
    [...]}`` to a picture's record, the PDQ hashes of ``robust.query_hashes`` / ``list_hashes``
    after the plain one (which is ``hashes["pdq"]``), for robust matching (README); ``anchored``
    adds the content-anchored squares to them (``robust.list_hashes``: crops anywhere, screenshots).

    The keywords (``mode="exact"``, ``displayed``, ``max_pixels``, ``max_bytes``,
    ``every_seconds``, ``robust``, ``anchored``) are ``HashOptions``' fields (``HashKeywords``);
    ``options``: a ``HashOptions`` made once instead of them and ``algorithms``. ``skip``: see ``SkipCheck``. ``archives``: formats of
    archives (``"ZIP"``) the caller descends into itself: such a record is left with its digests,
    ``status: "skipped"`` and no error, instead of ``unsupported-format`` (the scan's routing).

    >>> import tempfile
    >>> from PIL import Image
    >>> with tempfile.NamedTemporaryFile(suffix=".png") as f:
    ...     Image.new("RGB", (64, 48), "white").save(f, "PNG"); f.flush()
    ...     record = hash_file(f.name, ["pdq"])
    >>> record["status"], record["hashes"]["pdq"]["quality"], record["format"]
    ('ok', 0, 'PNG')
    """
    o = _settled(algorithms, options, keywords)
    record = new_record(path)
    with _recorded_failures(record):
        data = _read_and_digest(path, record, o.max_bytes)
        with _digests_meanwhile(record, data, wait=skip is not None):
            _hash_content(record, data, lambda: os.fdopen(open_evidence(path), "rb"), o, skip, archives)
    return record


def hash_bytes(
    data: bytes,
    algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
    *,
    path: str = "<bytes>",
    skip: SkipCheck | None = None,
    options: HashOptions | None = None,
    archives: Collection[str] = (),
    **keywords: Unpack[HashKeywords],
) -> FileRecord:
    """``hash_file`` for content already in memory (an upload, an archive member).

    ``path`` is only what the record says it came from.

    >>> hash_bytes(b"", ["pdq"])["error"]["code"]
    'empty-file'
    """
    o = _settled(algorithms, options, keywords)
    record = new_record(path)
    with _recorded_failures(record):
        record["media_type"], record["format"] = sniff(bytes(data[:32]))
        record["size"] = len(data)
        with _digests_meanwhile(record, data, wait=skip is not None):
            if not data:
                record["media_type"] = "other"
                raise MediaError("empty-file", "the file is empty")
            usable = data if record["media_type"] == "image" and len(data) <= o.max_bytes else None
            _hash_content(record, usable, lambda: bytes(data), o, skip, archives)
    return record


# MD5, SHA-1 and SHA-256 of a picture already in memory are computed on a helper thread while
# this one decodes and hashes it (hashlib, Pillow and the native core release the GIL), so the
# all-in-one record costs little more than the perceptual hashes alone. Small contents are
# digested in place: handing them to the thread would cost more than it saves.
_DIGEST_THREAD_MIN_BYTES = 32 * 1024
_digest_pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked child makes its own


def _digests(data: bytes | bytearray | memoryview) -> tuple[str, str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _digests_meanwhile(
    record: FileRecord, data: bytes | bytearray | memoryview | None, *, wait: bool = False,
) -> Iterator[None]:
    """Fill the record's md5, sha1, sha256 from ``data`` (None: they are filled already), on a
    helper thread while the body runs; always filled on leaving, even when the body raises.
    ``wait``: fill them before the body (a skip check reads them)."""
    global _digest_pool
    if data is None:
        yield
        return
    if wait or len(data) < _DIGEST_THREAD_MIN_BYTES:
        record["md5"], record["sha1"], record["sha256"] = _digests(data)
        yield
        return
    if _digest_pool is None or _digest_pool[0] != os.getpid():
        _digest_pool = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocsea-digests"))
    pending = _digest_pool[1].submit(_digests, data)
    try:
        yield
    finally:
        record["md5"], record["sha1"], record["sha256"] = pending.result()


@contextlib.contextmanager
def _recorded_failures(record: FileRecord) -> Iterator[None]:
    """Turn any failure while hashing one file into the record's error; never re-raise."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop a batch
        error = as_media_error(exc)  # the one mapping of failures to codes (errors.py)
        if record["status"] != "skipped":  # an archive 'hash' does not descend into stays skipped
            record["status"] = status_of(error.code)
        record["error"] = error.to_json()


def _settled(algorithms: Iterable[str] | str, options: HashOptions | None, keywords: HashKeywords) -> HashOptions:
    """The options a call asks for: ``options``, or ``HashOptions`` made of the keywords."""
    if options is None:
        return HashOptions(_names(algorithms), **keywords)
    if keywords:
        raise TypeError(f"options= replaces the keywords {sorted(keywords)}")
    return options


def _names(algorithms: Iterable[str] | str) -> tuple[str, ...]:
    return (algorithms,) if isinstance(algorithms, str) else tuple(algorithms)


def _hash_content(
    record: FileRecord, data: bytes | None, reopen: Callable[[], Any], o: HashOptions,
    skip: SkipCheck | None = None, archives: Collection[str] = (),
) -> None:
    """The perceptual part of a record whose digests are filled, routed by the sniffed media type;
    ``data``: a picture's bytes; ``reopen()``: the content again (a file object or bytes), for a
    video's decoder."""
    if skip is not None:
        reason = skip(record)
        if reason is not None:
            record["status"] = "skipped"
            raise reason
    media = record["media_type"]
    if media == "video":
        _hash_video_content(record, reopen, o)
        return
    if data is None:
        if record["size"] is not None and record["size"] > o.max_bytes and media == "image":
            raise MediaError("too-large", f"{record['size']} bytes, over the limit of {o.max_bytes}")
        if media == "archive":
            record["status"] = "skipped"
            if record["format"] in archives:
                return  # the caller descends into it (the scan: scanning.archives)
            raise MediaError("unsupported-format", f"{record['format']} archive: not descended into by 'hash'")
        raise MediaError("not-media", "not a picture: the bytes match no known picture format")
    decoded = open_image(data, o.max_pixels, o.draft)
    record["format"] = decoded.format or record["format"]
    record["width"], record["height"] = decoded.original_size
    record["mode"] = o.mode
    if decoded.truncated:
        record["truncated"] = True
        record["warnings"] = decoded.warnings
    pic = picture_from_decoded(decoded, o.mode)
    if decoded.size != decoded.original_size:
        record["decoded_size"] = list(decoded.size)
    hashes = run(pic, o.algorithms)
    record["hashes"] = {name: h.to_json() for name, h in hashes.items()}
    if decoded.orientation not in (None, 1):
        record["exif_orientation"] = decoded.orientation
        if o.displayed:
            shown = displayed(decoded, o.mode)
            record["hashes_displayed"] = {name: h.to_json() for name, h in run(shown, o.algorithms).items()}
    if o.robust is not None:  # the same picture, its luma and its plain PDQ handed down once
        from . import robust

        found = robust.picture_hashes(pic, o.robust, anchored=o.anchored, plain=hashes.get("pdq"))
        record["robust"] = {side: [h.to_json() for h in rows[1:]] for side, rows in found.items()}  # plain left out
    record["status"] = "ok"


def _hash_video_content(record: FileRecord, reopen: Callable[[], Any], o: HashOptions) -> None:
    """A video's sampled frames (vPDQ style), whatever picture algorithms were asked for."""
    from .tmk import hash_video_with_tmk
    from .tmk_lists import tmk_to_text
    from .video import hash_video

    source = reopen()
    tmk = None
    try:
        if "tmk" in o.algorithms:  # Meta's TMK+PDQF of the whole video too, from the same decoding
            video, tmk = hash_video_with_tmk(source, o.every_seconds, max_pixels=o.max_pixels, fast=o.mode == "fast")
        else:
            video = hash_video(source, o.every_seconds, max_pixels=o.max_pixels)
    finally:
        if hasattr(source, "close"):
            source.close()
    record["width"], record["height"] = video.width, video.height
    record["video"] = video.info()
    record["frames"] = [f.to_json() for f in video.frames]
    if video.truncated:
        record["truncated"] = True
        record["warnings"] = video.warnings
    if tmk is not None:
        record["tmk"] = tmk_to_text(tmk)
        record["video"]["tmk_frames"] = tmk.frame_count
    record["status"] = "ok"


def worker_modules(o: HashOptions) -> tuple[str, ...]:
    """What a worker process hashing with ``o`` imports before its first file, beyond the picture
    stack (``parallel.WORKER_PRELOAD``): SciPy for pHash, the video and robust modules when asked.

    >>> worker_modules(HashOptions(("pdq", "phash")))
    ('ocsea_match.dct',)
    """
    extra = ["ocsea_match.tmk"] if "tmk" in o.algorithms else []
    if o.robust is not None:
        extra.append("ocsea_match.robust")
    return (*modules_for(o.algorithms), *extra)
