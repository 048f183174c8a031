"""The process map under hash_files: order, bounded window, and surviving dead workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ocsea_match import hash_file, hash_files
from ocsea_match.parallel import process_map

from crashy import crashed, sleepy, square_or_die


def test_in_process_and_pool_give_the_same_ordered_results() -> None:
    items = list(range(30))
    expected = [x * x for x in items]
    assert list(process_map(square_or_die, items, jobs=1, on_crash=crashed)) == expected
    assert list(process_map(square_or_die, items, jobs=2, on_crash=crashed, window=3)) == expected


def test_unordered_gives_every_result_once() -> None:
    out = list(process_map(square_or_die, range(25), jobs=2, on_crash=crashed, ordered=False))
    assert sorted(out) == [x * x for x in range(25)]


def test_a_dead_worker_is_replaced_and_only_its_item_is_reported() -> None:
    items = [1, 2, -5, 3, 4, 5, 6, -7, 8, 9]
    out = list(process_map(square_or_die, items, jobs=2, on_crash=crashed, window=4))
    assert out == [1, 4, "crashed:-5", 9, 16, 25, 36, "crashed:-7", 64, 81]


def test_a_batch_whose_first_item_kills_its_worker_goes_on() -> None:
    out = list(process_map(square_or_die, [-1, 2, 3], jobs=2, on_crash=crashed))
    assert out == ["crashed:-1", 4, 9]


def test_input_is_consumed_lazily() -> None:
    consumed = []

    def source():
        for i in range(1000):
            consumed.append(i)
            yield i

    stream = process_map(square_or_die, source(), jobs=2, on_crash=crashed, window=5)
    assert next(stream) == 0
    assert len(consumed) <= 6
    stream.close()


def test_hash_files_jobs_give_the_same_records(tmp_path: Path, images: dict[str, Image.Image]) -> None:
    paths = []
    for name in ("photo-400x300", "checker", "rgba", "palette", "gray"):
        p = tmp_path / f"{name}.png"
        images[name].save(p)
        paths.append(p)
    paths.append(tmp_path / "missing.png")
    one = list(hash_files(paths, ["pdq", "whash"], jobs=1))
    two = list(hash_files(paths, ["pdq", "whash"], jobs=2))
    assert one == two
    assert one[0] == hash_file(paths[0], ["pdq", "whash"], mode="fast")
    assert [r["status"] for r in one] == ["ok"] * 5 + ["error"]


def test_hash_files_refuses_a_bad_mode_before_starting() -> None:
    with pytest.raises(ValueError):
        next(hash_files(["x.jpg"], ["pdq"], mode="quick"))


def test_workers_that_cannot_start_raise_instead_of_blaming_every_item(tmp_path: Path) -> None:
    script = tmp_path / "no_guard.py"  # the classic mistake: no __main__ guard around the work
    script.write_text(
        "from ocsea_match.parallel import process_map\n"
        "print(list(process_map(abs, [-1, -2], jobs=2, on_crash=str)))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "WorkersCannotStart" in result.stderr and "__main__" in result.stderr


def test_an_item_past_the_time_limit_ends_its_worker_and_the_batch_goes_on() -> None:
    from ocsea_match.parallel import TimeLimited

    work = TimeLimited(sleepy, 1)
    got = list(process_map(work, [0.0, 30.0, 0.01], jobs=2, on_crash=crashed))
    assert got == [0.0, "crashed:30.0", 0.01]
