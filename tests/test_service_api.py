"""The triage service over real HTTP: every endpoint and error code, on one running server."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the service extra is not installed (pip install '.[service]')")


from ocsea_match.formats import read_list_text  # noqa: E402
from ocsea_match.service.audit import verify  # noqa: E402
from ocsea_match.service.keys import KeyStore  # noqa: E402

from service_server import ROOT, Server, make_keys, picture, post_json, record_of, write_list  # noqa: E402

UPLOAD_LIMIT_MB = 1


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("svc")
    pictures = {name: picture(seed) for name, seed in (("listed", 1), ("listed2", 2), ("other", 3), ("banked", 4))}
    records = {name: record_of(data) for name, data in pictures.items()}
    write_list(base / "known_list.csv", [records["listed"]], ["A1"])
    keys = make_keys(base / "keys.json")
    tmp = base / "tmp"
    tmp.mkdir()
    server = Server(["--list", "known_list.csv", "--keys", "keys.json", "--audit-log", "audit.jsonl", "--banks",
                     "banks.sqlite", "--max-upload-mb", str(UPLOAD_LIMIT_MB), "--workers", "1"],
                    cwd=base, env={"TMPDIR": str(tmp)})
    yield {"server": server, "base": base, "keys": keys, "pictures": pictures, "records": records, "tmp": tmp}
    server.stop()


def test_healthz_needs_no_key_and_unknown_routes_are_json_404(svc):
    server = svc["server"]
    with server.client(None) as c:
        health = c.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["entries"] == 1
        missing = c.get("/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not-found"
        assert c.get("/v1/match").status_code == 405


def test_keys_401_403_and_revocation(svc):
    server, keys = svc["server"], svc["keys"]
    with server.client(None) as c:
        r = c.get("/v1/lists")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
    with server.client("ocm_not-a-key") as c:
        assert c.get("/v1/lists").status_code == 401
    with server.client(keys["hashes"]) as c:
        assert c.get("/v1/lists").status_code == 200  # any scope may list
        r = c.post("/v1/match", content=svc["pictures"]["listed"])
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert c.get("/metrics").status_code == 403
        assert c.post("/v1/reload").status_code == 403
        assert post_json(c, "/v1/banks/hotline/entries", {"record": svc["records"]["banked"]}).status_code == 403
    # a key added and revoked while the server runs: the file is re-read within a second
    store = KeyStore.open(svc["base"] / "keys.json")
    temporary = store.add("temporary", ["hashes"])
    time.sleep(1.2)
    with server.client(temporary) as c:
        assert c.get("/v1/lists").status_code == 200
        store.revoke("temporary")
        time.sleep(1.2)
        assert c.get("/v1/lists").status_code == 401
    keys_file = (svc["base"] / "keys.json").read_text()
    assert all(secret not in keys_file for secret in keys.values())  # only digests are stored


def test_lists(svc):
    with svc["server"].client(svc["keys"]["analyst"]) as c:
        doc = c.get("/v1/lists").json()
    (item,) = doc["lists"]
    assert item["name"] == "known_list" and item["format"] == "pdq-csv" and item["entries"] == 1
    import hashlib

    assert item["sha256"] == hashlib.sha256((svc["base"] / "known_list.csv").read_bytes()).hexdigest()
    assert "pdq" in doc["algorithms"]


def test_upload_matches_and_undecodable_is_422(svc):
    with svc["server"].client(svc["keys"]["analyst"]) as c:
        r = c.post("/v1/match", content=svc["pictures"]["listed"])
        assert r.status_code == 200, r.text
        record = r.json()
        assert record["status"] == "ok" and record["media_type"] == "image"
        assert record["sha256"] == svc["records"]["listed"]["sha256"]
        assert [(m["list"], m["entry_id"], m["distance"]) for m in record["matches"]] == [("known_list", "A1", 0)]
        r = c.post("/v1/match", content=svc["pictures"]["other"])
        assert r.status_code == 200 and r.json()["matches"] == []
        r = c.post("/v1/match", content=b"this is not a picture" * 10)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "not-media" and r.json()["md5"]
        r = c.post("/v1/match", content=svc["pictures"]["listed"][:200])  # cut off in its header
        assert r.status_code == 422 and r.json()["error"]["code"] in ("corrupt", "not-media")


def test_video_upload_is_hashed_and_matched(svc, tmp_path):
    videoclips = pytest.importorskip("videoclips")
    clip = videoclips.write(tmp_path / "clip.mp4", videoclips.slideshow([videoclips.scene(s, (320, 240)) for s in (1, 2)], 1.0))
    with svc["server"].client(svc["keys"]["analyst"]) as c:
        r = c.post("/v1/match", content=clip.read_bytes())
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["media_type"] == "video" and len(record["frames"]) >= 2 and record["matches"] == []
    # listed in the bank (its frames, as 'hash' writes them), the same video then matches by vPDQ
    with svc["server"].client(svc["keys"]["curator"]) as c:
        listed = {k: record[k] for k in ("md5", "sha1", "sha256", "media_type", "frames")}
        r = post_json(c, "/v1/banks/videos/entries", {"record": listed, "category": "2"})
        assert r.status_code == 201, r.text
        entry = r.json()["entry"]["id"]
    with svc["server"].client(svc["keys"]["analyst"]) as c:
        found = c.post("/v1/match", content=clip.read_bytes()).json()["matches"]
    assert {(m["list"], m["entry_id"], m["algorithm"]) for m in found} >= {("bank:videos", str(entry), "vpdq")}


def test_upload_over_the_limit_by_content_length_is_refused_at_once(svc):
    with svc["server"].client(svc["keys"]["analyst"]) as c:
        r = c.post("/v1/match", content=b"\xff" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too-large"


def test_streamed_upload_over_the_limit_is_refused_without_reading_it_all(svc):
    """A chunked body with no length: the server answers 413 once the limit is passed and closes
    the connection; the client cannot push anywhere near the whole body."""
    server, total, chunk = svc["server"], 256 * 1024 * 1024, b"\xff" * 65536
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(f"POST /v1/match HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {svc['keys']['analyst']}\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    sent = 0
    sock.settimeout(5)
    try:
        while sent < total:
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sent += len(chunk)
    except OSError:  # reset or broken pipe: the server stopped reading
        pass
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except OSError:
        pass
    sock.close()
    print(f"pushed {sent} of {total} bytes before the 413")
    assert sent < total // 8, f"the client could push {sent} bytes"
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_uploads_write_nothing_to_disk(svc):
    """The server's temporary folder (TMPDIR) and working folder get no file from uploads."""
    def snapshot() -> set[tuple[str, int]]:
        seen = set()
        for folder in (svc["tmp"], svc["base"]):
            for root, _, files in os.walk(folder):
                for name in files:
                    path = Path(root, name)
                    if name.startswith(("audit.jsonl", "banks.sqlite", "server-")):
                        continue  # the audit log and the bank are written on purpose (no content)
                    seen.add((str(path), path.stat().st_size))
        return seen

    before = snapshot()
    with svc["server"].client(svc["keys"]["analyst"]) as c:
        for name in ("listed", "other", "listed2"):
            assert c.post("/v1/match", content=svc["pictures"][name]).status_code == 200
        big = svc["pictures"]["other"] + b"\0" * 600_000  # over Starlette's and multipart's spooling sizes
        assert c.post("/v1/match", content=big).status_code == 200
    assert snapshot() == before


