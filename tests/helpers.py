"""Helpers shared by the test modules: where ../shared is, skip marks for it, and small generated
inputs (pictures of every awkward kind, PNG headers, NSRL databases, textured scenes), the PDQ
oracle. Test modules import from here (``from helpers import encode``), never from each other or
from ``conftest`` (which only holds fixtures). Generated video clips are in ``videoclips.py``;
the service's test server in ``service_server.py``; functions run in worker processes (which must
be importable by name) in ``crashy.py`` and ``service_workers.py``.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PDQ_REFERENCE = SHARED / "pdq-reference"
CORPUS_IMAGES = SHARED / "corpus" / "images"

needs_pdq_reference = pytest.mark.skipif(
    not (PDQ_REFERENCE / "expected_pdqhash.tsv").is_file(),
    reason=f"{PDQ_REFERENCE} is absent (a plain clone has no ../shared; CI always has it)",
)
needs_corpus = pytest.mark.skipif(
    not CORPUS_IMAGES.is_dir(),
    reason=f"{CORPUS_IMAGES} is absent (a plain clone has no ../shared; CI always has it)",
)


def corpus_paths() -> list[Path]:
    if not CORPUS_IMAGES.is_dir():
        return []
    return sorted(p for p in CORPUS_IMAGES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def generated_images() -> dict[str, Image.Image]:
    """Pictures of every awkward shape and mode, deterministic."""
    rng = np.random.default_rng(7)
    out: dict[str, Image.Image] = {}
    for h in range(1, 8):
        for w in range(1, 8):
            if (h, w) in ((1, 1), (3, 7), (7, 3), (2, 5), (5, 5), (4, 6), (6, 4), (7, 7), (5, 4)):
                out[f"rgb-{w}x{h}"] = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    y, x = np.mgrid[0:300, 0:400]
    smooth = np.stack([(x * 0.6) % 256, (y * 0.8) % 256, (x + y) % 256], axis=2).astype(np.uint8)
    base = Image.fromarray(smooth).filter(ImageFilter.GaussianBlur(3))
    noise = rng.integers(0, 40, (300, 400, 3), dtype=np.uint8)
    photo = Image.fromarray(np.clip(np.asarray(base).astype(int) + noise, 0, 255).astype(np.uint8))
    out["photo-400x300"] = photo
    out["wide-2000x6"] = Image.fromarray(rng.integers(0, 256, (6, 2000, 3), dtype=np.uint8))
    out["tall-5x1500"] = Image.fromarray(rng.integers(0, 256, (1500, 5, 3), dtype=np.uint8))
    out["wide-3000x40"] = photo.resize((3000, 40))
    out["tall-64x2500"] = photo.resize((64, 2500))
    out["exact-64x64"] = photo.resize((64, 64))
    out["odd-127x129"] = photo.resize((127, 129))
    for c in (0, 1, 127, 255):
        out[f"flat-gray-{c}"] = Image.new("L", (90, 70), c)
    out["flat-color"] = Image.new("RGB", (123, 77), (200, 30, 90))
    out["gradient-h"] = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (100, 1)))
    out["gradient-v"] = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (100, 1)).T.copy())
    out["checker"] = Image.fromarray((np.indices((128, 128)).sum(0) // 16 % 2 * 255).astype(np.uint8))
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.fromarray((x % 256).astype(np.uint8)))
    out["rgba"] = rgba
    out["palette"] = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    out["gray"] = photo.convert("L")
    out["bilevel"] = photo.convert("1")
    out["gray-16bit"] = Image.fromarray(np.asarray(photo.convert("L")).astype(np.uint16) * 257)
    cmyk_bytes = encode(photo.convert("CMYK"), "JPEG", quality=90)
    out["cmyk-jpeg"] = Image.open(io.BytesIO(cmyk_bytes))
    out["jpeg-q20"] = Image.open(io.BytesIO(encode(photo, "JPEG", quality=20)))
    out["la"] = photo.convert("LA")
    return out


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header declares width x height gray pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def make_nsrl(path: Path, files: list[Path]) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT, file_size INTEGER, package_id INTEGER)")
    for p in files:
        data = p.read_bytes()
        con.execute("INSERT INTO FILE VALUES (?, ?, ?, '', ?, ?, 1)", (
            hashlib.sha256(data).hexdigest().upper(), hashlib.sha1(data).hexdigest().upper(),
            hashlib.md5(data).hexdigest().upper(), p.name, len(data)))
    con.execute("CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5 FROM FILE")
    con.commit()
    con.close()


# ------------------------------------------------------------------------------ robust matching


def scene(seed: int, h: int = 480, w: int = 640) -> Image.Image:
    """A picture with structure at every scale: blurred noise at three scales and a few shapes."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((h, w, 3), np.float32)
    for sigma, weight in ((40, 1.0), (12, 0.6), (3, 0.3)):
        noise = rng.normal(0, 1, (h, w, 3)).astype(np.float32)
        field = cv2.GaussianBlur(noise, (0, 0), sigma)
        pixels += weight * field / (field.std() + 1e-6)
    pixels = np.clip(128 + 40 * pixels, 0, 255).astype(np.uint8)
    for _ in range(6):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(20, w // 4)), int(rng.integers(20, h // 4)))
        cv2.ellipse(pixels, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    return Image.fromarray(pixels)


def caption(img: Image.Image, text: str, share: float, background: tuple[int, int, int], ink: str, size: int) -> Image.Image:
    """``img`` under a coloured strip ``share`` of its height tall, ``text`` written on the strip (a meme caption)."""
    w, h = img.size
    out = Image.new("RGB", (w, round(h * (1 + share))), background)
    out.paste(img, (0, round(h * share)))
    ImageDraw.Draw(out).text((20, 20), text, fill=ink, font=ImageFont.load_default(size=size))
    return out


def jpeg(img: Image.Image, quality: int = 80) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# ------------------------------------------------------------------------------ the PDQ oracle


def bits_hex(bits: np.ndarray) -> str:
    """pdqhash's 256 bits as 64 hex characters (the reference's order)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def oracle(rgb: np.ndarray) -> tuple[str, int]:
    """pdqhash's PDQ of an RGB array: ``(hex, quality)`` (the test is skipped without pdqhash)."""
    pdqhash = pytest.importorskip("pdqhash", reason="pdqhash is the PDQ oracle: pip install -e '.[dev]'")
    bits, quality = pdqhash.compute(rgb)
    return bits_hex(bits), int(quality)


def flip_bits(row: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """A copy of a packed hash row with the given bit positions flipped."""
    out = row.copy()
    for b in bits.tolist():
        out[b // 8] ^= 1 << (b % 8)
    return out


def planted_rows(seed: int, threshold: int, listed: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Random 256-bit queries and rows: for each query, rows planted at every distance 0 ..
    threshold + 2 (one with its flipped bits spread over the hash, one with them bunched in one
    run: in one substring of a multi-index search), shuffled among ``listed`` random rows."""
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 256, (queries, 32), dtype=np.uint8)
    rows = [rng.integers(0, 256, (listed, 32), dtype=np.uint8)]
    for i in range(queries):
        for d in range(threshold + 3):
            spread = rng.choice(256, d, replace=False)
            start = int(rng.integers(0, 256 - d + 1))
            rows.append(np.stack([flip_bits(q[i], spread), flip_bits(q[i], np.arange(start, start + d))]))
    everything = np.concatenate(rows)
    return q, everything[rng.permutation(len(everything))]
