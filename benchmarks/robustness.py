#!/usr/bin/env python3
"""Recall of perceptual hashes after crops, borders, banners, rotations ... at a fixed false-positive rate.

    python benchmarks/robustness.py [FOLDER] [--seed S] [--max-side PX] [--limit N] [--json OUT]
                                             [--no-timing]

Every picture of FOLDER is reduced to at most --max-side pixels (the list's copy), and a fixed
suite of transforms (and a block of held-out variants with seeded random parameters) is applied
to it. Each strategy compares every listed picture A with every transformed picture T(B): the
pairs A == B are the positives, the pairs A != B the negatives. The threshold at a false-positive
rate of 1e-4 is calibrated once per strategy on the negatives of all suite transforms pooled
(and once more without the folder's own near-duplicate pairs); recall is the share of positives
within it. Then files/s of robust hashing against plain PDQ. See benchmarks/README.md.
"""

from __future__ import annotations

import os

# One thread each: set before numpy / OpenCV / BLAS are imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

import ocsea_match
from ocsea_match import robust

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_peers import DEFAULT_FOLDER, find_pictures, machine  # noqa: E402

cv2.setNumThreads(1)

TARGET_FPR = 1e-4
Transform = Callable[[Image.Image, np.random.Generator], Image.Image]


# ------------------------------------------------------------------------------------------------
# Transforms: PIL RGB picture (and a generator for the random ones) -> PIL RGB picture
# ------------------------------------------------------------------------------------------------


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def crop_sides(img: Image.Image, top: float, bottom: float, left: float, right: float) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def pad_sides(img: Image.Image, top: float, bottom: float, left: float, right: float,
              colour: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    w, h = img.size
    t, b, l, r = round(h * top), round(h * bottom), round(w * left), round(w * right)
    canvas = Image.new("RGB", (w + l + r, h + t + b), colour)
    canvas.paste(img, (l, t))
    return canvas


def rotate(img: Image.Image, degrees: float, fill: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """Counter-clockwise, on a canvas enlarged to hold the whole picture."""
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, round(size)))


def write(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: float,
          colour: tuple[int, int, int]) -> None:
    draw.text(xy, text, fill=colour, font=font(size))


def banner(img: Image.Image, share: float, at_top: bool, colour: tuple[int, int, int],
           text: str, ink: tuple[int, int, int]) -> Image.Image:
    """A bar of ``colour`` laid over ``share`` of the height, with a line of text in it."""
    out = img.copy()
    w, h = out.size
    bar = round(h * share)
    y0 = 0 if at_top else h - bar
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, y0, w, y0 + bar), fill=colour)
    write(draw, (0.03 * w, y0 + 0.25 * bar), text, 0.45 * bar, ink)
    return out


def gaussian_noise(img: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(img, dtype=np.float32) + rng.normal(0.0, sigma, (img.height, img.width, 3))
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))  # type: ignore[return-value]