def test_match_hashes_single_and_batch(svc):
    records = svc["records"]
    with svc["server"].client(svc["keys"]["hashes"]) as c:
        r = post_json(c, "/v1/match-hashes", records["listed"])
        assert r.status_code == 200
        assert [m["entry_id"] for m in r.json()["matches"]] == ["A1"]
        r = post_json(c, "/v1/match-hashes", [records["other"], records["listed"], {"hashes": {"pdq": records["listed"]["hashes"]["pdq"]}}])
        assert r.status_code == 200
        assert [[m["entry_id"] for m in item["matches"]] for item in r.json()] == [[], ["A1"], ["A1"]]
        bad = [
            (b"{not json", "not JSON"),
            (json.dumps([]).encode(), "non-empty"),
            (json.dumps({"path": "x.jpg"}).encode(), "no hash"),
            (json.dumps({"hashes": {"pdq": {"hex": "zz" * 32}}}).encode(), "hex"),
            (json.dumps([records["other"], {"md5": "123"}]).encode(), "record 1"),
        ]
        for body, words in bad:
            r = c.post("/v1/match-hashes", content=body)
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad-input", body
            assert words in r.json()["error"]["message"]


def test_match_hashes_refusals_headers_and_audit(svc):
    """The hot route (answered without Starlette's routing) refuses, logs and labels as every route."""
    records, base = svc["records"], svc["base"]
    with svc["server"].client(None) as c:
        r = post_json(c, "/v1/match-hashes", records["listed"])
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer" and r.headers["content-type"] == "application/json"
        unknown_id = r.headers["x-request-id"]
        assert c.get("/v1/match-hashes").status_code == 405
    with svc["server"].client(svc["keys"]["curator"]) as c:  # no hashes scope
        r = post_json(c, "/v1/match-hashes", records["listed"])
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        refused_id = r.headers["x-request-id"]
    with svc["server"].client(svc["keys"]["hashes"]) as c:
        r = c.post("/v1/match", content=svc["pictures"]["other"])  # a Starlette route: no match scope
        assert r.status_code == 403
        forbidden_upload = r.headers["x-request-id"]
        r = c.post("/v1/match-hashes", content=b"[" + b" " * (UPLOAD_LIMIT_MB * 1024 * 1024) + b"]")
        assert r.status_code == 413 and r.json()["error"]["code"] == "too-large"
        r = post_json(c, "/v1/match-hashes", records["listed"])
        assert r.status_code == 200 and r.json()["request_id"] == r.headers["x-request-id"]
        answered_id = r.headers["x-request-id"]
        r = post_json(c, "/v1/match-hashes", [records["listed"]])
        assert r.status_code == 200 and len(r.headers.get_list("x-request-id")) == 1
    events = {e.get("request_id"): e for e in map(json.loads, (base / "audit.jsonl").read_text().splitlines())}
    assert events[refused_id]["event"] == "refused" and events[refused_id]["code"] == "forbidden"
    assert events[refused_id]["endpoint"] == "/v1/match-hashes"
    assert events[refused_id]["key"] == "curator"  # the key is known: it lacks the scope
    assert events[unknown_id]["event"] == "refused" and events[unknown_id]["key"] is None  # no key to name
    assert events[forbidden_upload]["key"] == "platform" and events[forbidden_upload]["endpoint"] == "/v1/match"
    assert events[answered_id]["event"] == "match-hashes" and events[answered_id]["items"][0]["matches"][0]["entry_id"] == "A1"
    with svc["server"].client(svc["keys"]["admin"]) as c:
        text = c.get("/metrics").text
    assert 'ocsea_requests_total{endpoint="/v1/match-hashes",status="403"}' in text
    assert 'ocsea_requests_total{endpoint="/v1/match-hashes",status="413"}' in text


