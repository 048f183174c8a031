"""examples/service_mount.py: the service mounted in a platform's own Starlette app, run for real."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the service extra is not installed (pip install '.[service]')")

from ocsea_match.service.audit import verify  # noqa: E402

from service_server import ROOT, Server, free_port, make_keys, picture, post_json, record_of, write_list  # noqa: E402


def test_mounted_in_a_platform_app(tmp_path: Path):
    listed = record_of(picture(1))
    write_list(tmp_path / "known_list.csv", [listed], ["A1"])
    keys = make_keys(tmp_path / "keys.json")
    port = free_port()
    server = Server([], cwd=tmp_path, port=port, command=[
        sys.executable, str(ROOT / "examples" / "service_mount.py"), "known_list.csv", "keys.json",
        "--port", str(port), "--audit-log", "audit.jsonl"], health="/ocsea/healthz")
    try:
        assert server.client(None).get("/").json()["platform"] == "example"
        assert server.client(None).get("/reports/count").status_code == 200
        with server.client(keys["hashes"]) as c:
            r = post_json(c, "/ocsea/v1/match-hashes", listed)
            assert r.status_code == 200 and [m["entry_id"] for m in r.json()["matches"]] == ["A1"]
            assert c.get("/ocsea/healthz").status_code == 200
        with server.client(keys["analyst"]) as c:
            r = c.post("/ocsea/v1/match", content=picture(1))  # the decoding workers run under the host too
            assert r.status_code == 200 and r.json()["matches"][0]["entry_id"] == "A1"
        assert server.client(None).post("/ocsea/v1/match", content=b"x").status_code == 401
    finally:
        assert server.stop() in (0, -signal.SIGTERM)  # uvicorn.run ends by re-raising SIGTERM
    events = [json.loads(line)["event"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events[0] == "start" and events[-1] == "stop" and "match" in events  # the service's lifespan ran
    assert verify(tmp_path / "audit.jsonl").ok
