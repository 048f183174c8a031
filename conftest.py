"""Collection rules and the doctests' scene for `python -m pytest` at the top of the repository
(tests/conftest.py has the tests' fixtures).

Docstring examples (``--doctest-modules``, pyproject.toml) run in a fresh temporary folder that
holds ``seized/gradient.png`` (a small generated picture), for the video examples ``clip.mp4`` and
``other.mp4`` (two seconds of generated moving blocks, unrelated to each other), and for the
report's examples ``case-0042/`` (the case folder ``ocsea-match scan seized case-0042`` writes), so
they can name files as a user would, and write beside them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

# `python -m ocsea_match` runs the CLI on import: never collected
collect_ignore = ["src/ocsea_match/__main__.py"]

# the triage service needs the `service` extra (Starlette, uvicorn): without it its modules
# cannot be imported, so their examples cannot run
if importlib.util.find_spec("starlette") is None:
    collect_ignore_glob = ["src/ocsea_match/service/*.py", "src/ocsea_match/cli_service.py"]


def _seized(folder: Path) -> Path:
    from PIL import Image

    (folder / "seized").mkdir()
    Image.linear_gradient("L").resize((64, 48)).convert("RGB").save(folder / "seized" / "gradient.png")
    return folder / "seized"


def _clip(path: Path, seed: int, seconds: int = 2, fps: int = 15) -> None:
    """A small generated video: 8x8 blocks of random colours drifting sideways (MPEG-4 part 2)."""
    import av
    import numpy as np

    blocks = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(seconds * fps):
            pixels = np.kron(np.roll(blocks, i // 5, axis=1), np.ones((8, 8, 1), np.uint8))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        out.mux(stream.encode())


@pytest.fixture(scope="session")
def _doctest_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scanned case, made once; report examples get a copy."""
    import ocsea_match

    base = tmp_path_factory.mktemp("doctest-case")
    _seized(base)
    cwd = os.getcwd()
    os.chdir(base)
    try:
        ocsea_match.run_scan(["seized"], "case-0042")
    finally:
        os.chdir(cwd)
    return base


@pytest.fixture(autouse=True)
def _doctest_folder(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not isinstance(request.node, pytest.DoctestItem):
        return
    monkeypatch.chdir(tmp_path)
    if request.node.name.startswith("ocsea_match.report"):
        case = request.getfixturevalue("_doctest_case")
        shutil.copytree(case / "seized", tmp_path / "seized")
        shutil.copytree(case / "case-0042", tmp_path / "case-0042")
    else:
        _seized(tmp_path)
    if request.node.name.startswith(("ocsea_match.tmk", "ocsea_match.video")):
        _clip(tmp_path / "clip.mp4", seed=0)
        _clip(tmp_path / "other.mp4", seed=1)
