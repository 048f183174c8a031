"""Loading a big list into a HashIndex: today's reader (``load_list`` then ``add_list``, a
``ListEntry`` per line) against the streaming paths of ``HashIndex.add_list_file`` (PDQ lists read
into columns; VICS and JSONL lists a batch at a time), in one run.

Generates in a temporary folder a PDQ CSV (``pdq,id,category,quality``, numeric ids, a few bad
lines) of 10^6 lines (``--lines``; ``--big`` adds 10^7, the columnar path only unless
``--old-big``), a plain hex list of the same size, VICS 2.0 files of ``--vics`` media (MD5, SHA1
and a PDQ with its quality each; ``--vics-shape``: ``flat``, hashes only, ``nested``, with what
real exports carry besides (a MediaFiles array of 1-3 files with Windows paths, MediaSize,
IsDistributed, Series), or ``both``, the default; ``--big`` adds 10^6 media) and a JSONL list
(``--jsonl`` records). OpenBLAS is kept to one thread in every load (neither reader uses it; its
idle threads spin after NumPy's import, which CPU time would count).
Each load runs in a fresh interpreter (forked once the imports are done); peak memory is ru_maxrss
after the load minus ru_maxrss after the imports, "held" the resident memory the load left (the
index as it sits in memory; "index MB" counts its arrays, digests included); "cpu s" is the load's user+system CPU time,
which is what one core gives when other processes share the machine.

    nice python benchmarks/list_load_bench.py [--lines 1000000] [--vics 300000] [--vics-shape both] [--jsonl 100000] [--big]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PROBE = """
import os, sys
pid = os.fork()
if pid:
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
import json, resource, time
import numpy
from ocsea_match import HashIndex, load_list
path, how = sys.argv[1], sys.argv[2]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
resident = rss()
cpu = time.process_time()
start = time.perf_counter()
index = HashIndex()
if how == "old":
    hash_list, report = load_list(path)
    index.add_list(hash_list, report)
    del hash_list
else:
    report = index.add_list_file(path)
seconds = time.perf_counter() - start
cpu = time.process_time() - cpu
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
held = rss() - resident  # what stays resident: the index
size = sum(t.hash_bytes + t.entries.nbytes for t in index.parts.perceptual.values()) + index.parts.entries.codes.nbytes
size += sum(ids.nbytes for ids in index.parts.entries.ids) + sum(v.nbytes_held for v in index.parts.exact.values())
print(json.dumps({"seconds": seconds, "cpu": cpu, "format": report.format, "peak_mb": (after - before) / 1024, "held_mb": held, "index_mb": size / 2**20,
                  "entries": len(index), "problems": len(report.problems)}), flush=True)
os._exit(0)
"""


def _hex_lines(rows: np.ndarray) -> np.ndarray:
    """Lower-case hex of packed rows: an (n, 64) array of ASCII bytes."""
    digits = np.frombuffer(b"0123456789abcdef", np.uint8)
    out = np.empty((len(rows), 64), np.uint8)
    out[:, 0::2], out[:, 1::2] = digits[rows >> 4], digits[rows & 15]
    return out


def write_csv(path: Path, n: int, rng: np.random.Generator, plain: bool = False) -> int:
    """A PDQ list of n lines written in blocks; returns the number of bad lines put in."""
    bad = 0
    with open(path, "wb") as f:
        if not plain:
            f.write(b"pdq,id,category,quality\n")
        for start in range(0, n, 200_000):
            count = min(200_000, n - start)
            hexes = _hex_lines(rng.integers(0, 256, (count, 32), dtype=np.uint8))
            ids, cats, quals = np.arange(start + 1, start + count + 1), rng.integers(1, 4, count), rng.integers(60, 101, count)
            lines = [h.tobytes() for h in hexes] if plain else [
                b"%s,%d,%d,%d" % (h.tobytes(), i, c, q) for h, i, c, q in zip(hexes, ids.tolist(), cats.tolist(), quals.tolist())]
            for k in range(0, count, 100_000):  # a few unusable lines, as real exports have
                lines[k] = b"not-a-hash,0,1,90" if not plain else b"not-a-hash"
                bad += 1
            f.write(b"\n".join(lines) + b"\n")
    return bad


def vics_item(i: int, b: str, shape: str) -> dict:
    """Media item i (hex digits ``b``): MD5, SHA1 and a PDQ (AlternativeHashes); ``shape`` "nested"
    adds what real VICS 2.0 exports carry: MediaSize, IsDistributed, Series and a ``MediaFiles``
    array of 1-3 files (name, Windows path, size, .NET date), as ``case.vics.json`` writes them too."""
    item = {"MediaID": i + 1, "Category": int(i % 3), "MD5": b[:32].upper(), "SHA1": b[32:72].upper()}
    if shape == "nested":
        item.update({"MediaSize": 10_000 + i % 5_000, "IsDistributed": bool(i % 2), "Series": None, "MediaFiles": [
            {"FileName": f"IMG_{i:07d}_{j}.jpg", "FilePath": f"C:\\Users\\examiner\\Case 2024-{i % 97}\\Pictures\\",
             "FileSize": 10_000 + i % 5_000, "Created": f"/Date({1_700_000_000_000 + i * 1000 + j})/"} for j in range(1 + i % 3)]})
    item["AlternativeHashes"] = [{"HashName": "PDQ", "HashValue": b[72:136].ljust(64, "0"), "Quality": 100}]
    return item


def write_vics(path: Path, n: int, rng: np.random.Generator, shape: str = "flat") -> None:
    """A VICS 2.0 hash set of n media (``vics_item``), written 100,000 items at a time."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media", '
                '"value": [')
        for start in range(0, n, 100_000):
            hexes = rng.integers(0, 256, (min(n, start + 100_000) - start, 68), dtype=np.uint8)
            f.write((", " if start else "") + ", ".join(json.dumps(vics_item(start + k, row.tobytes().hex(), shape))
                                                        for k, row in enumerate(hexes)))
        f.write("]}")