def contrasting(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    return (0, 0, 0) if sum(colour) > 384 else (255, 255, 255)


def random_cuts(rng: np.random.Generator, low: float, high: float) -> list[float]:
    """(top, bottom, left, right) shares: one to four random sides cut by low..high each."""
    sides = rng.permutation(4)[: rng.integers(1, 5)]
    cuts = [0.0] * 4
    for side in sides:
        cuts[side] = float(rng.uniform(low, high))
    return cuts


CAPTIONS = ("when the weekend finally arrives", "Reposted from @someone_else", "source: a friend",
            "no words needed...", "via the group chat", "2,431 likes  ·  118 comments")


# Suite: the transforms, fixed parameters (the noise is seeded per picture).
SUITE: dict[str, Transform] = {
    "jpeg q30": lambda img, rng: jpeg(img, 30),
    "thumbnail 300px": lambda img, rng: img.resize(_fit(img.size, 300), Image.Resampling.LANCZOS),
    "crop 5%/side": lambda img, rng: crop_sides(img, 0.05, 0.05, 0.05, 0.05),
    "crop 15%/side": lambda img, rng: crop_sides(img, 0.15, 0.15, 0.15, 0.15),
    "rotate 90": lambda img, rng: img.transpose(Image.Transpose.ROTATE_90),
    "mirror": lambda img, rng: img.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "rotate 5 (expanded)": lambda img, rng: rotate(img, 5),
    "gaussian blur r2": lambda img, rng: img.filter(ImageFilter.GaussianBlur(2)),
    "banner bottom 15%": lambda img, rng: banner(img, 0.15, False, (255, 255, 255),
                                                 "Reposted from @someone_else - 2,431 likes", (0, 0, 0)),
    "bright 1.3 contrast 0.8": lambda img, rng: ImageEnhance.Contrast(
        ImageEnhance.Brightness(img).enhance(1.3)).enhance(0.8),
    "grayscale": lambda img, rng: img.convert("L").convert("RGB"),
    "pad 10% black": lambda img, rng: pad_sides(img, 0.1, 0.1, 0.1, 0.1),
    "stretch 1.3x wide": lambda img, rng: img.resize((round(img.width * 1.3), img.height),
                                                     Image.Resampling.BICUBIC),
    "noise sigma 12": lambda img, rng: gaussian_noise(img, 12, rng),
}


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    scale = side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


# Held-out variants: what the strategy was not tuned on, parameters drawn per picture.


def offcentre_crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return crop_sides(img, *random_cuts(rng, 0.03, 0.20))


def centred_crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    cut = float(rng.uniform(0.03, 0.20))
    return crop_sides(img, cut, cut, cut, cut)


def mirror_crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return crop_sides(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), *random_cuts(rng, 0.03, 0.12))


