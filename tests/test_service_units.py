"""The service's parts without HTTP: the audit chain, the keys file, the rate limiter, the bank store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsea_match.service.audit import AuditError, AuditLog, verify
from ocsea_match.service.banks import BankError, BankStore, check
from ocsea_match.service.keys import KeyFileError, KeyStore
from ocsea_match.service.limits import RateLimiter

from service_server import picture, record_of


def _log(path: Path, n: int) -> list[str]:
    log = AuditLog(path)
    for i in range(n):
        log.append({"event": "match", "i": i, "text": "é \u2028 \"quoted\"", "x": 0.1 + i})
    log.close()
    return path.read_text(encoding="utf-8").splitlines()


def test_audit_chain_detects_edits_deletions_insertions(tmp_path):
    path = tmp_path / "audit.jsonl"
    lines = _log(path, 6)
    assert verify(path).ok and verify(path).lines == 6
    cases = {
        "edited": (lines[:2] + [lines[2].replace('"i":2', '"i":7')] + lines[3:], 3),
        "deleted": (lines[:2] + lines[3:], 3),
        "swapped": (lines[:1] + [lines[2], lines[1]] + lines[3:], 2),
        "inserted": (lines[:4] + [lines[1]] + lines[4:], 5),
        "garbage": (lines[:5] + ["not json"], 6),
    }
    for name, (edited, broken) in cases.items():
        other = tmp_path / f"{name}.jsonl"
        other.write_text("\n".join(edited) + "\n", encoding="utf-8")
        result = verify(other)
        assert not result.ok and result.broken_line == broken, (name, result)
        assert f"line {broken}:" in result.message
    # re-sealing an edited line (recomputing its hash) is caught by the next line
    entry = json.loads(lines[2])
    entry.pop("hash")
    entry["i"] = 99
    from ocsea_match.service.audit import _seal

    resealed = tmp_path / "resealed.jsonl"
    resealed.write_text("\n".join(lines[:2] + [_seal(entry)[0]] + lines[3:]) + "\n", encoding="utf-8")
    assert verify(resealed).broken_line == 4


def test_audit_log_continues_its_chain_and_refuses_a_broken_tail(tmp_path):
    path = tmp_path / "audit.jsonl"
    _log(path, 3)
    _log(path, 2)  # a restart appends to the same chain
    assert verify(path).ok and verify(path).lines == 5
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"event": "cut')
    with pytest.raises(AuditError, match="cut off"):
        AuditLog(path)


def test_keys_store_digests_only_and_constant_time_lookup(tmp_path):
    store = KeyStore.open(tmp_path / "keys.json", create=True)
    secret = store.add("a", ["match"])
    other = store.add("b", ["hashes", "admin"])
    assert secret not in (tmp_path / "keys.json").read_text()
    again = KeyStore.open(tmp_path / "keys.json")
    assert again.authenticate(secret).name == "a" and again.authenticate(other).scopes == {"hashes", "admin"}
    assert again.authenticate(secret[:-1]) is None and again.authenticate("") is None
    again.revoke("a")
    assert KeyStore.open(tmp_path / "keys.json").authenticate(secret) is None
    with pytest.raises(ValueError):
        store.add("c", ["everything"])
    (tmp_path / "bad.json").write_text('{"format": "ocsea-match-keys", "keys": [{"name": "x"}]}')
    with pytest.raises(KeyFileError):
        KeyStore.open(tmp_path / "bad.json")


def test_rate_limiter():
    bucket = RateLimiter(rate=10.0, burst=3)
    assert [bucket.take("k")[0] for _ in range(4)] == [True, True, True, False]
    allowed, wait = bucket.take("k")
    assert not allowed and 0 < wait <= 0.1
    assert bucket.take("other")[0]
    assert RateLimiter(rate=0, burst=1).take("k") == (True, 0.0)


def test_bank_store_segments_compaction_and_restart(tmp_path):
    db = tmp_path / "banks.sqlite"
    records = [record_of(picture(200 + i, (64, 64))) for i in range(3)]
    banks = BankStore(db)
    ids = [banks.add("hotline", records[i % 3], category="1", note=None, who="t")["id"] for i in range(40)]  # compacts
    assert {m["entry_id"] for m in banks.match_many([records[0]])[0] if m["algorithm"] == "pdq"} >= {str(i) for i in ids[::3]}
    banks.disable("hotline", ids[0], who="t", reason="duplicate")
    assert str(ids[0]) not in {m["entry_id"] for m in banks.match_many([records[0]])[0]}
    with pytest.raises(BankError):
        banks.add("hotline", {"hashes": {"pdq": {"hex": "00"}}}, category=None, note=None, who="t")
    with pytest.raises(BankError):
        banks.disable("hotline", 10**6, who="t")
    banks.close()
    reopened = BankStore(db)
    found = {m["entry_id"] for m in reopened.match_many([records[0]])[0]}
    assert str(ids[0]) not in found and str(ids[3]) in found
    assert reopened.get("hotline", ids[0])["disabled_reason"] == "duplicate"
    reopened.close()
    assert check(db) == []


def test_decode_pool_survives_crashes_and_stuck_decoders():
    """An upload that kills its worker, or keeps it past the time limit, gets a worker-crashed
    record; the uploads that shared the pool get their real records; the pool goes on."""
    import asyncio

    from ocsea_match.service.decoding import DecodePool

    from service_workers import crashy_upload

    good = picture(5, (64, 64))
    pool = DecodePool(workers=2, time_limit=1, hasher=crashy_upload)

    async def run() -> list[dict]:
        first = await asyncio.gather(*(pool.hash(d, ["pdq"]) for d in (good, b"DIE", good, b"SLEEP", good)))
        return [*first, await pool.hash(good, ["pdq"])]

    try:
        records = asyncio.run(run())
    finally:
        pool.close()
    assert [r["status"] for r in records] == ["ok", "error", "ok", "error", "ok", "ok"]
    assert records[1]["error"]["code"] == records[3]["error"]["code"] == "worker-crashed"
    assert pool.crashes == 2


def test_decode_pool_refuses_past_its_queue():
    import asyncio

    from ocsea_match.service.decoding import DecodePool, Overloaded

    from service_workers import crashy_upload

    pool = DecodePool(workers=1, time_limit=10, queue=1, hasher=crashy_upload)
    slow = b"SLOW" + picture(6, (64, 64))

    async def run() -> list:
        return await asyncio.gather(*(pool.hash(slow, ["pdq"]) for _ in range(3)), return_exceptions=True)

    try:
        results = asyncio.run(run())
    finally:
        pool.close()
    assert [r["status"] if isinstance(r, dict) else type(r) for r in results] == ["ok", "ok", Overloaded]


def test_index_source_from_a_saved_index_and_lists(tmp_path):
    import numpy as np

    from ocsea_match import HashIndex
    from ocsea_match.service.matcher import IndexSource

    rows = np.random.default_rng(3).integers(0, 256, (50, 32), dtype=np.uint8)
    index = HashIndex()
    index.add_hashes("export", "pdq", rows)
    index.save(tmp_path / "ix")
    (tmp_path / "extra.csv").write_text("hash,id\n" + rows[0].tobytes().hex() + ",X1\n")
    source = IndexSource(lists=[tmp_path / "extra.csv"], index_dir=tmp_path / "ix")
    first = source.load()
    assert [(i["name"], i["format"], i["entries"]) for i in first.lists] == [("export", "index", 50), ("extra", "pdq-csv", 1)]
    assert first.index.threads == 1 and all(len(i["sha256"]) == 64 for i in first.lists)
    found = first.index.match({"hashes": {"pdq": {"hex": rows[0].tobytes().hex(), "quality": 100}}})
    assert {(m["list"], m["entry_id"]) for m in found} == {("export", "export:1"), ("extra", "X1")}
    index2 = HashIndex()
    index2.add_hashes("export", "pdq", rows[:10])
    index2.save(tmp_path / "ix")
    second = source.load(1)
    assert second.lists[0]["entries"] == 10 and second.lists[0]["sha256"] != first.lists[0]["sha256"]
    assert IndexSource.of(index).reloadable is False and IndexSource.of(tmp_path / "ix").index_dir == tmp_path / "ix"


def test_large_batches_split_over_threads_find_the_same_matches():
    """A batch's search split over OpenMP threads answers exactly what one thread answers; only
    large batches over large tables are split, and never while another search runs."""
    import asyncio

    import numpy as np

    from ocsea_match import HashIndex
    from ocsea_match.service.matcher import PARALLEL_WORK, IndexSource, Matcher, clean_query

    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (200_000, 32), dtype=np.uint8)  # over 2 x 64k rows: two threads take part
    index = HashIndex(threads=1)
    index.add_hashes("known", "pdq", rows)
    near = rows[rng.choice(len(rows), 24, replace=False)].copy()
    near[:, 0] ^= 0x0F  # 4 bits off: each still matches its listed row
    queries = [clean_query({"hashes": {"pdq": {"hex": r.tobytes().hex(), "quality": 100}}}) for r in near]
    queries += [clean_query({"hashes": {"pdq": {"hex": rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(),
                                                "quality": 100}}}) for _ in range(24)]
    one = index.match_many(queries, threads=1)
    assert index.match_many(queries, threads=2) == one
    assert all(m and m[0]["distance"] == 4 for m in one[:24])

    matcher = Matcher(IndexSource(index=index), search_threads=2)
    try:
        snapshot = matcher.current
        big = -(-PARALLEL_WORK // len(index))  # queries that make a batch large enough
        assert matcher._threads_for(snapshot, big) == 2
        assert matcher._threads_for(snapshot, big - 1) == 1
        matcher._active = 2  # another search is running: this one stays on one thread
        assert matcher._threads_for(snapshot, big) == 1
        matcher._active = 0
        found, _ = asyncio.run(matcher.match(queries))
        assert found == one
    finally:
        matcher.close()
    default = Matcher(IndexSource(index=index))
    assert default._threads_for(snapshot, 10 * big) == 1  # the default: one thread
    default.close()


def test_several_search_threads_share_the_waiting_lookups():
    """With two search threads, the first free one takes its half of what waits (not all of it,
    which left the other thread idle), and every look-up is answered as one search would."""
    import asyncio
    import threading

    import numpy as np

    from ocsea_match import HashIndex
    from ocsea_match.service.matcher import IndexSource, Matcher, clean_query

    rng = np.random.default_rng(3)
    rows = rng.integers(0, 256, (2000, 32), dtype=np.uint8)
    index = HashIndex(threads=1)
    index.add_hashes("known", "pdq", rows)
    queries = [clean_query({"hashes": {"pdq": {"hex": r.tobytes().hex(), "quality": 100}}}) for r in rows[:8]]
    expected = index.match_many(queries, threads=1)

    class Deferred(Matcher):
        """Starts its search threads only once every look-up is queued (as under load)."""

        def _start(self) -> None:
            if len(queued) == len(queries):
                super()._start()

    queued: list[int] = []
    sizes: list[int] = []
    lock = threading.Lock()
    matcher = Deferred(IndexSource(index=index), searchers=2)

    def batch(size: int) -> None:
        with lock:
            sizes.append(size)

    matcher.on_batch = batch

    async def ask(i: int) -> list:
        queued.append(i)
        found, _ = await matcher.match([queries[i]])
        return found[0]

    async def everything() -> list:
        return await asyncio.gather(*(ask(i) for i in range(len(queries))))

    try:
        assert asyncio.run(everything()) == expected
    finally:
        matcher.close()
    assert sum(sizes) == len(queries)
    assert max(sizes) <= len(queries) // 2  # the first free thread took its half of the 8 waiting, not all 8
    assert Matcher(IndexSource(index=index))._share() == 64  # one search thread takes everything (max_batch)


def test_audit_line_cut_by_a_full_disk_is_taken_back(tmp_path, monkeypatch):
    """A full disk mid-line: the append fails (the request is refused), the part written is cut off
    again so the chain still verifies, and the next line follows once there is room. If the cut
    cannot be taken back, every later append is refused instead of writing after a broken line."""
    import errno

    from ocsea_match.service import audit as audit_module

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append({"event": "match", "n": 1})
    real_write = audit_module.os.write

    def half_then_full(fd, data):
        if len(data) > 10:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(audit_module.os, "write", half_then_full)
    with pytest.raises(AuditError, match="No space left"):
        log.append({"event": "match", "n": 2})
    result = verify(path)
    assert result.ok and result.lines == 1  # the half line is gone
    monkeypatch.setattr(audit_module.os, "write", real_write)
    log.append({"event": "match", "n": 3})
    result = verify(path)
    assert result.ok and result.lines == 2

    monkeypatch.setattr(audit_module.os, "write", half_then_full)
    monkeypatch.setattr(audit_module.os, "ftruncate", lambda fd, size: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(AuditError, match="No space left"):
        log.append({"event": "match", "n": 4})
    monkeypatch.setattr(audit_module.os, "write", real_write)
    with pytest.raises(AuditError, match="could not be taken back"):
        log.append({"event": "match", "n": 5})
    monkeypatch.undo()
    log.close()
    assert not verify(path).ok  # the cut line stays, and verify names it


def test_audit_rotation_under_concurrent_appends_loses_no_line(tmp_path):
    """Threads append while the log is rotated twice: every line is in one of the three files, and
    the files verify as one chain, oldest first."""
    import threading

    from ocsea_match.service.audit import verify_files

    log = AuditLog(tmp_path / "audit.jsonl")
    written: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(300):
            digest = log.append({"event": "match", "writer": n, "i": i})
            with lock:
                written.append(digest)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    archived = [log.rotate()[0], log.rotate()[0]]
    for t in threads:
        t.join()
    log.close()
    files = [*archived, tmp_path / "audit.jsonl"]
    results = verify_files(files)
    assert [r.ok for r in results] == [True, True, True], [r.message for r in results]
    lines = [json.loads(line) for f in files for line in Path(f).read_text().splitlines()]
    assert {e["hash"] for e in lines if e["event"] == "match"} == set(written) and len(written) == 900
    assert [e["event"] for e in lines if e["event"] in ("rotate", "continue")] == ["rotate", "continue"] * 2
    assert not verify_files([files[0], files[2]])[-1].ok  # the middle file missing is found


def test_lists_say_what_was_not_used(tmp_path):
    """/v1/lists (and the audit log's start line) count a list's lines not used and its entries
    under the PDQ quality floor, so 'entries' short of the file's lines is explained."""
    from ocsea_match.service.matcher import IndexSource

    path = tmp_path / "known_list.csv"
    path.write_text("hash,quality,id,category\n" + "ab" * 32 + ",100,A1,1\n" + "zz" * 32 + ",100,A2,1\n"
                    + "cd" * 32 + ",10,A3,1\n", encoding="utf-8")
    (item,) = IndexSource(lists=[path]).load().lists
    assert (item["entries"], item["problems"], item["unmatched"]) == (1, 1, 1)


def test_audit_rotation_with_a_full_disk_keeps_the_chain(tmp_path, monkeypatch):
    """The new file's first line cannot be written (a full disk): the rotation is refused, and the
    next append writes that 'continue' line first, so the two files still verify as one chain."""
    import errno

    from ocsea_match.service import audit as audit_module
    from ocsea_match.service.audit import verify_files

    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"event": "match"})
    real_write = audit_module.os.write
    calls = []

    def full_after_rotate_line(fd, data):
        calls.append(bytes(data))
        if b'"event":"continue"' in bytes(data) and len(calls) < 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(audit_module.os, "write", full_after_rotate_line)
    with pytest.raises(AuditError, match="No space left"):
        log.rotate()
    monkeypatch.setattr(audit_module.os, "write", real_write)
    log.append({"event": "match"})
    log.close()
    (archived,) = tmp_path.glob("audit.jsonl.*")
    results = verify_files([archived, tmp_path / "audit.jsonl"])
    assert all(r.ok for r in results), [r.message for r in results]
    events = [json.loads(line)["event"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events == ["continue", "match"]
