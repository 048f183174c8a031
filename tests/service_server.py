"""Starting the real service for the tests: ``ocsea-match serve`` under uvicorn on 127.0.0.1, a
free port, as a subprocess; fixtures (benign generated pictures, a list, keys)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from ocsea_match import hash_bytes
from ocsea_match.service.keys import KeyStore

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def picture(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A benign generated JPEG (coloured shapes on a gradient), different for every seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * rng.uniform(0.2, 1)) % 256, (y * rng.uniform(0.2, 1)) % 256, (x + y) % 256], 2)
    img = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        draw.ellipse((x0, y0, x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120))),
                     fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def record_of(data: bytes) -> dict:
    """What ``ocsea-match hash`` writes for these bytes."""
    return hash_bytes(data, ["pdq"], mode="fast")


def write_list(path: Path, records: list[dict], ids: list[str]) -> Path:
    lines = ["hash,id,category"] + [f"{r['hashes']['pdq']['hex']},{i},1" for r, i in zip(records, ids)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_keys(path: Path) -> dict[str, str]:
    store = KeyStore.open(path, create=True)
    return {
        "admin": store.add("admin", ["match", "hashes", "curate", "admin", "metrics"]),
        "analyst": store.add("analyst", ["match", "hashes"]),
        "hashes": store.add("platform", ["hashes"]),
        "curator": store.add("curator", ["curate"]),
    }


class Server:
    """``python -m ocsea_match serve ARGS --port P`` until ``stop()``; ``url``; waits for /healthz."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str] | None = None, command: list[str] | None = None,
                 port: int | None = None, health: str = "/healthz") -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.health = health
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
        cmd = command or [sys.executable, "-m", "ocsea_match", "serve", *args, "--port", str(self.port)]
        self.log = open(cwd / f"server-{self.port}.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + self.health, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start: {self.output()}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def client(self, key: str | None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, **{"timeout": 30, **kwargs})

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def post_json(client: httpx.Client, path: str, doc: object) -> httpx.Response:
    return client.post(path, content=json.dumps(doc).encode(), headers={"Content-Type": "application/json"})
