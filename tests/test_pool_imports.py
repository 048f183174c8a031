"""Worker processes import only what hashing needs (issue #17, the quick pool).

A fresh interpreter runs ``hash_files(jobs=2)`` with ``PYTHONPROFILEIMPORTTIME`` set, which every
process it starts inherits (the fork server, its workers), so the report names every module any of
them imported: no PyAV, FAISS or OpenCV for JPEG pictures; SciPy only when pHash is asked for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

_CHILD = r"""
import sys
import ocsea_match
paths, names = sys.argv[1].split(","), sys.argv[2].split(",")
records = list(ocsea_match.hash_files(paths, names, jobs=2))
assert all(r["status"] == "ok" for r in records), records
print("ok", len(records))
"""


def _imports_of_a_two_job_run(folder: Path, names: str) -> set[str]:
    rng = np.random.default_rng(4)
    paths = []
    for i in range(4):
        path = folder / f"p{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(path, quality=90)
        paths.append(str(path))
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    done = subprocess.run([sys.executable, "-c", _CHILD, ",".join(paths), names], capture_output=True, text=True,
                          timeout=180, env=env, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok 4"
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("import time:") and "|" in ln]
    assert lines, "no import report read"
    return {ln.rsplit("|", 1)[1].strip() for ln in lines}


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server and its preload are Linux's start method here")
def test_pdq_workers_import_no_video_index_opencv_or_scipy(tmp_path: Path) -> None:
    modules = _imports_of_a_two_job_run(tmp_path, "pdq")
    tops = {m.split(".")[0] for m in modules}
    assert "ocsea_match.files" in modules and "ocsea_match.parallel" in modules
    assert not tops & {"av", "faiss", "cv2", "scipy"}, sorted(tops & {"av", "faiss", "cv2", "scipy"})
    unneeded = {"ocsea_match.video", "ocsea_match.tmk", "ocsea_match.index", "ocsea_match.scanning",
                "ocsea_match.report", "ocsea_match.robust", "ocsea_match.formats"}
    assert not modules & unneeded, sorted(modules & unneeded)


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server and its preload are Linux's start method here")
def test_phash_workers_get_pocketfft_but_not_the_scipy_package(tmp_path: Path) -> None:
    modules = _imports_of_a_two_job_run(tmp_path, "pdq,phash")
    tops = {m.split(".")[0] for m in modules}
    assert "ocsea_match.dct" in modules
    from ocsea_match.dct import pocketfft_source

    if pocketfft_source() == "extension":  # SciPy's pocketfft loaded by itself: no scipy.special & co
        assert "scipy" not in tops
    assert not tops & {"av", "faiss", "cv2"}, sorted(tops & {"av", "faiss", "cv2"})


# The command line as installed: a console script is a file, so multiprocessing makes the fork
# server import it (and so ``ocsea_match.cli``) before forking workers. The script sets the import
# report on for the processes it starts only, so the report names the fork server's and the
# workers' imports, not the command's own (which may read lists and indexes).
_SCRIPT = """import os, sys
os.environ["PYTHONPROFILEIMPORTTIME"] = "1"
from ocsea_match.cli import main
if __name__ == "__main__":
    sys.exit(main())
"""
_NOT_FOR_HASHING = {"ocsea_match.video", "ocsea_match.tmk", "ocsea_match.index", "ocsea_match.formats",
                    "ocsea_match.report", "ocsea_match.robust", "ocsea_match.service", "ocsea_match.cluster"}


def _worker_imports_of_the_command(folder: Path, *args: str) -> set[str]:
    pictures = folder / "pictures"
    pictures.mkdir()
    rng = np.random.default_rng(5)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(pictures / f"p{i}.jpg")
    (folder / "ocsea-match").write_text(_SCRIPT)
    done = subprocess.run([sys.executable, str(folder / "ocsea-match"), *args, str(pictures)], capture_output=True,
                          text=True, timeout=180, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("import time:") and "|" in ln]
    assert lines, "no import report read"
    modules = {ln.rsplit("|", 1)[1].strip() for ln in lines}
    assert "ocsea_match.cli" in modules  # the fork server did import the script
    return modules


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server and its preload are Linux's start method here")
def test_cli_hash_workers_import_no_list_format_index_or_video(tmp_path: Path) -> None:
    modules = _worker_imports_of_the_command(tmp_path, "hash", "--jobs", "2", "--algo", "pdq", "-o",
                                             str(tmp_path / "out.jsonl"))
    tops = {m.split(".")[0] for m in modules}
    assert not tops & {"av", "faiss", "cv2", "scipy"}, sorted(tops & {"av", "faiss", "cv2", "scipy"})
    assert not {m for m in modules if m.rpartition(".")[0] in _NOT_FOR_HASHING or m in _NOT_FOR_HASHING}


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server and its preload are Linux's start method here")
def test_cli_scan_workers_import_no_list_format_index_or_video(tmp_path: Path) -> None:
    modules = _worker_imports_of_the_command(tmp_path, "scan", "--jobs", "2", "--quiet", "-o", str(tmp_path / "case"))
    assert "ocsea_match.scanning" in modules  # the scan's own worker function
    tops = {m.split(".")[0] for m in modules}
    assert not tops & {"av", "faiss", "cv2"}, sorted(tops & {"av", "faiss", "cv2"})
    assert not {m for m in modules if m.rpartition(".")[0] in _NOT_FOR_HASHING or m in _NOT_FOR_HASHING}
