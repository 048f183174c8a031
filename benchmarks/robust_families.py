"""Randomised families of edits for benchmarks/robustness.py: every parameter drawn from a seed.

Each family is ``fn(picture, rng) -> picture`` (PIL RGB in, PIL RGB out): crop amounts and sides,
angles, paddings, captions, screenshot layouts (UI bars, a chat bubble, a coloured theme around
the picture, drawn with Pillow) come from ``rng``, so every draw is a crop, angle or layout the
matcher was not tuned on. Nothing here resembles anything but benign edits of benign pictures.

>>> from robust_families import FAMILIES
>>> edited = FAMILIES["crop anywhere 0-25%"](picture, np.random.default_rng(1))  # doctest: +SKIP
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

Family = Callable[[Image.Image, np.random.Generator], Image.Image]
Colour = tuple[int, int, int]

CAPTIONS = ("when the weekend finally arrives", "Reposted from @someone_else", "source: a friend",
            "no words needed...", "via the group chat", "2,431 likes  ·  118 comments", "look at this",
            "Saved from the archive", "ok this is the best one", "#tbt")


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _jpeg(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return jpeg(img, int(rng.integers(60, 95)))


def colour(rng: np.random.Generator) -> Colour:
    return tuple(int(c) for c in rng.integers(0, 256, 3))  # type: ignore[return-value]


def contrasting(c: Colour) -> Colour:
    return (0, 0, 0) if sum(c) > 384 else (255, 255, 255)


def write(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: float, ink: Colour) -> None:
    draw.text(xy, text, fill=ink, font=ImageFont.load_default(size=max(8, round(size))))


def cuts(rng: np.random.Generator, high: float = 0.25) -> list[float]:
    """(top, bottom, left, right) shares: one to four random sides, each cut 0..high."""
    out = [0.0] * 4
    for side in rng.permutation(4)[: rng.integers(1, 5)]:
        out[side] = float(rng.uniform(0.0, high))
    return out


def crop_sides(img: Image.Image, top: float, bottom: float, left: float, right: float) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def pad_sides(img: Image.Image, widths: list[float], fill: Colour) -> Image.Image:
    w, h = img.size
    top, bottom = round(h * widths[0]), round(h * widths[1])
    left, right = round(w * widths[2]), round(w * widths[3])
    canvas = Image.new("RGB", (w + left + right, h + top + bottom), fill)
    canvas.paste(img, (left, top))
    return canvas


def caption(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A caption strip of random colour and height added above or below, or a banner laid over."""
    fill = colour(rng)
    share = float(rng.uniform(0.08, 0.25))
    w, h = img.size
    strip = round(h * share)
    if rng.random() < 0.6:
        above = bool(rng.random() < 0.5)
        out = pad_sides(img, [share, 0.0, 0.0, 0.0] if above else [0.0, share, 0.0, 0.0], fill)
        y0 = 0 if above else h
    else:
        out, strip = img.copy(), round(h * share * 0.7)
        y0 = 0 if rng.random() < 0.5 else h - strip
        ImageDraw.Draw(out).rectangle((0, y0, w, y0 + strip), fill=fill)
    write(ImageDraw.Draw(out), (0.04 * w, y0 + 0.2 * strip), str(rng.choice(CAPTIONS)), 0.45 * strip, contrasting(fill))
    return out


