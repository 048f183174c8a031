"""The service's life: start-up errors, SIGTERM with a request in flight, SIGKILL during bank
writes, rate limits, the keys command, and running without the service extra."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the service extra is not installed (pip install '.[service]')")

from ocsea_match.service.audit import verify  # noqa: E402
from ocsea_match.service.banks import BankStore, check  # noqa: E402

from service_server import ROOT, Server, make_keys, picture, post_json, record_of, write_list  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocsea_match", *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=timeout)


@pytest.fixture()
def setup(tmp_path: Path) -> dict:
    rec = record_of(picture(1))
    write_list(tmp_path / "known_list.csv", [rec], ["A1"])
    return {"base": tmp_path, "keys": make_keys(tmp_path / "keys.json"), "record": rec}


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``ocsea-match ARGS`` in this process (no interpreter start-up): exit code, stdout, stderr."""
    from ocsea_match.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_startup_errors_exit_2(setup, capsys, monkeypatch):
    base = setup["base"]
    monkeypatch.chdir(base)
    (base / "bad_keys.json").write_text("{not json")
    (base / "empty_dir").mkdir()
    cases = [
        (["--list", "missing.csv", "--keys", "keys.json"], "missing.csv"),
        (["--index", "empty_dir", "--keys", "keys.json"], "manifest"),
        (["--list", "known_list.csv", "--keys", "bad_keys.json"], "bad_keys.json"),
        (["--list", "known_list.csv", "--keys", "no_such_keys.json"], "keys add"),
        (["--keys", "keys.json"], "--list"),
    ]
    for args, words in cases:
        code, _, err = _main(capsys, "serve", *args, "--port", "1")
        assert code == 2 and words in err, (args, err)