def test_banks_add_match_disable_export(svc):
    records, base = svc["records"], svc["base"]
    with svc["server"].client(svc["keys"]["curator"]) as cur, svc["server"].client(svc["keys"]["hashes"]) as look:
        assert post_json(look, "/v1/match-hashes", records["banked"]).json()["matches"] == []
        r = post_json(cur, "/v1/banks/hotline/entries", {"record": records["banked"], "category": "1", "note": "report 7"})
        assert r.status_code == 201, r.text
        entry = r.json()["entry"]
        assert entry["added_by"] == "curator" and entry["hashes"] == 4  # md5, sha1, sha256, pdq
        found = post_json(look, "/v1/match-hashes", records["banked"]).json()["matches"]  # the next request
        assert {(m["list"], m["entry_id"]) for m in found} == {("bank:hotline", str(entry["id"]))}
        r = post_json(cur, "/v1/banks/hotline/entries", [{"record": records["listed2"], "category": "2"}])
        assert r.status_code == 201 and len(r.json()["entries"]) == 1
        assert cur.get("/v1/banks").json()["banks"][0]["entries"] == 2
        exported = {}
        for fmt in ("vics", "pdq-csv", "jsonl"):
            r = cur.get("/v1/banks/hotline/export", params={"format": fmt})
            assert r.status_code == 200
            exported[fmt] = read_list_text(r.text, "x")[0]
        assert {e.hex for e in exported["pdq-csv"].entries} == {records["banked"]["hashes"]["pdq"]["hex"],
                                                               records["listed2"]["hashes"]["pdq"]["hex"]}
        assert records["banked"]["md5"] in {e.hex for e in exported["vics"].entries}
        assert records["banked"]["sha256"] in {e.hex for e in exported["jsonl"].entries}
        r = cur.delete(f"/v1/banks/hotline/entries/{entry['id']}", params={"reason": "assessed again"})
        assert r.status_code == 200
        kept = cur.get(f"/v1/banks/hotline/entries/{entry['id']}").json()["entry"]
        assert kept["disabled_by"] == "curator" and kept["disabled_at"] and kept["disabled_reason"] == "assessed again"
        assert post_json(look, "/v1/match-hashes", records["banked"]).json()["matches"] == []
        assert records["banked"]["md5"] not in cur.get("/v1/banks/hotline/export", params={"format": "jsonl"}).text
        assert cur.get("/v1/banks/hotline/entries/99999").status_code == 404
        assert cur.delete("/v1/banks/hotline/entries/99999").status_code == 404
        assert cur.get("/v1/banks/nobank/export").status_code == 404
        assert cur.get("/v1/banks/hotline/export", params={"format": "pickle"}).status_code == 400
        assert post_json(cur, "/v1/banks/bad name!/entries", {"record": records["other"]}).status_code == 400
        assert post_json(cur, "/v1/banks/hotline/entries", {"record": {"path": "x"}}).status_code == 400
    backup = base / "backup.sqlite"
    out = subprocess.run([sys.executable, "-m", "ocsea_match", "bank", "backup", str(base / "banks.sqlite"), str(backup)],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    import sqlite3

    with sqlite3.connect(backup) as conn:
        copied = conn.execute("SELECT COUNT(*) FROM entries WHERE bank = 'hotline'").fetchone()[0]
    assert out.returncode == 0 and "entries backed up" in out.stderr and copied == 2
    assert subprocess.run([sys.executable, "-m", "ocsea_match", "bank", "check", str(backup)],
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True).returncode == 0


def test_metrics(svc):
    with svc["server"].client(svc["keys"]["admin"]) as c:
        post_json(c, "/v1/match-hashes", svc["records"]["listed"])
        r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'ocsea_requests_total{endpoint="/v1/match-hashes",status="200"}' in text
    assert 'ocsea_request_seconds_bucket{endpoint="/v1/match-hashes",le="0.05"}' in text
    assert 'ocsea_matches_total{list="known_list"}' in text
    assert 'ocsea_index_entries{list="known_list"} 1.0' in text


def test_reload_under_concurrent_load_fails_no_request(svc):
    server, keys, records, base = svc["server"], svc["keys"], svc["records"], svc["base"]
    stop_at = time.monotonic() + 4.0  # bounded: at most 4 s and 400 requests per thread

    def hammer(_: int) -> list[int]:
        statuses = []
        with server.client(keys["hashes"]) as c:
            while time.monotonic() < stop_at and len(statuses) < 400:
                statuses.append(post_json(c, "/v1/match-hashes", [records["listed"], records["listed2"]]).status_code)
        return statuses

    generations = []
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(hammer, i) for i in range(3)]
        with server.client(keys["admin"]) as admin:
            for i in range(4):
                ids = ["A1", "A2"] if i % 2 == 0 else ["A1"]
                write_list(base / "known_list.csv", [records["listed"], records["listed2"]][:len(ids)], ids)
                r = admin.post("/v1/reload")
                assert r.status_code == 200, r.text
                generations.append(r.json()["generation"])
                assert r.json()["lists"][0]["entries"] == len(ids)
                time.sleep(0.3)
        statuses = [s for f in futures for s in f.result()]
    assert len(statuses) > 20 and set(statuses) == {200}
    assert generations == sorted(generations) and len(set(generations)) == 4
    # a list that cannot be read: 422, and the previous index goes on answering
    (base / "known_list.csv").write_bytes(b"\xff\xfe not utf-8")
    with server.client(keys["admin"]) as admin:
        r = admin.post("/v1/reload")
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad-list"
        assert [m["entry_id"] for m in post_json(admin, "/v1/match-hashes", records["listed"]).json()["matches"]] == ["A1"]
    write_list(base / "known_list.csv", [records["listed"]], ["A1"])