def tilt(img: Image.Image, degrees: float, fill: Colour) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def tilt_cropped(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Turned 1-6 degrees either way, the largest centred upright rectangle kept, then cut 0-10% more."""
    degrees = float(rng.uniform(1, 6)) * float(rng.choice([-1, 1]))
    w, h = img.size
    turned = img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    s, c = abs(np.sin(np.radians(degrees))), np.cos(np.radians(degrees))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    cw, ch = w * scale, h * scale
    inner = turned.crop((round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2)))
    return _jpeg(crop_sides(inner, *cuts(rng, 0.10)), rng)


def screenshot(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The picture shown in a phone chat or a desktop window: status bar, header, a theme colour
    (sometimes the picture's own mean colour), a message bubble with text, a text field."""
    theme = colour(rng) if rng.random() < 0.4 else (
        tuple(int(c) for c in np.asarray(img).reshape(-1, 3).mean(axis=0)) if rng.random() < 0.5
        else ((18, 18, 18) if rng.random() < 0.5 else (236, 229, 221)))
    ink = contrasting(theme)  # type: ignore[arg-type]
    phone = rng.random() < 0.7
    cw = int(rng.integers(600, 900)) if phone else int(rng.integers(1100, 1600))
    ch = round(cw * float(rng.uniform(1.6, 2.1))) if phone else round(cw * float(rng.uniform(0.55, 0.75)))
    canvas = Image.new("RGB", (cw, ch), theme)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(canvas)
    status = round(ch * float(rng.uniform(0.02, 0.04)))
    draw.rectangle((0, 0, cw, status), fill=(0, 0, 0))
    write(draw, (0.04 * cw, status * 0.15), "21:14", status * 0.7, (255, 255, 255))
    header = status + round(ch * float(rng.uniform(0.04, 0.08)))
    bar = colour(rng)
    draw.rectangle((0, status, cw, header), fill=bar)
    write(draw, (0.15 * cw, status + (header - status) * 0.3), "Family group", (header - status) * 0.4, contrasting(bar))
    left = 0 if phone else round(cw * float(rng.uniform(0.15, 0.3)))  # a desktop's side panel
    if left:
        draw.rectangle((0, header, left, ch), fill=colour(rng))
    room_w, room_h = cw - left, ch - header - round(0.1 * ch)
    shown_w = round(room_w * float(rng.uniform(0.55, 0.85)))
    shown_h = round(shown_w * img.height / img.width)
    if shown_h > 0.65 * room_h:
        shown_h = round(0.65 * room_h)
        shown_w = round(shown_h * img.width / img.height)
    margin = round(room_w * float(rng.uniform(0.03, 0.08)))
    x = left + (margin if rng.random() < 0.5 else room_w - shown_w - margin)
    y = header + round(room_h * float(rng.uniform(0.05, 0.25)))
    pad = int(rng.integers(4, 16))
    bubble = colour(rng) if rng.random() < 0.5 else (255, 255, 255)
    draw.rounded_rectangle((x - pad, y - pad, x + shown_w + pad, y + shown_h + 50), int(rng.integers(6, 20)), fill=bubble)
    canvas.paste(img.resize((shown_w, shown_h), Image.Resampling.LANCZOS), (x, y))
    write(draw, (x, y + shown_h + 12), str(rng.choice(CAPTIONS)), 22, contrasting(bubble))
    write(draw, (left + 0.05 * room_w, header + 0.02 * ch), "Yesterday", 20, ink)
    field = ch - round(0.07 * ch)
    draw.rounded_rectangle((left + 10, field, cw - 10, ch - 10), 20, fill=(250, 250, 250))
    write(draw, (left + 30, field + 10), "Message", 24, (120, 120, 120))
    return jpeg(canvas, int(rng.integers(70, 92)))


def photometric(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    out = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.7, 1.3)))
    out = ImageEnhance.Contrast(out).enhance(float(rng.uniform(0.7, 1.3)))
    if rng.random() < 0.5:
        out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
    side = int(rng.integers(250, 1024))
    scale = side / max(out.size)
    out = out.resize((max(1, round(out.width * scale)), max(1, round(out.height * scale))), Image.Resampling.BILINEAR)
    return jpeg(out, int(rng.integers(30, 90)))


_TURNS = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)
_FLIPS = (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.TRANSPOSE,
          Image.Transpose.TRANSVERSE)

FAMILIES: dict[str, Family] = {
    "crop anywhere 0-25%": lambda img, rng: _jpeg(crop_sides(img, *cuts(rng)), rng),
    "mirror + crop 0-25%": lambda img, rng: _jpeg(crop_sides(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), *cuts(rng)), rng),
    "crop 0-15% + caption": lambda img, rng: _jpeg(caption(crop_sides(img, *cuts(rng, 0.15)), rng), rng),
    "rotate 90/180/270": lambda img, rng: _jpeg(img.transpose(_TURNS[int(rng.integers(3))]), rng),
    "mirror / flip": lambda img, rng: _jpeg(img.transpose(_FLIPS[int(rng.integers(4))]), rng),
    "tilt 1-10 deg on a canvas": lambda img, rng: _jpeg(
        tilt(img, float(rng.uniform(1, 10)) * float(rng.choice([-1, 1])), colour(rng)), rng),
    "tilt 1-6 deg, cropped": tilt_cropped,
    "padding, any sides and colour": lambda img, rng: _jpeg(pad_sides(img, cuts(rng, 0.3), colour(rng)), rng),
    "caption or banner": lambda img, rng: _jpeg(caption(img, rng), rng),
    "screenshot (chat, window)": screenshot,
    "photometric + resize + jpeg": photometric,
}
