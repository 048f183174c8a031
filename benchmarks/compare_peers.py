#!/usr/bin/env python3
"""Throughput of ocsea_match against its peers (pdqhash, imagehash), decode included.

    python benchmarks/compare_peers.py [FOLDER] [--limit N] [--repeat R] [--json OUT]
                                       [--jobs-scaling] [--memory] [--small-mp MP] [--profile]

Every picture file under FOLDER (recursively) is hashed by every contender, one after the other,
in this one process with one thread each. Each row is warmed up once on the first file, then
timed over all the files with time.perf_counter; the best of --repeat passes is kept. The same
run then does it again on a small-pictures set it makes from those files (each scaled to about
--small-mp megapixels in a temporary folder; 0: skip). A floor row times Pillow decoding each
file at its draft size, no hash. ``--profile``: time per stage of a file record instead
(stages.py). See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import os

# One thread each: set before numpy / OpenCV / BLAS are imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import imagehash
import numpy as np
import pdqhash
import PIL
import scipy.fftpack  # noqa: F401 - imagehash.phash imports it lazily; keep that out of the timings
from jobs_scaling import describe, jobs_scaling, warm_jobs1
from peak_memory import MEMORY_CASES, largest_jpeg, memory
from PIL import Image
from stages import FLOOR_LABEL, draft_decode, make_small_set, print_goals, print_profile, profile, small_set_folder

import ocsea_match

cv2.setNumThreads(1)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = REPO.parent / "shared" / "corpus" / "images"
PDQ_PEER = "peer pdqhash (cv2 decode)"
IMAGEHASH_FUNCS: dict[str, Callable[..., Any]] = {
    "phash": imagehash.phash,
    "dhash": imagehash.dhash,
    "ahash": imagehash.average_hash,
    "whash": imagehash.whash,
}

Hasher = Callable[[str], str]  # path -> hex


@dataclass
class Row:
    label: str
    fn: Hasher
    baseline: str | None = None  # label of the row this one is compared to
    seconds: float = float("nan")
    outputs: list[str] = field(default_factory=list)
    error: str | None = None


# ------------------------------------------------------------------------------------------------
# Contenders: each takes a path, decodes and hashes, returns a hex string
# ------------------------------------------------------------------------------------------------


def pdq_hex(vector: np.ndarray) -> str:
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def peer_pdqhash(path: str) -> str:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    vector, _quality = pdqhash.compute(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return pdq_hex(vector)


def peer_imagehash(name: str) -> Hasher:
    func = IMAGEHASH_FUNCS[name]

    def run(path: str) -> str:
        with Image.open(path) as img:
            return str(func(img))

    return run


def ours(name: str, mode: str) -> Hasher:
    return lambda path: ocsea_match.hash_image(path, [name], mode=mode)[name].hex


def ours_all_in_one(path: str) -> str:
    record = ocsea_match.hash_file(path, ["pdq", "phash"], mode="fast")
    if record["status"] != "ok":
        raise RuntimeError(f"{path}: {record['error']}")
    return record["hashes"]["pdq"]["hex"]


def perception_rows() -> list[Row]:
    try:
        from perception import hashers  # type: ignore[import-not-found]
    except ImportError:
        print("perception: not importable, skipped")
        return []
    pdq, phash = hashers.PDQHash(), hashers.PHash()
    return [
        Row("peer perception PDQ", lambda p: pdq.compute(p, hash_format="hex"), PDQ_PEER),
        Row("peer perception pHash", lambda p: phash.compute(p, hash_format="hex"), "peer imagehash phash"),
    ]


def build_rows() -> list[Row]:
    rows = [
        Row(PDQ_PEER, peer_pdqhash),
        Row("ours PDQ exact", ours("pdq", "exact"), PDQ_PEER),
        Row("ours PDQ fast", ours("pdq", "fast"), PDQ_PEER),
    ]
    for name in IMAGEHASH_FUNCS:
        peer = f"peer imagehash {name}"
        rows.append(Row(peer, peer_imagehash(name)))
        rows.append(Row(f"ours {name} exact", ours(name, "exact"), peer))
        rows.append(Row(f"ours {name} fast", ours(name, "fast"), peer))
    rows.append(Row("ours all-in-one: pdq+phash fast + md5/sha1/sha256", ours_all_in_one, PDQ_PEER))
    rows.append(Row(FLOOR_LABEL, draft_decode))
    return rows + perception_rows()


# ------------------------------------------------------------------------------------------------
# Files, timing
# ------------------------------------------------------------------------------------------------


def find_pictures(folder: Path, limit: int | None) -> tuple[list[str], list[str]]:
    """Picture files (by magic number) that both OpenCV and Pillow can open; and the others."""
    picked: list[str] = []
    excluded: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as f:
            if ocsea_match.sniff(f.read(32))[0] != "image":
                continue
        try:
            with Image.open(path):
                pass
            readable = cv2.haveImageReader(str(path))
        except Exception:  # noqa: BLE001
            readable = False
        (picked if readable else excluded).append(str(path))
    return picked[:limit] if limit else picked, excluded


def describe_files(paths: list[str]) -> dict[str, Any]:
    """Counts by format, bytes and megapixels; reading every file also warms the page cache."""
    formats: Counter[str] = Counter()
    total_bytes = 0
    megapixels = 0.0
    for path in paths:
        total_bytes += len(Path(path).read_bytes())
        with Image.open(path) as img:
            formats[img.format or "?"] += 1
            megapixels += img.width * img.height / 1e6
    return {"files": len(paths), "formats": dict(formats), "bytes": total_bytes, "megapixels": megapixels}


def time_row(row: Row, paths: list[str], repeat: int) -> None:
    try:
        row.fn(paths[0])  # warm-up
        for _ in range(repeat):
            outputs = []
            start = time.perf_counter()
            for path in paths:
                outputs.append(row.fn(path))
            elapsed = time.perf_counter() - start
            if not elapsed >= row.seconds:  # also true while row.seconds is nan
                row.seconds, row.outputs = elapsed, outputs
    except Exception as exc:  # noqa: BLE001 - report the row as failed, keep going
        row.error = f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------------------------
# Drift, correctness
# ------------------------------------------------------------------------------------------------


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def distance_stats(a: list[str], b: list[str]) -> dict[str, float]:
    d = np.array([hamming(x, y) for x, y in zip(a, b)], dtype=np.float64)
    p50, p90, p99 = np.percentile(d, [50, 90, 99])
    return {"files": len(d), "nonzero": int((d > 0).sum()), "mean": float(d.mean()),
            "p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(d.max())}


def cross_check(paths: list[str]) -> dict[str, list[str]]:
    """Files where our exact hash differs from the peer's on the very same decoded pixels."""
    mismatches: dict[str, list[str]] = {"pdq": [], **{name: [] for name in IMAGEHASH_FUNCS}}
    for path in paths:
        with Image.open(path) as img:
            img.load()
            rgb = np.asarray(img.convert("RGB"))
            if ocsea_match.hash_image(rgb, ["pdq"])["pdq"].hex != pdq_hex(pdqhash.compute(rgb)[0]):
                mismatches["pdq"].append(path)
            mine = ocsea_match.hash_image(img, list(IMAGEHASH_FUNCS))
            for name, func in IMAGEHASH_FUNCS.items():
                if mine[name].hex != str(func(img)):
                    mismatches[name].append(path)
    return mismatches