def test_hash_only_cli_flow(svc, tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(svc["pictures"]["listed"])
    (folder / "b.jpg").write_bytes(svc["pictures"]["other"])
    key_file = tmp_path / "key.txt"
    key_file.write_text(svc["keys"]["hashes"] + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "ocsea_match", "match", str(folder), "--server", svc["server"].url, "--key-file",
         str(key_file), "--format", "jsonl", "--jobs", "1"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=60)
    assert out.returncode == 3, out.stderr
    records = {Path(r["path"]).name: r for r in map(json.loads, out.stdout.splitlines())}
    assert [m["entry_id"] for m in records["a.jpg"]["matches"]] == ["A1"] and records["b.jpg"]["matches"] == []
    assert "pdq-thumb512" in records["a.jpg"]["hashes"]  # hashed with the algorithms the service asks for
    key_file.write_text("ocm_wrong\n")
    out = subprocess.run(
        [sys.executable, "-m", "ocsea_match", "match", str(folder), "--server", svc["server"].url, "--key-file",
         str(key_file), "--jobs", "1"], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 2 and "401" in out.stderr


def test_zz_audit_log_chain(svc):
    """Last (zz): every request above is in the chain; a tampered copy is caught at its line."""
    log = svc["base"] / "audit.jsonl"
    time.sleep(0.2)
    result = verify(log)
    assert result.ok, result.message
    lines = log.read_text().splitlines()
    events = [json.loads(line) for line in lines]
    kinds = {e["event"] for e in events}
    assert {"start", "match", "match-hashes", "reload", "refused", "bank-add", "bank-disable", "bank-export"} <= kinds
    upload = next(e for e in events if e["event"] == "match" and e["matches"])
    assert upload["key"] == "analyst" and upload["file"]["sha256"] == svc["records"]["listed"]["sha256"]
    assert upload["file"]["pdq"] and upload["lists"][0] and upload["matches"][0]["entry_id"] == "A1"
    assert all("pixels" not in line and "data" not in json.loads(line) for line in lines)
    ids = [e["request_id"] for e in events if "request_id" in e and not e["event"].startswith("bank-")]
    assert len(ids) == len(set(ids))  # one line per request, whatever its answer
    assert any(e["event"] == "match" and e["status"] == 422 and e["file"]["error"] == "not-media" for e in events)
    tampered = svc["base"] / "tampered.jsonl"
    k = next(i for i, e in enumerate(events) if e["event"] == "match-hashes")
    edited = lines[:k] + [lines[k].replace('"status":200', '"status":404')] + lines[k + 1:]
    tampered.write_text("\n".join(edited) + "\n")
    out = subprocess.run([sys.executable, "-m", "ocsea_match", "audit", "verify", str(tampered)],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 1 and f"line {k + 1}:" in out.stdout
    out = subprocess.run([sys.executable, "-m", "ocsea_match", "audit", "verify", str(log)],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 0 and "chain intact" in out.stdout
