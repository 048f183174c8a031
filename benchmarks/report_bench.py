"""Case report on a large synthetic case: wall time and peak memory of rendering it.

    python benchmarks/report_bench.py [--records 1000000] [--matches 100000] [--dir /tmp/report-bench]
                                      [--keep] [--no-browser] [--tracemalloc]

Writes a synthetic case folder (records.jsonl of ``--records`` records shaped like a scan's, of
which files with ``--matches`` match rows; skipped and failed files; mtimes over ten years;
provenance.json, summary.json, SHA256SUMS), then renders its report in a fresh child process
(so its peak RSS is the rendering's alone, ``ru_maxrss`` of the child) and prints wall time,
peak memory, the report's size and the number of split pages. Where Chromium is installed it also
times a headless screenshot of the report and of one split page (how long a browser takes to open
and lay them out). Nothing here is real evidence: names and hashes are generated.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STATUS_MIX = [("ok", 0.85), ("skipped", 0.11), ("error", 0.04)]
SKIPS = ["not-media", "known-good", "too-large", "symlink"]
ERRORS = ["corrupt", "empty-file", "unreadable", "decompression-bomb"]
LISTS = [("national_list", ["1", "2", "3"]), ("partner_hotline", ["A", "B", None]), ("case_2023_0042", [None])]


def _record(i: int, rng: random.Random, match_files: set[int], double: set[int]) -> dict:
    digest = hashlib.sha256(i.to_bytes(8, "little")).hexdigest()
    r = rng.random()
    status = "ok" if r < STATUS_MIX[0][1] else "skipped" if r < STATUS_MIX[0][1] + STATUS_MIX[1][1] else "error"
    if i in match_files:
        status = "ok"
    folder = f"/mnt/evidence/user{i % 7}/Pictures/{i // 1000:04d}"
    name = f"IMG_{i:07d}.jpg" if status != "skipped" else f"document_{i:07d}.txt"
    record = {"path": f"{folder}/{name}", "size": 20_000 + (i * 7919) % 4_000_000, "md5": digest[:32],
              "sha1": digest[:40], "sha256": digest, "media_type": "image" if status == "ok" else "other",
              "format": "JPEG" if status == "ok" else None, "status": status, "error": None,
              "hashes": {}, "mtime": f"{2015 + i % 10}-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00.000000000Z"}
    if status == "ok":
        record["hashes"] = {"pdq": {"hex": (digest * 2)[:64], "quality": 100}}
        record["width"], record["height"] = 4032, 3024
    elif status == "skipped":
        record["error"] = {"code": SKIPS[i % len(SKIPS)], "message": "synthetic skip reason"}
    else:
        record["error"] = {"code": ERRORS[i % len(ERRORS)], "message": "synthetic error message"}
    matches = []
    if i in match_files:
        for k in range(1 + (i in double)):  # a quarter of the matched files match two entries
            name_, categories = LISTS[(i + k) % len(LISTS)]
            matches.append({"list": name_, "entry_id": f"E{(i * 31 + k) % 10**7:07d}",
                            "category": categories[i % len(categories)], "algorithm": "pdq",
                            "distance": (i + k) % 32, "threshold": 31})
    record["matches"] = matches
    return record


def write_case(case: Path, records: int, match_rows: int, seed: int = 7) -> int:
    """The synthetic case folder; returns the match rows written."""
    from ocsea_match.files import file_sha256
    from ocsea_match.scanning.case import summarize
    from ocsea_match.scanning.journal import read_records

    rng = random.Random(seed)
    files = round(match_rows / 1.25)  # 1 in 4 matched files has 2 matches
    match_files = set(rng.sample(range(records), files))
    double = set(sorted(match_files)[: match_rows - files])
    written = 0
    case.mkdir(parents=True, exist_ok=True)
    with open(case / "records.jsonl", "w", encoding="utf-8") as f:
        for i in range(records):
            record = _record(i, rng, match_files, double)
            written += len(record["matches"])
            f.write(json.dumps(record) + "\n")
    provenance = {"tool": "ocsea-match", "versions": {"ocsea-match": "synthetic"}, "python": sys.version.split()[0],
                  "platform": "synthetic", "host": "bench", "command_line": "report_bench.py (synthetic case)",
                  "working_directory": "/", "case_dir": str(case), "sources": ["/mnt/evidence"],
                  "parameters": {"algorithms": ["pdq"], "mode": "fast", "dialects": False,
                                 "thresholds": {"pdq": 31}, "pdq_quality_floor": 50},
                  "lists": [{"path": f"/lists/{n}.csv", "sha256": "0" * 64, "name": n, "format": "pdq-csv",
                             "loaded": 1_000_000, "problems": 0, "notes": []} for n, _ in LISTS],
                  "known_good": [], "index_dir": None,
                  "runs": [{"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T05:00:00Z", "resumed": False,
                            "files_done_before": 0, "jobs": 2, "interrupted": True},
                           {"start": "2026-01-01T06:00:00Z", "end": "2026-01-01T09:00:00Z", "resumed": True,
                            "files_done_before": records // 2, "jobs": 2, "interrupted": False}]}
    (case / "provenance.json").write_text(json.dumps(provenance, indent=1))
    summary = summarize(read_records(case / "records.jsonl"))
    (case / "summary.json").write_text(json.dumps(summary, indent=1))
    names = ["records.jsonl", "summary.json", "provenance.json"]
    (case / "SHA256SUMS").write_text("".join(f"{file_sha256(case / n)}  {n}\n" for n in names))
    return written


_CHILD = """
import resource, sys, time, tracemalloc
from ocsea_match import write_report
imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[3] == "trace":
    tracemalloc.start()
