"""Issue 11 (part A): kill -9 leaves no process behind, --jobs is clamped, a decoder's or hasher's
surprise is a record with a code, no library warning reaches the terminal, and Pillow opens only
the formats this project claims."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ocsea_match
from ocsea_match import MediaError, hash_bytes, hash_file, hash_image, hash_video
from ocsea_match.cli import main
from ocsea_match.decode import PICTURE_FORMATS
from ocsea_match.parallel import default_jobs, usable_jobs
from ocsea_match.video import content_box

from helpers import SHARED

DOORKNOB = SHARED / "video-reference" / "tmk" / "sample-videos" / "doorknob-hd-no-bar.mp4"


def _png(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------ 5: kill -9


def _session_members(sid: int) -> list[int]:
    """Live processes of the session (a zombie is dead: it holds no pipe, only waits to be reaped)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    state = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
                    if state != "Z":
                        out.append(int(entry))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the descendants")
def test_kill_9_of_a_run_with_jobs_2_leaves_no_process(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    picture = _png(0, (1024, 768))
    for i in range(60):  # about 5 s of work for two workers: the kill comes well before the end
        (folder / f"{i:03}.png").write_bytes(picture)
    run = subprocess.Popen([sys.executable, "-m", "ocsea_match", "hash", "--jobs", "2", "--robust", str(folder)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert run.stdout is not None and run.stdout.readline()  # workers are up and hashing
        assert len(_session_members(run.pid)) >= 4  # the command, fork server, resource tracker, workers
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 5
        while _session_members(run.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = _session_members(run.pid)
        assert survivors == [], f"still running 5 s after kill -9 of their caller: {survivors}"
        rest = run.stdout.read()  # end of file: nobody holds the pipe any more
        assert len(rest.splitlines()) < 59  # and the run was indeed cut short
        assert run.stderr is not None and run.stderr.read() is not None
    finally:
        for pid in _session_members(run.pid):
            os.kill(pid, signal.SIGKILL)


# ------------------------------------------------------------------------------ 9: jobs


def test_jobs_are_clamped_to_the_cpu_count_and_it_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert usable_jobs(1) == 1 and usable_jobs(10_000, say=False) == default_jobs()
    capsys.readouterr()
    (tmp_path / "a.png").write_bytes(_png(1))
    main(["hash", str(tmp_path / "a.png"), "--jobs", "1000", "--quiet"])
    err = capsys.readouterr().err
    assert f"1000 jobs asked for, {default_jobs()} used" in err


# ------------------------------------------------------------------------------ 6: decoders and hashers


def test_a_frame_of_two_flat_bands_has_no_bars() -> None:
    # the doorknob clip's dim frame: each half within the tolerance of its own edge, nothing between
    luma = np.full((64, 96), 140.0, np.float32)
    luma[32:] = 153.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert content_box(luma) is None


@pytest.mark.skipif(not DOORKNOB.is_file(), reason=f"{DOORKNOB} is absent (Meta's TMK sample clips are in ../shared)")
def test_metas_doorknob_clip_hashes_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        video = hash_video(DOORKNOB)
    assert video.frames and not video.truncated
    record = hash_file(DOORKNOB)
    assert record["status"] == "ok" and record["frames"]


def test_an_unexpected_exception_in_a_decoder_or_hasher_is_a_media_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ocsea_match import hashers, video

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("zero-size array to reduction operation maximum which has no identity")

    monkeypatch.setattr(video._FramePDQ, "__call__", broken)  # inside the sampling loop, as the bar trimming was
    from videoclips import scene, slideshow, write

    clip = tmp_path / "clip.mp4"
    write(clip, slideshow([scene(1, (96, 64))], 1.0))
    with pytest.raises(MediaError) as caught:
        hash_video(clip)
    assert caught.value.code == "internal-error" and "ValueError" in caught.value.message
    assert hash_file(clip)["error"]["code"] == "internal-error"

    monkeypatch.setitem(hashers.ALGORITHMS, "phash", hashers.ALGORITHMS["phash"].__class__(
        "phash", 64, broken, "broken for the test", 256))
    with pytest.raises(MediaError):
        hash_image(_png(2), ["phash"])
    record = hash_bytes(_png(2), ["phash"])
    assert record["status"] == "error" and record["error"]["code"] == "internal-error"


def test_bomb_warnings_stay_quiet_and_the_message_names_our_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)  # Pillow warns past 50,000, refuses past 100,000
    with warnings.catch_warnings(record=True) as shown:  # the filters in force, as a user's program has them
        assert hash_bytes(_png(3, (300, 200)), ["pdq"])["status"] == "ok"  # 60,000: Pillow would warn
    assert [w for w in shown if issubclass(w.category, Image.DecompressionBombWarning)] == [], [(str(w.message), w.filename, w.lineno) for w in shown]
    record = hash_bytes(_png(3, (400, 300)), ["pdq"], max_pixels=110_000)  # 120,000: Pillow refuses itself
    assert record["error"]["code"] == "decompression-bomb"
    assert "over the limit of 110000" in record["error"]["message"] and "178956970" not in record["error"]["message"]


def test_no_library_warning_reaches_the_terminal_from_workers(tmp_path: Path) -> None:
    # a decoder that warns on every picture, in the workers too (the fork server imports __main__)
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, warnings\nimport ocsea_match.files as files\n"
        "decode = files.open_image\n"
        "def noisy(*args, **kwargs):\n"
        "    warnings.warn('a library speaking up', RuntimeWarning)\n"
        "    return decode(*args, **kwargs)\n"
        "files.open_image = noisy\n"
        "from ocsea_match.cli import main\n"
        "if __name__ == '__main__':\n    sys.exit(main(sys.argv[1:]))\n", encoding="utf-8")
    for i in range(4):
        (tmp_path / f"{i}.png").write_bytes(_png(i, (150, 100)))
    for jobs in ("1", "2"):
        run = subprocess.run([sys.executable, str(script), "hash", str(tmp_path), "--jobs", jobs, "--quiet"],
                             capture_output=True, text=True, check=False, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stderr == "", f"jobs {jobs}: {run.stderr}"


# ------------------------------------------------------------------------------ security floor


def test_only_the_claimed_picture_formats_are_decoded() -> None:
    picture = Image.fromarray(np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    assert "PCX" not in PICTURE_FORMATS and "ICO" not in PICTURE_FORMATS
    pcx, ico = io.BytesIO(), io.BytesIO()
    picture.save(pcx, "PCX")
    picture.save(ico, "ICO")
    record = hash_bytes(pcx.getvalue(), ["pdq"])
    assert (record["status"], record["error"]["code"]) == ("skipped", "not-media") and record["hashes"] == {}
    with pytest.raises(MediaError) as caught:
        hash_image(pcx.getvalue())
    assert caught.value.code == "not-media"
    record = hash_bytes(ico.getvalue(), ["pdq"])  # sniffed as a picture, but not a format we decode
    assert record["error"]["code"] == "unsupported-format" and "ICO" in record["error"]["message"]
    assert ocsea_match.hash_bytes(_png(1), ["pdq"])["status"] == "ok"


def test_a_zip_parsers_surprise_is_the_archives_record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import zipfile

    from ocsea_match import scanning

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("a central directory zipfile did not expect")

    monkeypatch.setattr(scanning, "examine_zip", broken)
    (tmp_path / "src").mkdir()
    with zipfile.ZipFile(tmp_path / "src" / "a.zip", "w") as zf:
        zf.writestr("x.txt", "x")
    (tmp_path / "src" / "b.png").write_bytes(_png(4))
    records = {Path(r["path"]).name: r for r in ocsea_match.scan([tmp_path / "src"])}
    assert records["a.zip"]["status"] == "error" and records["a.zip"]["error"]["code"] == "internal-error"
    assert records["b.png"]["status"] == "ok"
