"""Replay of the fuzz corpus (``fuzz/corpus/TARGET``: the seeds, and every input that once found
a bug), as Pillow's ``Tests/oss-fuzz`` replays its: each target's contract is checked (a record
with a stable code, a ``ListError`` or load-report lines, a journal cut back to whole records, an
``IndexFileError``); anything else fails the test. ``fuzz/run.py`` finds new inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
sys.path.insert(0, str(FUZZ))

from targets import TARGETS  # noqa: E402

#: Inputs that found a bug another part of issue #11 fixes (part A: the video bar trimming's
#: zero-size array, item 6). Strict: once that fix is merged this XPASSes and fails; then delete
#: the entry, and the input is replayed like every other.
OPEN_ELSEWHERE: dict[str, str] = {}  # input name -> the open issue it waits for (a strict xfail until fixed)

CASES = sorted((target, path) for target in TARGETS for path in (FUZZ / "corpus" / target).glob("*") if path.is_file())


def test_every_target_has_a_corpus() -> None:
    assert {target for target, _ in CASES} == set(TARGETS)
    assert any(path.name.startswith("found-") for _, path in CASES)


@pytest.mark.parametrize("target, path", CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_replay(target: str, path: Path, request: pytest.FixtureRequest) -> None:
    if path.name in OPEN_ELSEWHERE:
        request.applymarker(pytest.mark.xfail(reason=OPEN_ELSEWHERE[path.name], strict=True))
    TARGETS[target](path.read_bytes())