t = time.perf_counter()
files = write_report(sys.argv[1], sys.argv[2])
traced = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
print(time.perf_counter() - t, len(files), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, imported, traced)
"""


def _screenshot_seconds(page: Path) -> float | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={tmp}/x.png",
                        "--window-size=1280,2000", page.as_uri()], check=True, capture_output=True, timeout=600)
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--matches", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "report-bench")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic case")
    parser.add_argument("--no-browser", action="store_true", help="do not time Chromium")
    parser.add_argument("--tracemalloc", action="store_true", help="render a second time under tracemalloc")
    args = parser.parse_args()
    case = args.dir / "case"
    shutil.rmtree(args.dir, ignore_errors=True)
    t = time.perf_counter()
    rows = write_case(case, args.records, args.matches)
    size = (case / "records.jsonl").stat().st_size
    print(f"synthetic case: {args.records:,} records ({size / 1e6:.0f} MB records.jsonl), {rows:,} match rows, "
          f"written in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(case), str(case / "report.html"), "-"],
                         check=True, capture_output=True, text=True).stdout.split()
    wall = time.perf_counter() - t
    inner, files, maxrss_kb, imported_kb = float(out[0]), int(out[1]), int(out[2]), int(out[3])
    report = case / "report.html"
    pages = sorted((case / "report-files").glob("*.html"))
    print(f"render: {wall:.1f} s wall (child process incl. start-up; write_report itself {inner:.1f} s), "
          f"peak RSS {maxrss_kb / 1024:.0f} MB ({imported_kb / 1024:.0f} MB of it after 'import ocsea_match', before rendering)")
    print(f"report.html {report.stat().st_size / 1e3:.0f} kB; {len(pages)} split pages "
          f"({sum(p.stat().st_size for p in pages) / 1e6:.0f} MB, largest {max((p.stat().st_size for p in pages), default=0) / 1e6:.1f} MB); "
          f"{files} files written")
    if args.tracemalloc:
        traced = subprocess.run([sys.executable, "-c", _CHILD, str(case), str(case / "report.html"), "trace"],
                                check=True, capture_output=True, text=True).stdout.split()
        print(f"tracemalloc (a second rendering, slower under tracing): peak {int(traced[4]) / 1e6:.1f} MB "
              "of Python allocations while rendering")
    if not args.no_browser:
        for page in (report, pages[0] if pages else None):
            if page is not None:
                seconds = _screenshot_seconds(page)
                if seconds is not None:
                    print(f"headless Chromium, open + lay out + screenshot {page.name}: {seconds:.1f} s")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