def test_without_the_service_extra(setup):
    code = ("import sys; sys.modules['uvicorn'] = None; sys.modules['starlette'] = None\n"
            "import ocsea_match\n"
            "from ocsea_match.cli import main\n"
            "sys.exit(main(['serve', '--list', 'known_list.csv', '--keys', 'keys.json']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=setup["base"])
    assert out.returncode == 2 and "pip install 'ocsea-match[service]'" in out.stderr
    code = "import sys, ocsea_match, ocsea_match.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'httpx', 'prometheus_client')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert out.stdout.strip() == "[]", out.stdout


def test_keys_command(tmp_path, capsys):
    keys = str(tmp_path / "keys.json")
    out = _cli("keys", "add", "analyst-1", "--scopes", "match,hashes", "--keys", keys)  # the real command once
    assert out.returncode == 0, out.stderr
    secret = out.stdout.splitlines()[-1]
    assert secret.startswith("ocm_") and len(secret) > 40 and secret not in Path(keys).read_text()
    assert oct(Path(keys).stat().st_mode & 0o777) == "0o600"
    assert _main(capsys, "keys", "add", "analyst-1", "--scopes", "match", "--keys", keys)[0] == 2  # live already
    assert _main(capsys, "keys", "add", "x", "--scopes", "root", "--keys", keys)[0] == 2
    code, listing, _ = _main(capsys, "keys", "list", "--keys", keys)
    assert code == 0 and "analyst-1\thashes,match" in listing and "live" in listing and secret not in listing
    assert _main(capsys, "keys", "revoke", "analyst-1", "--keys", keys)[0] == 0
    assert "revoked" in _main(capsys, "keys", "list", "--keys", keys)[1]
    assert _main(capsys, "keys", "revoke", "analyst-1", "--keys", keys)[0] == 1


def test_rate_limit_429_with_retry_after(setup):
    server = Server(["--list", "known_list.csv", "--keys", "keys.json", "--rate", "1", "--burst", "2", "--workers", "1",
                     "--audit-log", "audit-rate.jsonl"], cwd=setup["base"])
    try:
        with server.client(setup["keys"]["hashes"]) as c, server.client(setup["keys"]["analyst"]) as other:
            statuses = [post_json(c, "/v1/match-hashes", setup["record"]).status_code for _ in range(3)]
            assert statuses[:2] == [200, 200] and statuses[2] == 429
            r = post_json(c, "/v1/match-hashes", setup["record"])
            assert r.status_code == 429 and r.json()["error"]["code"] == "rate-limited"
            assert int(r.headers["retry-after"]) >= 1
            limited = r.headers["x-request-id"]
            assert other.get("/v1/lists").status_code == 200  # per key
            time.sleep(1.1)
            assert post_json(c, "/v1/match-hashes", setup["record"]).status_code == 200
    finally:
        server.stop()
    lines = [json.loads(line) for line in (setup["base"] / "audit-rate.jsonl").read_text().splitlines()]
    refused = next(e for e in lines if e.get("request_id") == limited)
    assert refused["code"] == "rate-limited" and refused["key"] == "platform"  # the key over its rate is named


def test_sigterm_finishes_the_request_in_flight_and_flushes_the_audit_log(setup):
    base = setup["base"]
    server = Server(["--list", "known_list.csv", "--keys", "keys.json", "--audit-log", "audit.jsonl", "--workers", "1"],
                    cwd=base)
    body = json.dumps(setup["record"]).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    sock.sendall(f"POST /v1/match-hashes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {setup['keys']['hashes']}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:50])
    time.sleep(0.3)  # the request is in flight, its body half sent
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert server.proc.poll() is None, "the server stopped with a request in flight"
    sock.sendall(body[50:])
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        data = sock.recv(65536)
        if not data:
            break
        answer += data
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"entry_id":"A1"' in answer
    assert server.proc.wait(timeout=30) == 0, server.output()  # the first SIGTERM stops it
    server.stop()
    result = verify(base / "audit.jsonl")
    assert result.ok, result.message
    events = [json.loads(line)["event"] for line in (base / "audit.jsonl").read_text().splitlines()]
    assert events == ["start", "match-hashes", "stop"]


def test_sigkill_during_bank_writes_loses_no_committed_entry(setup):
    base = setup["base"]
    server = Server(["--list", "known_list.csv", "--keys", "keys.json", "--banks", "banks.sqlite", "--workers", "1"],
                    cwd=base)
    records = [record_of(picture(100 + i, (96, 96))) for i in range(6)]
    acked: list[tuple[int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        with server.client(setup["keys"]["curator"], timeout=10) as c:
            i = 0
            while not stop.is_set() and i < 500:
                rec = records[(n + i) % len(records)]
                try:
                    r = post_json(c, "/v1/banks/hotline/entries", {"record": rec, "category": str(n), "note": f"w{n}-{i}"})
                except Exception:  # noqa: BLE001 - the server was killed under us
                    return
                if r.status_code == 201:
                    with lock:
                        acked.append((r.json()["entry"]["id"], rec["sha256"]))
                i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 45 and time.monotonic() < deadline:  # past a compaction (every 32 additions)
        time.sleep(0.01)
    server.proc.send_signal(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(15)
    server.stop()
    assert len(acked) >= 45
    assert check(base / "banks.sqlite") == []  # integrity, and every entry has all its hashes
    conn = sqlite3.connect(base / "banks.sqlite")
    stored = dict(conn.execute("SELECT id, sha256 FROM entries"))
    counts = dict(conn.execute("SELECT entry, COUNT(*) FROM hashes GROUP BY entry"))
    conn.close()
    for entry_id, sha256 in acked:
        assert stored.get(entry_id) == sha256 and counts[entry_id] == 4
    # and after a restart they all match again
    banks = BankStore(base / "banks.sqlite")
    found = banks.match_many([records[0]])[0]
    assert {m["entry_id"] for m in found if m["algorithm"] == "pdq"} >= {str(i) for i, s in acked if s == records[0]["sha256"]}
    banks.close()


def test_audit_log_rotates_without_a_restart_and_verifies_as_one_chain(setup):
    """POST /v1/audit/rotate (admin) keeps the log so far under a dated name and goes on in a new
    file whose first line follows the old one's last: 'audit verify OLD NEW' exits 0, the files out
    of order or one of them alone as the start of the other's chain exit 1."""
    base = setup["base"]
    server = Server(["--list", "known_list.csv", "--keys", "keys.json", "--audit-log", "audit.jsonl", "--workers", "1"],
                    cwd=base)
    try:
        with server.client(setup["keys"]["hashes"]) as c:
            assert post_json(c, "/v1/match-hashes", setup["record"]).status_code == 200
            assert c.post("/v1/audit/rotate").status_code == 403  # admin only
        with server.client(setup["keys"]["admin"]) as c:
            answer = c.post("/v1/audit/rotate")
            assert answer.status_code == 200, answer.text
            rotated = answer.json()
        with server.client(setup["keys"]["hashes"]) as c:
            found = post_json(c, "/v1/match-hashes", setup["record"])
            assert found.status_code == 200 and found.json()["matches"][0]["entry_id"] == "A1"
    finally:
        assert server.stop() == 0
    archived = Path(rotated["archived"])
    assert archived.parent == base and archived.name.startswith("audit.jsonl.")
    old = [json.loads(line) for line in archived.read_text().splitlines()]
    new = [json.loads(line) for line in (base / "audit.jsonl").read_text().splitlines()]
    assert [e["event"] for e in old] == ["start", "match-hashes", "refused", "rotate"]
    assert old[-1]["key"] == "admin" and old[-1]["archived_as"] == archived.name and old[-1]["hash"] == rotated["ends_with"]
    assert [e["event"] for e in new] == ["continue", "match-hashes", "stop"]
    assert new[0]["prev"] == rotated["ends_with"] and new[0]["from"] == archived.name

    both = _cli("audit", "verify", str(archived), "audit.jsonl", cwd=base)
    assert both.returncode == 0, both.stdout + both.stderr
    assert "continues the log that ends with " + rotated["ends_with"] in both.stdout
    reversed_order = _cli("audit", "verify", "audit.jsonl", str(archived), cwd=base)
    assert reversed_order.returncode == 1 and "does not continue the log before it" in reversed_order.stdout
    new[1]["matches"] = []  # an edited line in the new file is still found
    (base / "edited.jsonl").write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in new))
    edited = _cli("audit", "verify", str(archived), "edited.jsonl", cwd=base)
    assert edited.returncode == 1 and "line 2: altered" in edited.stdout
