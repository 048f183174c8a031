"""Make the small, benign example pictures in examples/images (deterministic; run from the root).

    python examples/make_examples.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).parent / "images"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(2026)
    y, x = np.mgrid[0:240, 0:320]
    gradient = np.stack([x * 255 // 319, y * 255 // 239, (x + y) * 255 // 558], axis=2).astype(np.uint8)
    Image.fromarray(gradient).save(OUT / "gradient.png")

    shapes = Image.new("RGB", (640, 480), (30, 60, 110))
    draw = ImageDraw.Draw(shapes)
    draw.ellipse((60, 60, 300, 300), fill=(240, 200, 40))
    draw.rectangle((340, 120, 600, 420), fill=(200, 60, 60))
    draw.polygon([(80, 440), (200, 330), (320, 440)], fill=(60, 180, 90))
    shapes.save(OUT / "shapes.jpg", quality=90)
    shapes.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((320, 240)).save(OUT / "shapes-small-mirrored.jpg", quality=75)

    texture = rng.normal(128, 40, (200, 300)).clip(0, 255).astype(np.uint8)
    texture = np.asarray(Image.fromarray(texture).resize((600, 400), Image.Resampling.BICUBIC))
    Image.fromarray(texture).save(OUT / "texture.webp", quality=80)

    rings = np.hypot(*(np.mgrid[-128:128, -128:128])).astype(np.float64)
    Image.fromarray((127 + 127 * np.sin(rings / 6)).astype(np.uint8)).convert("P").save(OUT / "rings.gif")


if __name__ == "__main__":
    main()