def random_rotation(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    degrees = float(rng.uniform(1, 10)) * float(rng.choice([-1, 1]))
    return jpeg(rotate(img, degrees, random_colour(rng)), 75)


def rotate_cropped(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Rotate 3 degrees and keep the largest centred upright rectangle inside: no canvas shows."""
    w, h = img.size
    turned = img.rotate(3, resample=Image.Resampling.BICUBIC, expand=False)
    s, c = np.sin(np.radians(3)), np.cos(np.radians(3))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    cw, ch = w * scale, h * scale
    return turned.crop((round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2)))


def random_border(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    colour = random_colour(rng)
    if rng.random() < 0.5:
        widths = [float(rng.uniform(0.03, 0.25)) for _ in range(4)]
    else:
        widths = [0.0] * 4
        widths[int(rng.integers(4))] = float(rng.uniform(0.05, 0.30))
    return jpeg(pad_sides(img, *widths, colour=colour), 85)


def letterbox(img: Image.Image, rng: np.random.Generator, blurred: bool = False) -> Image.Image:
    """Fit into another aspect ratio (1:1, 16:9, 9:16, 4:5), on a flat or a blurred-copy fill."""
    aspect = float(rng.choice([1.0, 16 / 9, 9 / 16, 4 / 5]))
    w, h = img.size
    cw, ch = (max(w, round(h * aspect)), max(h, round(w / aspect)))
    if cw == w and ch == h:
        cw = round(w * 1.2)
    if blurred:
        canvas = img.resize((cw, ch), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(max(cw, ch) / 40))
    else:
        canvas = Image.new("RGB", (cw, ch), random_colour(rng))
    canvas.paste(img, ((cw - w) // 2, (ch - h) // 2))
    return jpeg(canvas, 85)


def chat_screenshot(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The picture scaled into a phone-sized chat screen: header bar, text lines, a message bubble."""
    cw = int(rng.integers(600, 900))
    ch = round(cw * float(rng.uniform(1.6, 2.1)))
    dark = rng.random() < 0.5
    bg = (18, 18, 18) if dark else (236, 229, 221)
    ink = (230, 230, 230) if dark else (20, 20, 20)
    canvas = Image.new("RGB", (cw, ch), bg)
    draw = ImageDraw.Draw(canvas)
    header = round(ch * float(rng.uniform(0.06, 0.10)))
    draw.rectangle((0, 0, cw, header), fill=random_colour(rng))
    write(draw, (0.15 * cw, header * 0.3), "Family group", header * 0.35, (255, 255, 255))
    shown_w = round(cw * float(rng.uniform(0.6, 0.9)))
    shown_h = round(shown_w * img.height / img.width)
    if shown_h > 0.6 * ch:
        shown_h = round(0.6 * ch)
        shown_w = round(shown_h * img.width / img.height)
    x = round(cw * 0.04) if rng.random() < 0.5 else cw - shown_w - round(cw * 0.04)
    y = header + round(ch * float(rng.uniform(0.08, 0.2)))
    bubble = (255, 255, 255) if not dark else (38, 45, 52)
    draw.rounded_rectangle((x - 8, y - 8, x + shown_w + 8, y + shown_h + 48), 14, fill=bubble)
    canvas.paste(img.resize((shown_w, shown_h), Image.Resampling.LANCZOS), (x, y))
    write(draw, (x, y + shown_h + 10), str(rng.choice(CAPTIONS)), 22, ink)
    write(draw, (0.05 * cw, header + 0.03 * ch), "Yesterday 21:14", 20, ink)
    write(draw, (0.05 * cw, y + shown_h + 80), str(rng.choice(CAPTIONS)), 24, ink)
    return jpeg(canvas, int(rng.integers(70, 90)))


def caption_strip(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A meme caption: a strip of random colour added above or below, text in it."""
    colour = random_colour(rng)
    share = float(rng.uniform(0.08, 0.25))
    above = rng.random() < 0.5
    out = pad_sides(img, share if above else 0.0, 0.0 if above else share, 0.0, 0.0, colour)
    strip = round(img.height * share)
    y0 = 0 if above else img.height
    write(ImageDraw.Draw(out), (0.04 * img.width, y0 + 0.2 * strip), str(rng.choice(CAPTIONS)),
          0.5 * strip, contrasting(colour))
    return jpeg(out, 85)


def random_banner(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    colour = random_colour(rng)
    return banner(img, float(rng.uniform(0.08, 0.20)), bool(rng.random() < 0.5), colour,
                  str(rng.choice(CAPTIONS)), contrasting(colour))


def small_screenshot(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    shrunk = img.resize(_fit(img.size, int(rng.integers(400, 800))), Image.Resampling.BILINEAR)
    grey = int(rng.integers(0, 256))
    edge = float(rng.uniform(0.01, 0.04))
    return jpeg(pad_sides(shrunk, edge, edge, edge, edge, (grey, grey, grey)), int(rng.integers(50, 90)))


def crop_then_pad(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    cut = float(rng.uniform(0.05, 0.10))
    pad = float(rng.uniform(0.05, 0.15))
    return pad_sides(crop_sides(img, cut, cut, cut, cut), pad, pad, pad, pad)


HELD_OUT: dict[str, Transform] = {
    "crop centred 3-20%/side": centred_crop,
    "crop 3-20% random sides": offcentre_crop,
    "mirror + crop 3-12%": mirror_crop,
    "rotate 2 (expanded)": lambda img, rng: rotate(img, 2),
    "rotate -4 (expanded)": lambda img, rng: rotate(img, -4),
    "rotate 8 (expanded)": lambda img, rng: rotate(img, 8),
    "rotate +-1-10, colour fill, jpeg": random_rotation,
    "rotate 3, cropped (no canvas)": rotate_cropped,
    "border random colour 1 or 4 sides": random_border,
    "letterbox other aspect, flat fill": letterbox,
    "letterbox, blurred-copy fill": lambda img, rng: letterbox(img, rng, blurred=True),
    "chat-app screenshot": chat_screenshot,
    "caption strip added above/below": caption_strip,
    "banner 8-20% top/bottom, colour": random_banner,
    "small + thin border + jpeg": small_screenshot,
    "crop 5-10% then pad black": crop_then_pad,
}


# ------------------------------------------------------------------------------------------------
# Strategies: what is stored per listed picture, what is probed per query, and their distance
# ------------------------------------------------------------------------------------------------


@dataclass
class Strategy:
    """A hasher as the index would use it: ``list_rows(rgb)`` and ``query_rows(rgb)`` give one
    picture's packed hash rows; a pair's score is the smallest distance between them."""

    name: str
    list_rows: Callable[[np.ndarray], np.ndarray]
    query_rows: Callable[[np.ndarray], np.ndarray]
    conventional: int
    #: extra rule: pairs whose first rows are within this are always matched (robust's plain rule)
    plain_threshold: int | None = None
    counts: dict[str, list[int]] = field(default_factory=lambda: {"list": [], "query": []})


def pdq_rows(vectors: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(vectors, dtype=np.uint8).reshape(-1, 256), axis=1)


def imagehash_rows(func: Callable[..., Any]) -> Callable[[np.ndarray], np.ndarray]:
    def rows(rgb: np.ndarray) -> np.ndarray:
        return np.packbits(func(Image.fromarray(rgb)).hash.ravel()).reshape(1, 8)

    return rows


def robust_rows(func: Callable[..., list[ocsea_match.Hash]]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rgb: ocsea_match.pack_hashes(func(rgb), "pdq")


def build_strategies() -> list[Strategy]:
    plain_pdq = lambda rgb: pdq_rows(pdqhash.compute(rgb)[0])  # noqa: E731
    return [
        Strategy("pHash", imagehash_rows(imagehash.phash), imagehash_rows(imagehash.phash), 10),
        Strategy("dHash", imagehash_rows(imagehash.dhash), imagehash_rows(imagehash.dhash), 10),
        Strategy("PDQ", plain_pdq, plain_pdq, 31),
        Strategy("PDQ-dihedral", plain_pdq, lambda rgb: pdq_rows(pdqhash.compute_dihedral(rgb)[0]), 31),
        Strategy("robust", robust_rows(robust.list_hashes), robust_rows(robust.query_hashes),
                 robust.THRESHOLD, plain_threshold=robust.PLAIN_THRESHOLD),
    ]


@dataclass
class Packed:
    """All pictures' rows stacked, with where each picture's rows start."""

    rows: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, per_picture: Sequence[np.ndarray]) -> Packed:
        sizes = [len(r) for r in per_picture]
        return cls(np.ascontiguousarray(np.concatenate(per_picture)), np.cumsum([0] + sizes[:-1]))


def score_matrix(s: Strategy, listed: Packed, queries: Packed) -> np.ndarray:
    """score[a, b]: the smallest distance between A's listed rows and T(B)'s query rows; -1
    where the strategy's plain rule already matches (robust: first rows within 31)."""
    d = ocsea_match.hamming_many_to_many(listed.rows, queries.rows, 1)
    best = np.minimum.reduceat(np.minimum.reduceat(d, listed.starts, axis=0), queries.starts, axis=1)
    if s.plain_threshold is not None:
        plain = d[np.ix_(listed.starts, queries.starts)]
        best = np.where(plain <= s.plain_threshold, -1, best)
    return best


# ------------------------------------------------------------------------------------------------
# Running the suite, calibrating, recall
# ------------------------------------------------------------------------------------------------


def load_pictures(paths: list[str], max_side: int) -> list[Image.Image]:
    pictures = []
    for path in paths:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        if max(rgb.size) > max_side:
            rgb = rgb.resize(_fit(rgb.size, max_side), Image.Resampling.LANCZOS)
        pictures.append(rgb)
    return pictures


def transformed(pictures: list[Image.Image], fn: Transform, seed: int, index: int) -> list[np.ndarray]:
    """One transform of every picture, each from its own generator (seed, transform, picture)."""
    return [np.asarray(fn(img, np.random.default_rng([seed, index, i])).convert("RGB"))
            for i, img in enumerate(pictures)]


def scores(strategies: list[Strategy], pictures: list[Image.Image], transforms: dict[str, Transform],
           seed: int) -> dict[str, dict[str, np.ndarray]]:
    """{strategy: {transform: score matrix}}; one transform's pictures in memory at a time."""
    originals = [np.asarray(img) for img in pictures]
    listed = {}
    for s in strategies:
        per_list = [s.list_rows(rgb) for rgb in originals]
        s.counts["list"] = [len(r) for r in per_list]
        listed[s.name] = Packed.of(per_list)
    out: dict[str, dict[str, np.ndarray]] = {s.name: {} for s in strategies}
    for index, (name, fn) in enumerate(transforms.items()):
        start = time.perf_counter()
        queries = transformed(pictures, fn, seed, index)
        for s in strategies:
            per_query = [s.query_rows(rgb) for rgb in queries]
            s.counts["query"] += [len(r) for r in per_query]
            out[s.name][name] = score_matrix(s, listed[s.name], Packed.of(per_query))
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return out


def negatives(matrix: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The scores of the different-picture pairs (A != B) that ``keep`` admits."""
    return matrix[keep & ~np.eye(len(matrix), dtype=bool)]


def pooled(matrices: dict[str, np.ndarray], names: Sequence[str], keep: np.ndarray) -> np.ndarray:
    return np.concatenate([negatives(matrices[name], keep) for name in names])


def calibrate(neg: np.ndarray, fpr: float) -> int:
    """The largest threshold whose false-positive rate on ``neg`` is at most ``fpr``."""
    allowed = int(np.floor(fpr * len(neg)))
    ordered = np.sort(neg)
    if allowed >= len(ordered):
        return int(ordered[-1])
    return int(ordered[allowed]) - 1  # every score under the (allowed+1)-th smallest is admissible


def recall(matrix: np.ndarray, threshold: int) -> float:
    return float((np.diag(matrix) <= threshold).mean())


def fpr_at(neg: np.ndarray, threshold: int) -> float:
    return float((neg <= threshold).mean())


def near_duplicates(pictures: list[Image.Image], within: int = 31) -> np.ndarray:
    """[a, b] is True where the untransformed pictures a != b are already within PDQ ``within``,
    either way round, counting the 8 rotations/flips: the folder's own near-duplicates (PDQ with
    its dihedral variants calls them the same picture; a mirrored render is one)."""
    plain = np.concatenate([pdq_rows(pdqhash.compute(np.asarray(img))[0]) for img in pictures])
    turned = np.concatenate([pdq_rows(pdqhash.compute_dihedral(np.asarray(img))[0]) for img in pictures])
    d = ocsea_match.hamming_many_to_many(plain, turned, 1).reshape(len(pictures), len(pictures), 8).min(axis=2)
    near = np.minimum(d, d.T) <= within
    np.fill_diagonal(near, False)
    return near


def closest_pairs(matrices: dict[str, np.ndarray], names: Sequence[str], keep: np.ndarray,
                  threshold: int, labels: list[str], most: int = 3) -> list[tuple[str, int]]:
    """The picture pairs behind the negatives within ``threshold + 2``: what sets the FPR point."""
    counts: dict[str, int] = {}
    for name in names:
        m = np.where(keep & ~np.eye(len(keep), dtype=bool), matrices[name], 999)
        for a, b in zip(*np.nonzero(m <= threshold + 2)):
            pair = " / ".join(sorted((labels[a], labels[b])))
            counts[pair] = counts.get(pair, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:most]


# ------------------------------------------------------------------------------------------------
# Cost: files per second on the files themselves
# ------------------------------------------------------------------------------------------------


def cost(paths: list[str]) -> dict[str, float]:
    """Files/s, decode included, fast mode, of plain PDQ, list_hashes and query_hashes."""
    contenders = {
        "hash_image(path, ['pdq'], mode='fast')": lambda p: ocsea_match.hash_image(p, ["pdq"], mode="fast"),
        "robust.list_hashes(path, mode='fast')": lambda p: robust.list_hashes(p, mode="fast"),
        "robust.query_hashes(path, mode='fast')": lambda p: robust.query_hashes(p, mode="fast"),
    }
    out = {}
    for label, fn in contenders.items():
        fn(paths[0])
        start = time.perf_counter()
        for p in paths:
            fn(p)
        out[label] = len(paths) / (time.perf_counter() - start)
    return out


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def print_table(title: str, strategies: list[Strategy], matrices: dict[str, dict[str, np.ndarray]],
                blocks: dict[str, Sequence[str]], thresholds: dict[str, int]) -> dict[str, dict[str, float]]:
    """Rows: transforms (a block each for the suite and the held-out variants, each with its mean);
    columns: strategies; cells: recall at the strategy's threshold."""
    print(f"\n{title}\n")
    print("| transform | " + " | ".join(s.name for s in strategies) + " |")
    print("|---|" + "---:|" * len(strategies))
    table: dict[str, dict[str, float]] = {s.name: {} for s in strategies}
    for b, (block, names) in enumerate(blocks.items()):
        if b:
            print(f"| *{block}* |" + " |" * len(strategies))
        for n in names:
            cells = [recall(matrices[s.name][n], thresholds[s.name]) for s in strategies]
            for s, cell in zip(strategies, cells):
                table[s.name][n] = cell
            print(f"| {n} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
        means = [float(np.mean([table[s.name][n] for n in names])) for s in strategies]
        for s, m in zip(strategies, means):
            table[s.name][f"mean {block}"] = m
        print(f"| **mean, {block}** | " + " | ".join(f"**{m:.2f}**" for m in means) + " |")
    return table


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    ap.add_argument("--seed", type=int, default=7, help="seed of the noise and the held-out parameters")
    ap.add_argument("--max-side", type=int, default=1024, help="the list's copy of each picture: long side")
    ap.add_argument("--limit", type=int, help="only the first N picture files (sorted by path)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--no-timing", action="store_true", help="skip the files/s measurement")
    return ap.parse_args()


def main() -> int:
    args = parse_args()
    paths, excluded = find_pictures(args.folder, args.limit) if args.folder.is_dir() else ([], [])
    if len(paths) < 2:
        print(f"need a folder with at least two pictures, got {args.folder}")
        return 2
    pictures = load_pictures(paths, args.max_side)
    n = len(paths)
    print(f"{n} pictures under {args.folder}, each reduced to at most {args.max_side} px (Lanczos): "
          f"the listed copy and what every transform starts from; seed {args.seed}.")
    if excluded:
        print(f"excluded (OpenCV or Pillow cannot open them): {excluded}")

    strategies = build_strategies()
    matrices = scores(strategies, pictures, {**SUITE, **HELD_OUT}, args.seed)
    labels = [Path(p).name for p in paths]
    suite, held_out = list(SUITE), list(HELD_OUT)
    every = np.ones((n, n), dtype=bool)
    near = near_duplicates(pictures)
    calibrations = {"all": every, "no-near-duplicates": ~near}
    n_neg = len(pooled(matrices[strategies[0].name], suite, every))
    report: dict[str, Any] = {"machine": machine(), "folder": str(args.folder), "pictures": n,
                              "max_side": args.max_side, "seed": args.seed, "negatives_suite": n_neg,
                              "near_duplicate_pairs": [[labels[a], labels[b]] for a, b in zip(*np.nonzero(np.triu(near)))],
                              "pdq_quality_under_50": [labels[i] for i, img in enumerate(pictures)
                                                        if pdqhash.compute(np.asarray(img))[1] < 50],
                              "strategies": {}}
    print(f"\nThe FPR {TARGET_FPR:g} point: calibrated per strategy on {n_neg:,} different-picture pairs "
          f"(original A vs transformed B, A != B, {len(suite)} suite transforms x {n} x {n - 1} pooled), "
          f"so at most {int(TARGET_FPR * n_neg)} false matches; the held-out negatives "
          f"({len(held_out) * n * (n - 1):,} pairs) only check it. {len(report['pdq_quality_under_50'])} pictures "
          f"have PDQ quality under 50 (flat; an index neither lists nor queries them): they count as misses.")
    pairs = report["near_duplicate_pairs"]
    print(f"Near-duplicate pairs in the folder (untransformed, PDQ with rotations/flips <= 31): {len(pairs)} "
          f"{[' / '.join(p) for p in pairs]}; the second calibration leaves their "
          f"{2 * len(pairs) * len(suite)} suite pairs out of the negatives.")
    print("\n| strategy | threshold @1e-4 | its FPR suite / held-out | without near-duplicates: threshold "
          "| FPR suite / held-out | conventional | its FPR suite / held-out | rows stored per picture "
          "| probes per query |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    thresholds: dict[str, dict[str, int]] = {c: {} for c in calibrations}
    for s in strategies:
        figures: dict[str, Any] = {"conventional": s.conventional, "plain_threshold": s.plain_threshold,
                                   "rows_per_listed": float(np.mean(s.counts["list"])),
                                   "probes_per_query": float(np.mean(s.counts["query"]))}
        for c, keep in calibrations.items():
            neg, neg_held = pooled(matrices[s.name], suite, keep), pooled(matrices[s.name], held_out, keep)
            t = thresholds[c][s.name] = calibrate(neg, TARGET_FPR)
            figures[c] = {"threshold": t, "fpr_suite": fpr_at(neg, t), "fpr_held_out": fpr_at(neg_held, t),
                          "conventional_fpr_suite": fpr_at(neg, s.conventional),
                          "conventional_fpr_held_out": fpr_at(neg_held, s.conventional),
                          "closest_negative_pairs": closest_pairs(matrices[s.name], suite, keep, t, labels)}
        report["strategies"][s.name] = figures
        a, b = figures["all"], figures["no-near-duplicates"]
        rule = f" (and plain <= {s.plain_threshold})" if s.plain_threshold is not None else ""
        print(f"| {s.name} | {a['threshold']}{rule} | {a['fpr_suite']:.1e} / {a['fpr_held_out']:.1e} "
              f"| {b['threshold']} | {b['fpr_suite']:.1e} / {b['fpr_held_out']:.1e} | {s.conventional}{rule} "
              f"| {a['conventional_fpr_suite']:.1e} / {a['conventional_fpr_held_out']:.1e} "
              f"| {figures['rows_per_listed']:.1f} | {figures['probes_per_query']:.1f} |")
    print("\nWhat sets each FPR 1e-4 point (picture pairs behind the negatives within threshold + 2, with counts):")
    for s in strategies:
        for c in calibrations:
            print(f"- {s.name}, {c}: {report['strategies'][s.name][c]['closest_negative_pairs']}")

    blocks = {"suite": suite, "held-out variants": held_out}
    report["recall_fpr_1e-4"] = print_table(
        f"Recall at FPR {TARGET_FPR:g} (all different-picture pairs as negatives; held-out variants: "
        "same thresholds, not tuned on)", strategies, matrices, blocks, thresholds["all"])
    report["recall_fpr_1e-4_no_near_duplicates"] = print_table(
        f"Recall at FPR {TARGET_FPR:g}, calibrated without the folder's near-duplicate pairs",
        strategies, matrices, blocks, thresholds["no-near-duplicates"])
    report["recall_conventional"] = print_table(
        "Recall at the conventional threshold (PDQ 31, pHash/dHash 10; robust: robust.THRESHOLD for any pair, "
        "31 for the plain pair)", strategies, matrices, blocks, {s.name: s.conventional for s in strategies})

    if not args.no_timing:
        report["cost"] = figures = cost(paths)
        base = next(iter(figures.values()))
        print(f"\nCost on the {n} files themselves (decode included, fast mode, one pass, one thread):\n")
        print("| call | files/s | vs plain PDQ |\n|---|---:|---:|")
        for label, rate in figures.items():
            print(f"| `{label}` | {rate:.1f} | {rate / base:.2f}x |")
        rows = report["strategies"]["robust"]
        print(f"\nIndex size: robust stores {rows['rows_per_listed']:.1f} PDQ rows per listed picture on average "
              f"({32 * rows['rows_per_listed']:.0f} bytes of hashes, against 32 for plain PDQ) and probes with "
              f"{rows['probes_per_query']:.1f} hashes per query (PDQ-dihedral: 8).")

    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
