"""pHash, dHash, aHash and wHash give imagehash 4.x's hex for the same PIL image, on every picture."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from PIL import Image

import ocsea_match

from helpers import corpus_paths, needs_corpus

imagehash = pytest.importorskip("imagehash", reason="imagehash is the oracle: pip install -e '.[dev]'")

ORACLES = {
    "phash": lambda img: str(imagehash.phash(img)),
    "dhash": lambda img: str(imagehash.dhash(img)),
    "ahash": lambda img: str(imagehash.average_hash(img)),
    "whash": lambda img: str(imagehash.whash(img)),
}


def mismatches(img: Image.Image) -> dict[str, tuple[str, str]]:
    ours = ocsea_match.hash_image(img, list(ORACLES))
    out = {}
    for name, oracle in ORACLES.items():
        expected = oracle(img)
        if ours[name].hex != expected:
            out[name] = (ours[name].hex, expected)
    return out


def test_generated_pictures(images: dict[str, Image.Image]) -> None:
    bad = {name: m for name, img in images.items() if (m := mismatches(img))}
    assert bad == {}


@needs_corpus
def test_corpus_pictures() -> None:
    paths = corpus_paths()
    assert len(paths) >= 90
    bad = {}
    for p in paths:
        with Image.open(p) as img:
            img.load()
            if m := mismatches(img):
                bad[p.name] = m
    assert bad == {}


@settings(max_examples=150, deadline=None)
@example(w=32, h=23, kind="blocks", seed=1)  # pHash median tie decided by pocketfft's rounding
@given(
    w=st.integers(1, 90),
    h=st.integers(1, 90),
    kind=st.sampled_from(["noise", "flat", "blocks", "mirror"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_pictures(w: int, h: int, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if kind == "noise":
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    elif kind == "flat":
        arr = np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (h, w, 3)).copy()
    elif kind == "blocks":
        small = rng.integers(0, 2, (max(1, h // 8 + 1), max(1, w // 8 + 1)), dtype=np.uint8) * 255
        arr = np.kron(small, np.ones((8, 8), np.uint8))[:h, :w]
    else:  # left-right symmetric: DCT/Haar ties that only exact zeros break the same way
        half = rng.integers(0, 256, (h, (w + 1) // 2), dtype=np.uint8)
        arr = np.concatenate([half, half[:, ::-1]], axis=1)[:, :w]
    assert mismatches(Image.fromarray(np.ascontiguousarray(arr))) == {}


def test_array_input_equals_pil_input(images: dict[str, Image.Image]) -> None:
    photo = images["photo-400x300"]
    from_array = ocsea_match.hash_image(np.asarray(photo), list(ORACLES))
    from_pil = ocsea_match.hash_image(photo, list(ORACLES))
    assert from_array == from_pil
