"""The package face is lazy (issue #12): ``import ocsea_match; ocsea_match.Hash`` and hashing a
picture from the CLI do not import FAISS, PyAV, OpenCV or SciPy they do not need.

Each check runs a fresh interpreter (this one has long imported everything) with ``-X importtime``,
whose report names every module imported, and reads the names from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import ocsea_match

HEAVY = ("faiss", "av", "cv2", "scipy")


def _imported(args: list[str], cwd: Path | None = None) -> set[str]:
    """The top-level packages a fresh ``python -X importtime <args>`` imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "numpy" in names or "ocsea_match" in names, "no -X importtime report read"
    return names


def test_hash_alone_imports_no_heavy_library() -> None:
    names = _imported(["-c", "import ocsea_match; ocsea_match.Hash"])
    assert "ocsea_match" in names
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_hash_alone_leaves_heavy_modules_out_of_sys_modules() -> None:
    code = ("import sys, ocsea_match; ocsea_match.Hash; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""


def test_cli_hash_of_a_picture_imports_neither_faiss_nor_pyav(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    names = _imported(["-m", "ocsea_match", "hash", str(tmp_path / "noise.png")], cwd=tmp_path)
    assert "faiss" not in names and "av" not in names, sorted(names & set(HEAVY))


def test_every_public_name_resolves_and_is_listed() -> None:
    listed = set(dir(ocsea_match))
    for name in ocsea_match.__all__:
        assert name in listed, name
        assert getattr(ocsea_match, name) is not None, name
    assert ocsea_match.Hash.__module__ == "ocsea_match.hashes"
    assert ocsea_match.robust.list_hashes  # documented as public: ``ocsea_match.robust``


def test_unknown_names_still_raise_attribute_error() -> None:
    try:
        ocsea_match.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")
    assert not hasattr(ocsea_match, "_SOURCES_X")


def test_all_is_exactly_the_lazy_table() -> None:
    table = set(ocsea_match._SOURCES) | set(ocsea_match._SUBMODULES) | {"__version__"}
    assert sorted(ocsea_match.__all__) == sorted(table)
    assert len(ocsea_match.__all__) == len(set(ocsea_match.__all__))


def test_cli_and_scanning_modules_import_no_list_format_index_or_video() -> None:
    # a console script's fork server imports ocsea_match.cli, and a scan's workers the scanning
    # package: neither may pull the list formats, the index or the video stack in at its top
    code = ("import sys, ocsea_match.cli, ocsea_match.scanning; print(' '.join(sorted(m for m in sys.modules if m in "
            "('ocsea_match.index', 'ocsea_match.formats', 'ocsea_match.video', 'ocsea_match.tmk', 'scipy', 'faiss'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""


def test_hash_files_itself_imports_no_numpy() -> None:
    # with jobs > 1 hash_files starts the fork server before this process imports the hashing
    # stack, so the two imports run on both cores at once: its module must stay light
    code = "import sys, ocsea_match; ocsea_match.hash_files; print('numpy' in sys.modules, 'PIL' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