# ------------------------------------------------------------------------------------------------
# Process pool scaling (memory: peak_memory.py)
# ------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision() -> str:
    """The repository's commit, and whether the working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
        return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes in src/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    return {
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "Pillow": PIL.__version__,
        "OpenCV": cv2.__version__,
        "pdqhash": version("pdqhash"),
        "imagehash": imagehash.__version__,
        "ocsea_match": f"{ocsea_match.__version__} (git {git_revision()})",
    }


def print_table(rows: list[Row], n_files: int) -> None:
    by_label = {r.label: r for r in rows}
    print("| Contender | files/s | ms/file | vs | ratio |")
    print("|---|---:|---:|---|---:|")
    for r in rows:
        if r.error:
            print(f"| {r.label} | failed: {r.error} | | | |")
            continue
        ratio, vs = "", ""
        if r.baseline and not by_label[r.baseline].error:
            ratio = f"{by_label[r.baseline].seconds / r.seconds:.2f}x"
            vs = r.baseline
        print(f"| {r.label} | {n_files / r.seconds:.1f} | {1000 * r.seconds / n_files:.1f} | {vs} | {ratio} |")


def print_drift(rows: list[Row]) -> dict[str, Any]:
    by_label = {r.label: r for r in rows if not r.error}
    pairs = {
        "pdq fast vs exact": ("ours PDQ exact", "ours PDQ fast"),
        "phash fast vs exact": ("ours phash exact", "ours phash fast"),
        "pdq ours exact (Pillow decode) vs pdqhash (OpenCV decode)": ("ours PDQ exact", PDQ_PEER),
    }
    stats = {}
    print("\n| Hamming distance, bits | files | differ | mean | p50 | p90 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for title, (a, b) in pairs.items():
        if a in by_label and b in by_label:
            s = stats[title] = distance_stats(by_label[a].outputs, by_label[b].outputs)
            print(f"| {title} | {s['files']} | {s['nonzero']} | {s['mean']:.2f} | {s['p50']:.0f} "
                  f"| {s['p90']:.0f} | {s['p99']:.1f} | {s['max']:.0f} |")
    return stats


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER if DEFAULT_FOLDER.is_dir() else None)
    ap.add_argument("--limit", type=int, help="only the first N picture files (sorted by path)")
    ap.add_argument("--repeat", type=int, default=1, help="timed passes per row; the best is kept")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--jobs-scaling", action="store_true", help="hash_files jobs=1 vs jobs=2")
    ap.add_argument("--memory", action="store_true", help="peak RSS on the largest JPEG")
    ap.add_argument("--small-mp", type=float, default=0.3, help="megapixels of the small set made from the files (0: none)")
    ap.add_argument("--profile", action="store_true", help="time per stage of a file record, not the peers")
    ap.add_argument("--mode", choices=("fast", "exact"), default="fast", help="--profile's decoding mode")
    args = ap.parse_args()
    if args.folder is None or not args.folder.is_dir():
        ap.error("give a FOLDER of pictures")
    return args


def run_set(title: str, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Every contender on one set of files: throughput, drift, cross-check, the issue's ratios."""
    files = describe_files(paths)
    report: dict[str, Any] = {"files": files}
    print(f"\n## {title}\n\n{files['files']} pictures ({files['formats']}), {files['bytes'] / 1e6:.1f} MB, "
          f"{files['megapixels']:.0f} megapixels in all ({files['megapixels'] / files['files']:.2f} per file); "
          f"best of {args.repeat} pass(es); decode included; one process, one thread.")
    rows = build_rows()
    for row in rows:
        time_row(row, paths, args.repeat)
        print(f"  timed {row.label}: {row.error or f'{row.seconds:.2f} s'}", file=sys.stderr)
    print("\n### Throughput\n")
    print_table(rows, len(paths))
    report["rows"] = [{"label": r.label, "seconds": r.seconds, "files_per_s": len(paths) / r.seconds,
                       "baseline": r.baseline, "error": r.error} for r in rows]
    report["ratios"] = print_goals(title, {r.label: r.seconds for r in rows if not r.error}, len(paths))
    print("\n### Drift and decoder differences")
    report["drift"] = print_drift(rows)
    mismatches = report["cross_check"] = cross_check(paths)
    counts = ", ".join(f"{name} {len(m)}" for name, m in mismatches.items())
    print(f"\nCross-check, same decoded pixels (Pillow), files where ours exact != peer "
          f"(pdq vs pdqhash, others vs imagehash), out of {len(paths)}: {counts}")
    for name, m in mismatches.items():
        if m:
            print(f"  {name} mismatches: {[os.path.basename(p) for p in m[:10]]}")
    return report


