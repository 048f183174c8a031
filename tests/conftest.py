"""Shared fixtures: where ../shared is, and small generated pictures of every awkward kind."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

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
    out["gray-16bit"] = Image.fromarray((np.asarray(photo.convert("L")).astype(np.uint16) * 257))
    cmyk_bytes = encode(photo.convert("CMYK"), "JPEG", quality=90)
    out["cmyk-jpeg"] = Image.open(io.BytesIO(cmyk_bytes))
    out["jpeg-q20"] = Image.open(io.BytesIO(encode(photo, "JPEG", quality=20)))
    out["la"] = photo.convert("LA")
    return out


@pytest.fixture(scope="session")
def images() -> dict[str, Image.Image]:
    return generated_images()
