"""Peak memory of one picture's hashes, ours and the peers', each in a fresh interpreter
(compare_peers.py --memory)."""

from __future__ import annotations

import os
import subprocess
import sys

from PIL import Image

# ru_maxrss survives exec: a child started by this (big) process would report at least this
# process's peak. The probe therefore forks first: the fork starts a fresh high-water mark at the
# size of a bare interpreter, and does the imports and the hashing.
MEMORY_PROBE = """
import os, sys
pid = os.fork()
if pid:
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
import resource
import cv2, imagehash, numpy, pdqhash, PIL.Image, ocsea_match
cv2.setNumThreads(1)
path, what = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if what in ("exact", "fast"):
    ocsea_match.hash_image(path, ["pdq", "phash"], mode=what)
elif what == "pdqhash":
    pdqhash.compute(cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
else:
    imagehash.phash(PIL.Image.open(path))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after, flush=True)
os._exit(0)
"""

MEMORY_CASES = {
    "exact": "ours pdq+phash exact",
    "fast": "ours pdq+phash fast",
    "pdqhash": "peer pdqhash (cv2 decode)",
    "imagehash": "peer imagehash phash",
}


def largest_jpeg(paths: list[str]) -> str | None:
    sizes = {}
    for path in paths:
        with Image.open(path) as img:
            if img.format == "JPEG":
                sizes[path] = (img.width * img.height, os.path.getsize(path))
    return max(sizes, key=sizes.__getitem__) if sizes else None


def memory(path: str) -> dict[str, float]:
    """Peak RSS over the RSS after imports, in MB, each case in a fresh interpreter."""
    out = {}
    for case, label in MEMORY_CASES.items():
        run = subprocess.run([sys.executable, "-c", MEMORY_PROBE, path, case],
                             capture_output=True, text=True, check=True)
        before_kb, after_kb = map(int, run.stdout.split())
        out[label] = (after_kb - before_kb) / 1024
        out[f"{label} (RSS after imports)"] = before_kb / 1024
    return out
