"""Scan throughput next to the floor of reading and crypto-hashing the same folder.

    python benchmarks/scan_bench.py ../shared/corpus [--repeat 3] [--json out.json]

Runs, one after the other on the same folder, best of ``--repeat``: ``sha256sum`` over every file
(one process), ``hashdeep -r`` (MD5+SHA-256, its default threads, when installed; Debian package
``hashdeep``), and ``ocsea-match scan`` (MD5+SHA-1+SHA-256, PDQ, case outputs) with ``--jobs 1``
and ``--jobs 2``. Prints files/s, MB/s and each one's time as a multiple of ``sha256sum``'s. The
page cache is warm after the first pass, so the figures are CPU cost, not disk speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _files(folder: Path) -> list[str]:
    out = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        out += [os.path.join(root, n) for n in sorted(names) if os.path.isfile(os.path.join(root, n))]
    return out


def _timed(command: list[str], repeat: int, before: callable | None = None) -> float:  # type: ignore[valid-type]
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = _files(args.folder)
    total = sum(os.path.getsize(f) for f in files)
    print(f"{args.folder}: {len(files)} files, {total / 1e6:.1f} MB; best of {args.repeat}")
    subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=False)  # warm the page cache
    rows: list[tuple[str, float]] = []
    rows.append(("sha256sum", _timed(["sha256sum", *files], args.repeat)))
    if shutil.which("hashdeep"):
        rows.append(("hashdeep -r (md5,sha256)", _timed(["hashdeep", "-r", str(args.folder)], args.repeat)))
    else:
        print("hashdeep is not installed (Debian: apt-get install hashdeep): its row is left out")
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            case = Path(tmp) / f"case{jobs}"
            command = [sys.executable, "-m", "ocsea_match", "scan", str(args.folder), "-o", str(case),
                       "--jobs", str(jobs), "--quiet"]
            rows.append((f"ocsea-match scan --jobs {jobs} (md5,sha1,sha256,pdq)",
                         _timed(command, args.repeat, before=lambda c=case: shutil.rmtree(c, ignore_errors=True))))
    floor = rows[0][1]
    print(f"{'tool':44} {'seconds':>8} {'files/s':>9} {'MB/s':>8} {'x sha256sum time':>17}")
    results = []
    for name, seconds in rows:
        print(f"{name:44} {seconds:8.2f} {len(files) / seconds:9.1f} {total / 1e6 / seconds:8.1f} {seconds / floor:17.1f}")
        results.append({"tool": name, "seconds": seconds, "files_per_second": len(files) / seconds,
                        "mb_per_second": total / 1e6 / seconds})
    print("(ocsea-match's times include starting Python and its imports, ~1 s, and writing the case folder)")
    if args.json:
        args.json.write_text(json.dumps({"files": len(files), "bytes": total, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
