"""ZIP archives: every member hashed like a file, within limits that stop zip bombs.

A member gets a record of its own (``parent``: the archive's path, ``member``: its name in the
archive, ``container_file``: the file on disk it came from). The limits are checked on the
headers *and* while inflating (a header may lie): past them, members get ``decompression-bomb``
records instead of being read, and the archive's record says why. Nested ZIPs are descended
into up to ``max_depth``; encrypted members are reported, not guessed at.

>>> import zipfile
>>> from ocsea_match import hash_bytes
>>> data = io.BytesIO()
>>> with zipfile.ZipFile(data, "w") as z:
...     z.writestr("notes.txt", "not a picture")
>>> members, problem = examine_zip(data, "photos.zip", lambda content, path: hash_bytes(content, path=path))
>>> [(m["path"], m["member"], m["error"]["code"]) for m in members], problem
([('photos.zip!/notes.txt', 'notes.txt', 'not-media')], None)
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

from ..decode import sniff
from ..errors import MediaError
from ..options import ArchiveLimits
from ..records import new_record

__all__ = ["ArchiveLimits", "archive_outcome", "examine_zip"]

HashMember = Callable[[bytes, str], dict[str, Any]]


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.members = limits.max_members
        self.bytes = limits.max_total_bytes


def _error_record(path: str, code: str, message: str, declared: int | None = None) -> dict[str, Any]:
    """A member that was not read: ``size`` stays None (no byte of it was digested), and what its
    header claims is ``declared_size``, so that totals count only bytes actually read."""
    record = new_record(path)
    record["error"] = MediaError(code, message).to_json()
    if declared is not None:
        record["declared_size"] = declared
    return record


def examine_zip(
    source: IO[bytes], archive_path: str, hash_member: HashMember, limits: ArchiveLimits = ArchiveLimits(),
    *, container_file: str | None = None,
) -> tuple[list[dict[str, Any]], MediaError | None]:
    """Records of the archive's members (nested archives' members after theirs), and the
    archive's own problem (``corrupt``, ``decompression-bomb``) or ``None``."""
    records: list[dict[str, Any]] = []
    problem = _examine(source, archive_path, hash_member, limits, _Budget(limits), 1, container_file or archive_path, records)
    return records, problem


def _examine(
    source: IO[bytes], archive_path: str, hash_member: HashMember, limits: ArchiveLimits, budget: _Budget,
    depth: int, container: str, out: list[dict[str, Any]],
) -> MediaError | None:
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        return MediaError("corrupt", f"not a readable ZIP archive: {exc}")
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > budget.members:
            return MediaError(
                "decompression-bomb",
                f"{len(infos)} members, over the limit of {limits.max_members} per archive: members not examined",
            )
        budget.members -= len(infos)
        problem: MediaError | None = None
        for info in infos:
            path = f"{archive_path}!/{info.filename}"
            record, bomb = _member(zf, info, path, hash_member, limits, budget, depth, container, out)
            record.update(parent=archive_path, member=info.filename, container_file=container)
            out.append(record)
            if bomb is not None and problem is None:
                problem = bomb
        return problem


def _member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, hash_member: HashMember, limits: ArchiveLimits,
    budget: _Budget, depth: int, container: str, out: list[dict[str, Any]],
) -> tuple[dict[str, Any], MediaError | None]:
    """One member's record, and a bomb error for the archive when this member is one."""
    if info.flag_bits & 0x1:
        return _error_record(path, "encrypted", "an encrypted member: its bytes cannot be examined", info.file_size), None
    declared = info.file_size
    if declared > budget.bytes:
        bomb = MediaError("decompression-bomb", f"members expand past {limits.max_total_bytes} bytes in all: the rest not read")
        return _error_record(path, bomb.code, bomb.message, declared), bomb
    if declared > limits.ratio_from_bytes and declared > limits.max_ratio * max(info.compress_size, 1):
        bomb = MediaError("decompression-bomb", f"compression ratio {declared / max(info.compress_size, 1):.0f}:1, over {limits.max_ratio:.0f}:1")
        return _error_record(path, bomb.code, bomb.message, declared), bomb
    if declared > limits.max_member_bytes:
        return _digest_only(zf, info, path, limits, budget)
    try:
        with zf.open(info) as f:
            data = f.read(declared + 1)  # one byte more than declared: a lying header shows
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        code = "unsupported-format" if isinstance(exc, NotImplementedError) else "corrupt"
        return _error_record(path, code, f"cannot inflate the member: {exc}", declared), None
    budget.bytes -= len(data)
    if len(data) > declared:
        bomb = MediaError("decompression-bomb", "the member inflates past the size its header declares")
        return _error_record(path, bomb.code, bomb.message, declared), bomb
    record = hash_member(data, path)
    if record.get("media_type") == "archive" and record.get("format") == "ZIP":
        if depth >= limits.max_depth:
            record["status"] = "skipped"
            record["error"] = MediaError("nested-too-deep", f"a ZIP nested {depth + 1} deep, over the limit of {limits.max_depth}").to_json()
            return record, None
        before = len(out)
        problem = _examine(io.BytesIO(data), path, hash_member, limits, budget, depth + 1, container, out)
        archive_outcome(record, problem, len(out) - before)
        return record, problem if problem is not None and problem.code == "decompression-bomb" else None
    return record, None


def archive_outcome(record: dict[str, Any], problem: MediaError | None, members: int) -> None:
    """Set an archive's record from what examining it found."""
    record["members"] = members
    if problem is None:
        record["status"], record["error"] = "ok", None
    else:
        record["status"], record["error"] = "error", problem.to_json()


def _digest_only(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, limits: ArchiveLimits, budget: _Budget,
) -> tuple[dict[str, Any], MediaError | None]:
    """A member too large to decode: its digests, streamed, and ``too-large``."""
    digests = (hashlib.md5(), hashlib.sha1(), hashlib.sha256())
    size = 0
    head = b""
    try:
        with zf.open(info) as f:
            while chunk := f.read(1 << 20):
                if not head:
                    head = chunk[:32]
                size += len(chunk)
                if size > info.file_size:
                    bomb = MediaError("decompression-bomb", "the member inflates past the size its header declares")
                    return _error_record(path, bomb.code, bomb.message, info.file_size), bomb
                for d in digests:
                    d.update(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        return _error_record(path, "corrupt", f"cannot inflate the member: {exc}", info.file_size), None
    budget.bytes -= size
    media_type, fmt = sniff(head)
    record = _error_record(path, "too-large", f"{size} bytes, over the limit of {limits.max_member_bytes}")
    record.update(status="skipped", size=size, media_type=media_type, format=fmt,
                  md5=digests[0].hexdigest(), sha1=digests[1].hexdigest(), sha256=digests[2].hexdigest())
    return record, None