def write_jsonl(path: Path, n: int, rng: np.random.Generator) -> None:
    """n records as ``ocsea-match hash`` writes them: a path, MD5, SHA-1, PDQ with its quality."""
    with open(path, "w") as f:
        for start in range(0, n, 100_000):
            lines = []
            for i in range(start, min(n, start + 100_000)):
                b = rng.integers(0, 256, 68, dtype=np.uint8).tobytes().hex()
                lines.append(json.dumps({"path": f"evidence/{i}.jpg", "md5": b[:32], "sha1": b[32:72],
                                         "hashes": {"pdq": {"hex": b[72:136].ljust(64, "0"), "quality": 100}}}))
            f.write("\n".join(lines) + "\n")


def probe(path: Path, how: str) -> dict[str, float]:
    """One load in a fresh interpreter; OpenBLAS kept to one thread (its idle threads spin for a
    while after NumPy's import, which CPU time would count: neither reader uses BLAS)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", PROBE, str(path), how], capture_output=True, text=True, check=True, env=env)
    return json.loads(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="PDQ list lines (0: none)")
    parser.add_argument("--vics", type=int, default=300_000, help="media in the VICS file (0: none)")
    parser.add_argument("--jsonl", type=int, default=100_000, help="records in the JSONL list (0: none)")
    parser.add_argument("--vics-shape", choices=["flat", "nested", "both"], default="both",
                        help="VICS items: flat (hashes only), nested (MediaFiles and other fields, as real exports), both")
    parser.add_argument("--big", action="store_true", help="also a 10^7-line CSV and a 10^6-media VICS file")
    parser.add_argument("--old-big", action="store_true", help="with --big, today's reader on the 10^7-line CSV too (~90 s, ~8 GB)")
    args = parser.parse_args()
    rng = np.random.default_rng(18)
    with tempfile.TemporaryDirectory(prefix="list-load-bench-") as tmp:
        cases = []
        if args.lines:
            csv = Path(tmp) / "known_list.csv"
            bad = write_csv(csv, args.lines, rng)
            cases.append((f"PDQ CSV, {args.lines:,} lines ({bad} bad)", csv, args.lines, ("old", "new")))
            plain = Path(tmp) / "known_list.txt"
            write_csv(plain, args.lines, rng, plain=True)
            cases.append((f"PDQ hex lines, {args.lines:,}", plain, args.lines, ("old", "new")))
        if args.big:
            big = Path(tmp) / "known_big.csv"
            write_csv(big, 10_000_000, rng)
            cases.append(("PDQ CSV, 10,000,000 lines", big, 10_000_000, ("old", "new") if args.old_big else ("new",)))
        shapes = ["flat", "nested"] if args.vics_shape == "both" else [args.vics_shape]
        for n in [args.vics] + ([1_000_000] if args.big else []):
            for shape in shapes if n else []:
                vics = Path(tmp) / f"known_list_{n}_{shape}.json"
                write_vics(vics, n, rng, shape)
                cases.append((f"VICS 2.0 {shape}, {n:,} media", vics, n, ("old", "new")))
        if args.jsonl:
            jsonl = Path(tmp) / "known_list.jsonl"
            write_jsonl(jsonl, args.jsonl, rng)
            cases.append((f"JSONL records, {args.jsonl:,}", jsonl, args.jsonl, ("old", "new")))
        print(f"{os.cpu_count()} CPUs; {sys.version.split()[0]}; one process each, fresh interpreter; "
              f"load average {os.getloadavg()[0]:.1f} at the start")
        print(f"{'list':34} {'path':5} {'MB':>5} {'s':>7} {'cpu s':>7} {'/s (cpu)':>11} {'peak MB':>8} {'held MB':>8} {'index MB':>8}")
        for label, path, n, hows in cases:
            got = {}
            for how in hows:
                r = got[how] = probe(path, how)
                print(f"{label:34} {how:5} {path.stat().st_size / 2**20:5.0f} {r['seconds']:7.2f} {r['cpu']:7.2f} "
                      f"{n / r['cpu']:11,.0f} {r['peak_mb']:8.0f} {r['held_mb']:8.0f} {r['index_mb']:8.1f}", flush=True)
            if len(got) == 2:
                old, new = got["old"], got["new"]
                same = all(old[k] == new[k] for k in ("entries", "problems", "format"))
                print(f"{'':34} {'ratio':5} {'':5} {old['seconds'] / new['seconds']:6.1f}x {old['cpu'] / new['cpu']:6.1f}x "
                      f"{'':11} {old['peak_mb'] / max(new['peak_mb'], 1):7.1f}x  "
                      f"{'same entries/problems' if same else 'DIFFERENT'}", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