def main() -> int:
    args = parse_args()
    paths, excluded = find_pictures(args.folder, args.limit)
    if not paths:
        print(f"no picture files under {args.folder}")
        return 1
    report: dict[str, Any] = {"machine": machine(), "folder": str(args.folder)}
    print("## Machine\n")
    for key, value in report["machine"].items():
        print(f"- {key}: {value}")
    print(f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine may be shared)")
    if excluded:
        print(f"excluded (OpenCV or Pillow cannot open them): {excluded}")
    with small_set_folder() as tmp:
        small = make_small_set(paths, args.small_mp, Path(tmp)) if args.small_mp > 0 else []
        sets = {f"{args.folder}": paths}
        if small:
            sets[f"small set: the same files scaled to ~{args.small_mp} MP"] = small
        if args.profile:
            for title, files in sets.items():
                print_profile(f"{title}, mode {args.mode}", files, profile(files, args.mode, args.repeat))
            return 0
        report["sets"] = {title: run_set(title, files, args) for title, files in sets.items()}

    if args.jobs_scaling:
        s = report["jobs_scaling"] = jobs_scaling(paths, args.repeat, warm_jobs1(paths))
        print(f"\n## Process pool\n\nlist(hash_files(paths, ['pdq', 'phash'], mode='fast')) (jobs_scaling.py): "
              f"{describe(s)}")
    if args.memory:
        biggest = largest_jpeg(paths)
        if biggest:
            with Image.open(biggest) as img:
                size = f"{img.width}x{img.height}"
            m = report["memory"] = memory(biggest)
            print(f"\n## Memory\n\nPeak RSS minus RSS after imports, fresh interpreter, "
                  f"largest JPEG {os.path.basename(biggest)} ({size}):\n")
            print("| Case | MB over imports | peak RSS after imports, MB |\n|---|---:|---:|")
            for label in MEMORY_CASES.values():
                print(f"| {label} | {m[label]:.0f} | {m[f'{label} (RSS after imports)']:.0f} |")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
