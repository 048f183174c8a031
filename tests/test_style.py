"""ruff (configured in pyproject.toml, [tool.ruff]) finds nothing in the Python of the repository, so CI
checks the style with the tests. Run it by hand: ``ruff check .``
(``--fix`` mends import order and unused imports)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["src", "tests", "benchmarks", "examples", "fuzz", "conftest.py", "setup.py"]


def _ruff() -> list[str]:
    exe = shutil.which("ruff")
    if exe:
        return [exe]
    try:
        import ruff  # noqa: F401  (the wheel ships the binary: python -m ruff)
    except ImportError:
        pytest.skip("ruff is not installed (it is in the dev extra: pip install -e '.[dev]')")
    return [sys.executable, "-m", "ruff"]


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([*_ruff(), "check", "--no-cache", *CHECKED], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
