"""Write the small seed corpus (``fuzz/corpus/TARGET/seed-*``): generated, benign, a few KB each.

    python fuzz/make_seeds.py

Pictures are generated gradients and noise; lists are made-up hashes; nothing comes from outside.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

H1, H2, H3 = "f" * 8 + "0" * 56, "0123456789abcdef" * 4, "a5" * 32


def _pictures() -> dict[str, bytes]:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:24, 0:32]
    rgb = np.stack([x * 8, y * 10, (x + y) * 4], axis=2).astype(np.uint8)
    rgb = np.clip(rgb.astype(int) + rng.integers(0, 20, rgb.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(rgb)
    out: dict[str, bytes] = {}
    for fmt, name, kwargs in (("PNG", "png", {}), ("JPEG", "jpg", {"quality": 70}), ("GIF", "gif", {}),
                              ("BMP", "bmp", {}), ("WEBP", "webp", {"quality": 60}), ("TIFF", "tiff", {}),
                              ("JPEG", "progressive.jpg", {"progressive": True})):
        buf = io.BytesIO()
        img.save(buf, fmt, **kwargs)
        out[name] = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the displayed path
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    out["exif-rotated.jpg"] = buf.getvalue()
    buf = io.BytesIO()
    img.convert("LA").save(buf, "PNG")
    out["gray-alpha.png"] = buf.getvalue()
    buf = io.BytesIO()
    img.convert("P").save(buf, "GIF", save_all=True, append_images=[img.rotate(90).convert("P")], duration=100)
    out["animated.gif"] = buf.getvalue()
    out["video.mp4"] = _video()
    return out


def _video() -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"crf": "40", "preset": "ultrafast"}
        for i in range(6):
            frame = np.full((48, 64, 3), 40 * i, np.uint8)
            frame[:, i * 8:i * 8 + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def _lists() -> dict[str, bytes]:
    vics = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media",
            "value": [{"MediaID": 1, "Category": 1, "MD5": "0" * 32, "AlternativeHashes": [
                {"HashName": "PDQ", "HashValue": H1, "Quality": 90}]}]}
    cases = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Cases",
             "value": [{"CaseID": 1, "Media": [{"MediaID": 2, "SHA1": "1" * 40}]}]}
    vics1 = {"odata.metadata": "http://x/$metadata#Media", "value": [{"MediaID": "7", "MD5": "2" * 32,
             "AlternativeHashes": [{"HashName": "SHA1", "HashValue": "3" * 40}]}]}
    jsonl = [
        {"path": "a.jpg", "status": "ok", "md5": "4" * 32, "hashes": {"pdq": {"hex": H2, "quality": 80},
                                                                         "phash": {"hex": "8" * 16}}},
        {"path": "clip.mp4", "status": "ok", "frames": [{"timestamp": 0.0, "pdq": H1, "quality": 70},
                                                        {"timestamp": 1.5, "pdq": H3, "quality": 60}]},
        {"entry_id": "r", "robust": {"list": [{"hex": H3, "quality": 90}]}},
    ]
    return {
        "pdq-lines.txt": f"{H1}\n# comment\n{H2}\n".encode(),
        "pdq.csv": f"hash,quality,id,category\n{H1},90,A1,1\n{H2},40,A2,\n".encode(),
        "semicolon-crlf.csv": f"\ufeffid;hash;quality\r\nA1;{H1};90\r\n\"A;2\";{H3};75\r\n".encode(),
        "tab.tsv": f"hash\tquality\n{H1}\t100\n".encode(),
        "md5sum.txt": f"{'5' * 32}  a file.jpg\n{'6' * 32} *b.png\n".encode(),
        "sha256sum.txt": f"{H3}  c.jpg\n".encode(),
        "hashdeep.txt": f"%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## x\n3,{'7' * 32},{H2},/x/a,b.jpg\n".encode(),
        "vpdq.txt": f"0,100,{H1},0.000\n1,90,{H2},1.000\n".encode(),
        "vics2.json": json.dumps(vics).encode(),
        "vics-cases.json": json.dumps(cases).encode(),
        "vics1.json": json.dumps(vics1).encode(),
        "records.jsonl": "".join(json.dumps(r) + "\n" for r in jsonl).encode(),
        "nsrl.db": _nsrl(),
        "utf16.txt": f"hash\tid\r\n{H1}\tA1\r\n".encode("utf-16"),
    }


def _nsrl() -> bytes:
    """A minimal NSRL RDSv3 file (SQLite, the FILE table) with two rows."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nsrl.db"
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT)")
        con.executemany("INSERT INTO FILE VALUES (?, ?, ?)", [(H3, "1" * 40, "2" * 32), (None, None, "3" * 32)])
        con.commit()
        con.close()
        return path.read_bytes()


def _journal() -> dict[str, bytes]:
    records = [
        {"path": "/case/src/a.jpg", "status": "ok", "md5": "0" * 32},
        {"path": "/case/src/z.zip!/m.png", "container_file": "/case/src/z.zip", "status": "ok"},
        {"path": "/case/src/z.zip", "status": "ok"},
        {"path": "/case/src/\\xff.jpg", "path_hex": "2f78", "status": "error", "error": {"code": "corrupt", "message": "x"}},
    ]
    whole = "".join(json.dumps(r) + "\n" for r in records).encode()
    return {"complete.jsonl": whole, "torn.jsonl": whole + b'{"path": "/case/src/b.j'}


def _index() -> dict[str, bytes]:
    from targets import _base_index

    _, files = _base_index()
    names = sorted(files)
    return {f"{i:02d}-{name}": bytes([i]) + files[name] for i, name in enumerate(names)}


def main() -> None:
    for target, seeds in (("hash_bytes", _pictures()), ("lists", _lists()), ("journal", _journal()), ("index", _index())):
        folder = HERE / "corpus" / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (folder / f"seed-{name}").write_bytes(data)
        print(f"{target}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes")


if __name__ == "__main__":
    main()
