#!/usr/bin/env python3
"""Time the PDQ kernel alone (luma, filter + decimation, whole hash) in milliseconds per megapixel.

    python benchmarks/pdq_kernel.py [--baseline OLD_CORE.so] [--repeat R] [--sizes 1500x1000,4000x3000]

The pictures are synthetic (smooth gradients plus noise, made here), already decoded: this is
the kernel's cost, not the decoder's. One thread. With ``--baseline`` a second build of
``ocsea_match._core`` (e.g. a copy of the ``.so`` before a change) is loaded from that file and
timed in the same run, on the same pixels, and its hashes, quality and 64x64 pictures are
compared with this build's: any difference is printed and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from ocsea_match import _core


def load_core(path: str) -> ModuleType:
    """Another build of the native core, loaded from its file (its init function is PyInit__core)."""
    spec = importlib.util.spec_from_file_location("_core", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def picture(height: int, width: int, seed: int = 20240601) -> np.ndarray:
    """A photo-like RGB picture: smooth gradients plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 127 + 60 * np.sin(x / 97.0) * np.cos(y / 53.0)
    noise = rng.normal(0, 12, size=(height, width, 3)).astype(np.float32)
    return np.clip(base[..., None] + noise, 0, 255).astype(np.uint8)


def best_ms(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """Best time of each function in ms; the functions take turns, so that a change in the
    machine's load (it is shared) hits them alike."""
    for fn in fns:
        fn()  # warm-up
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return [1000 * b for b in best]


def stages(core: ModuleType, rgb: np.ndarray) -> dict[str, Callable[[], Any]]:
    luma = core.luma_from_rgb(rgb)
    return {
        "luma": lambda: core.luma_from_rgb(rgb),
        "filter+decimate": lambda: core.pdq_downsample(luma, False),
        "pdq from luma": lambda: core.pdq_from_luma(luma),
        "luma + pdq": lambda: core.pdq_from_luma(core.luma_from_rgb(rgb), inplace=True),
    }


def same_results(a: ModuleType, b: ModuleType, rgb: np.ndarray) -> list[str]:
    """What differs between two builds on one picture (luma, 64x64, hash, dihedral, quality)."""
    diffs = []
    la, lb = a.luma_from_rgb(rgb), b.luma_from_rgb(rgb)
    if not np.array_equal(la, lb):
        diffs.append("luma")
    if not np.array_equal(a.luma_from_rgb(rgb, True), b.luma_from_rgb(rgb, True)):
        diffs.append("luma (bgr)")
    if not np.array_equal(a.pdq_downsample(la, False), b.pdq_downsample(la, False)):
        diffs.append("64x64")
    for dihedral in (False, True):
        ha, qa = a.pdq_from_luma(la, dihedral=dihedral)
        hb, qb = b.pdq_from_luma(la, dihedral=dihedral)
        if not np.array_equal(ha, hb) or qa != qb:
            diffs.append(f"hash (dihedral={dihedral})")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", help="another build of _core (.so) to time and compare in the same run")
    ap.add_argument("--repeat", type=int, default=10, help="timed calls per stage; the best is kept")
    ap.add_argument("--sizes", default="1500x1000,4000x3000", help="WIDTHxHEIGHT,...")
    args = ap.parse_args()
    builds = {"this build": _core}
    if args.baseline:
        builds = {"baseline": load_core(args.baseline), **builds}
    status = 0
    print("| picture | stage | " + " | ".join(f"{name} ms/MP" for name in builds) + " |")
    print("|---|---|" + "---:|" * len(builds))
    for size in args.sizes.split(","):
        width, height = map(int, size.lower().split("x"))
        rgb = picture(height, width)
        mp = width * height / 1e6
        per_build = {name: stages(core, rgb) for name, core in builds.items()}
        for stage in per_build["this build"]:
            times = best_ms([per_build[name][stage] for name in builds], args.repeat)
            cells = [f"{ms / mp:.2f}" for ms in times]
            print(f"| {size} | {stage} | " + " | ".join(cells) + " |")
        if args.baseline:
            diffs = same_results(builds["baseline"], _core, rgb)
            if diffs:
                status = 1
            print(f"  {size}: {'DIFFERENT ' + ', '.join(diffs) if diffs else 'bit-identical to the baseline'}",
                  file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
