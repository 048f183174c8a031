"""Phase-robust video matching on generated fast-motion clips: a video listed at
``LIST_EVERY_SECONDS`` (with its TMK) is found in its edited copies hashed at one frame a second,
whatever the phase of their sampling; no clip is found for another source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsea_match import HashIndex, hash_file
from ocsea_match.video import LIST_EVERY_SECONDS

import videoclips as vc

EDITS = ("cut", "25fps", "faster", "240p", "letterbox", "crop")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Path]:
    folder = tmp_path_factory.mktemp("phase")
    out: dict[tuple[int, str], Path] = {}
    for seed in (1, 2):
        source = vc.write(folder / f"source{seed}.mp4", vc.fast_motion(seed), fps=30)
        frames = vc.decode_all(source)
        out[(seed, "source")] = source
        out[(seed, "cut")] = vc.write(folder / f"cut{seed}.mp4", frames[int(2.37 * 30):], fps=30)  # 2.37 s in
        out[(seed, "25fps")] = vc.write(folder / f"f25_{seed}.mp4", vc.retime(frames, 30, 25), fps=25)
        out[(seed, "faster")] = vc.write(folder / f"faster{seed}.mp4", vc.retime(frames, 30, 30, 1.25), fps=30)
        out[(seed, "240p")] = vc.write(folder / f"p240_{seed}.mp4", frames, fps=30, size=(426, 240), crf=30)
        out[(seed, "letterbox")] = vc.write(folder / f"box{seed}.mp4", vc.letterbox(frames, (384, 288)), fps=30)
        out[(seed, "crop")] = vc.write(folder / f"crop{seed}.mp4", vc.crop(frames), fps=30)
    return out


def _index(clips: dict[tuple[int, str], Path], every: float, tmp: Path) -> HashIndex:
    listed = tmp / f"listed-{every}.jsonl"
    with listed.open("w") as f:
        for seed in (1, 2):
            record = hash_file(clips[(seed, "source")], ["pdq", "tmk"], every_seconds=every)
            f.write(json.dumps({**record, "entry_id": f"V{seed}"}) + "\n")
    return HashIndex.from_lists([listed])[0]


def test_edited_copies_match_their_source_and_nothing_else(clips: dict[tuple[int, str], Path], tmp_path: Path) -> None:
    index = _index(clips, LIST_EVERY_SECONDS, tmp_path)
    phase_only_at_1s = _index(clips, 1.0, tmp_path)
    missed_at_1s = []
    for (seed, edit), path in clips.items():
        record = hash_file(path, ["pdq", "tmk"])  # the query: one frame a second
        found = {(m["entry_id"], m["algorithm"]) for m in index.match(record) if m["algorithm"] in ("vpdq", "tmk")}
        assert {entry for entry, _ in found} == {f"V{seed}"}, (seed, edit, found)
        if edit in ("cut", "faster"):  # the sampling-phase edits: vPDQ's frames alone find them now
            assert (f"V{seed}", "vpdq") in found, (seed, edit)
        old = {m["entry_id"] for m in phase_only_at_1s.match(record) if m["algorithm"] == "vpdq"}
        assert old <= {f"V{seed}"}
        if not old:
            missed_at_1s.append(edit)
    # the rule matters: listed at vPDQ's one frame a second, the phase edits are missed
    assert "cut" in missed_at_1s and "faster" in missed_at_1s
