"""Video hashing speed next to Meta's vpdq, TMK+PDQF next to the decoding floor, and the
sampling-phase rule's recall over an edit suite, in one run.

    python benchmarks/video_bench.py [FOLDER ...] [--repeat 3] [--json out.json] [--no-phase]
                                     [--make-clips DIR] [--all-cores]

FOLDER: videos (default ../shared/corpus/videos). ``--make-clips DIR`` first writes five held-out
320x240 clips there (20 s of the corpus's 720p clip, 30 fps, each codec with FFmpeg's default
settings: H.264, MJPEG, MPEG-4, VP9, Cinepak) and benchmarks them too. Equal threads: the whole
process is pinned to one CPU (vpdq's decoder starts slice threads of its own whatever its
``thread_count``; pinned, they share the one CPU; ``--all-cores`` leaves it free), and the peers
run interleaved (ours, vpdq, floor, TMK, then again) so that other load on the machine hits all
alike; best of ``--repeat`` each.

1. vPDQ, 1 frame/s, best of ``--repeat``: ``ocsea_match.hash_video`` (every sampled frame kept, as
   vpdq does), ``vpdq.computeHash(seconds_per_hash=1, thread_count=1)`` when the vpdq package is
   importable, and the floor: PyAV decoding every frame on one thread. Wall time (x real time)
   and CPU time of the process (all threads: vpdq's decoder may use several even with
   ``thread_count=1``), their ratios, and how many of vpdq's frames ours is within 10 bits of.
2. TMK+PDQF: ``ocsea_match.hash_video_tmk`` x real time (wall and CPU) next to the same decoding
   floor; the goal is within 1.3x of it. ``fast``: ``hash_video_tmk(fast=True)`` (the luma plane
   scaled alone). ``tmkpy`` (Meta's TMK bound for Python) when importable.
3. Sampling phase (generated fast-motion clips, ``tests/videoclips.py``): two sources listed at
   several intervals (with their TMK), six edits of each queried at 1 frame/s (cut at 2.37 s,
   30->25 fps, 1.25x speed, 240p, letterbox, 3% crop). Recall by vPDQ frames alone and by vPDQ
   or TMK, matches of the wrong source (must be 0), and what the list holds per listed second.

vpdq builds from PyPI once FFmpeg's development packages are installed (Debian: libavcodec-dev
libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
pkg-config), e.g. ``pip install vpdq`` (a dev-only peer; never a runtime dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av

from ocsea_match import HashIndex, hash_file, hash_video_tmk
from ocsea_match.video import hash_video

try:
    import vpdq  # type: ignore[import-not-found]
except ImportError:
    vpdq = None
try:
    import tmkpy  # type: ignore[import-not-found]
except ImportError:
    tmkpy = None

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "videos"
TESTS = Path(__file__).resolve().parents[1] / "tests"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _best(runs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float, Any]]:
    """Per name: best wall time, best CPU time (all threads of this process) and the last result,
    the runs interleaved ``repeat`` times."""
    out: dict[str, tuple[float, float, Any]] = {name: (float("inf"), float("inf"), None) for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            start, start_cpu = time.perf_counter(), _cpu()
            result = fn()
            wall, cpu = time.perf_counter() - start, _cpu() - start_cpu
            out[name] = (min(out[name][0], wall), min(out[name][1], cpu), result)
    return out


def make_clips(folder: Path, source: Path = DEFAULT / "slideshow_720p_h264.mp4", seconds: float = 20.0) -> list[Path]:
    """Five 320x240 clips of ``source`` at 30 fps, one per codec, FFmpeg's default settings
    (keyframes every 12 frames for MPEG-4 and Cinepak, x264's and libvpx's own for H.264/VP9)."""
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as c:
        frames = [f.reformat(320, 240, "rgb24", interpolation="AREA").to_ndarray()
                  for _, f in zip(range(int(seconds * 30)), c.decode(video=0))]
    paths = []
    for name, codec, pix_fmt in (("held_h264.mp4", "libx264", "yuv420p"), ("held_mjpeg.avi", "mjpeg", "yuvj420p"),
                                 ("held_mpeg4.avi", "mpeg4", "yuv420p"), ("held_vp9.webm", "libvpx-vp9", "yuv420p"),
                                 ("held_cinepak.avi", "cinepak", "rgb24")):
        path = folder / name
        paths.append(path)
        if path.exists():
            continue
        with av.open(str(path), "w") as out:
            stream = out.add_stream(codec, rate=30)
            stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
            for picture in frames:
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                for packet in stream.encode(frame if pix_fmt == "rgb24" else frame.reformat(format=pix_fmt)):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return paths


def _decode_all(path: Path) -> int:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.codec_context.thread_count = 1
        return sum(1 for _ in c.decode(stream))


def speed(videos: list[Path], repeat: int) -> list[dict[str, Any]]:
    rows = []
    for path in videos:
        with av.open(str(path)) as c:
            duration = float(c.duration) / 1e6
            codec = c.streams.video[0].codec_context.name
            size = f"{c.streams.video[0].codec_context.width}x{c.streams.video[0].codec_context.height}"
        runs: dict[str, Callable[[], Any]] = {"ours": lambda p=path: hash_video(p, dedupe_distance=None),
                                              "decode": lambda p=path: _decode_all(p), "tmk": lambda p=path: hash_video_tmk(p),
                                              "tmk_fast": lambda p=path: hash_video_tmk(p, fast=True)}
        if vpdq is not None:
            runs["vpdq"] = lambda p=path: vpdq.computeHash(str(p), seconds_per_hash=1, thread_count=1)
        if tmkpy is not None:
            runs["tmkpy"] = lambda p=path: tmkpy.hashVideo(str(p))  # pragma: no cover
        timed = _best(runs, repeat)
        (ours_w, ours_c, ours), (dec_w, dec_c, _), (tmk_w, tmk_c, _) = timed["ours"], timed["decode"], timed["tmk"]
        row: dict[str, Any] = {"video": path.name, "codec": f"{codec} {size}", "seconds": duration, "ours_wall": ours_w,
                               "ours_cpu": ours_c, "decode_wall": dec_w, "decode_cpu": dec_c, "tmk_wall": tmk_w,
                               "tmk_cpu": tmk_c, "tmk_fast_wall": timed["tmk_fast"][0], "tmk_fast_cpu": timed["tmk_fast"][1],
                               "frames": len(ours.frames)}
        if vpdq is not None:
            vp_w, vp_c, theirs = timed["vpdq"]
            by_number = {f.frame_number: f.hash.hex for f in ours.frames}
            distances = [bin(int(by_number[t.frame_number], 16) ^ int(t.hex, 16)).count("1")
                         for t in theirs if t.frame_number in by_number]
            row.update(vpdq_wall=vp_w, vpdq_cpu=vp_c, vpdq_frames=len(theirs), within_10=sum(d <= 10 for d in distances),
                       max_distance=max(distances, default=None))
        if tmkpy is not None:
            row["tmkpy_wall"] = timed["tmkpy"][0]  # pragma: no cover
        rows.append(row)
    print(f"\n{'vPDQ, 1 frame/s':24} {'codec':16} {'s':>5} {'ours xRT':>9} {'vpdq xRT':>9} {'wall ratio':>10} "
          f"{'cpu ratio':>9} {'ours/decode-all cpu':>19} {'<=10 bits of vpdq':>18}")
    for r in rows:
        vp = (f"{r['seconds'] / r['vpdq_wall']:9.1f} {r['vpdq_wall'] / r['ours_wall']:10.2f} {r['vpdq_cpu'] / r['ours_cpu']:9.2f}"
              if "vpdq_wall" in r else f"{'-':>9} {'-':>10} {'-':>9}")
        close = f"{r['within_10']}/{r['vpdq_frames']} (max {r['max_distance']})" if "vpdq_wall" in r else "-"
        print(f"{r['video'][:24]:24} {r['codec']:16} {r['seconds']:5.1f} {r['seconds'] / r['ours_wall']:9.1f} {vp} "
              f"{r['ours_cpu'] / r['decode_cpu']:19.2f} {close:>18}")
    print(f"\n{'TMK+PDQF':24} {'codec':16} {'s':>5} {'tmk xRT':>8} {'decode-all xRT':>14} {'tmk/decode wall':>15} "
          f"{'tmk/decode cpu':>14} {'fast xRT':>8} {'fast/decode cpu':>15}{' tmkpy xRT' if tmkpy is not None else ''}")
    for r in rows:
        other = f" {r['seconds'] / r['tmkpy_wall']:9.1f}" if "tmkpy_wall" in r else ""
        print(f"{r['video'][:24]:24} {r['codec']:16} {r['seconds']:5.1f} {r['seconds'] / r['tmk_wall']:8.1f} "
              f"{r['seconds'] / r['decode_wall']:14.1f} {r['tmk_wall'] / r['decode_wall']:15.2f} {r['tmk_cpu'] / r['decode_cpu']:14.2f} "
              f"{r['seconds'] / r['tmk_fast_wall']:8.1f} {r['tmk_fast_cpu'] / r['decode_cpu']:15.2f}{other}")
    if tmkpy is None:
        print("(tmkpy, Meta's TMK for Python, is not importable here: no other TMK implementation to compare)")
    return rows


def phase(intervals: tuple[float, ...] = (1.0, 0.5, 0.25)) -> list[dict[str, Any]]:
    sys.path.insert(0, str(TESTS))
    import videoclips as vc  # the tests' generators: benign generated panoramas

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips: dict[tuple[int, str], Path] = {}
        for seed in (1, 2):
            source = vc.write(folder / f"source{seed}.mp4", vc.fast_motion(seed), fps=30)
            frames = vc.decode_all(source)
            clips[(seed, "source")] = source
            clips[(seed, "cut")] = vc.write(folder / f"cut{seed}.mp4", frames[int(2.37 * 30):], fps=30)
            clips[(seed, "25fps")] = vc.write(folder / f"f25_{seed}.mp4", vc.retime(frames, 30, 25), fps=25)
            clips[(seed, "faster")] = vc.write(folder / f"faster{seed}.mp4", vc.retime(frames, 30, 30, 1.25), fps=30)
            clips[(seed, "240p")] = vc.write(folder / f"p240_{seed}.mp4", frames, fps=30, size=(426, 240), crf=30)
            clips[(seed, "letterbox")] = vc.write(folder / f"box{seed}.mp4", vc.letterbox(frames, (384, 288)), fps=30)
            clips[(seed, "crop")] = vc.write(folder / f"crop{seed}.mp4", vc.crop(frames), fps=30)
        queries = {key: hash_file(path, ["pdq", "tmk"]) for key, path in clips.items() if key[1] != "source"}
        for every in intervals:
            listed = folder / f"listed-{every}.jsonl"
            frames_listed = seconds = 0.0
            with listed.open("w") as f:
                for seed in (1, 2):
                    record = hash_file(clips[(seed, "source")], ["pdq", "tmk"], every_seconds=every)
                    frames_listed += len(record["frames"])
                    seconds += record["video"]["duration"]
                    f.write(json.dumps({**record, "entry_id": f"V{seed}"}) + "\n")
            index = HashIndex.from_lists([listed])[0]
            by_vpdq = by_either = wrong = 0
            missed = []
            for (seed, edit), record in queries.items():
                found = [m for m in index.match(record) if m["algorithm"] in ("vpdq", "tmk")]
                right = {m["algorithm"] for m in found if m["entry_id"] == f"V{seed}"}
                wrong += sum(m["entry_id"] != f"V{seed}" for m in found)
                by_vpdq += "vpdq" in right
                by_either += bool(right)
                if "vpdq" not in right:
                    missed.append(f"{edit}{seed}")
            rate = frames_listed / seconds
            rows.append({"every": every, "vpdq_recall": by_vpdq / len(queries), "recall": by_either / len(queries),
                         "wrong": wrong, "listed_frames_per_s": rate, "bytes_per_listed_s": rate * 32,
                         "missed_by_vpdq": missed})
    print(f"\n{'sampling phase: listed every':29} {'vPDQ recall':>11} {'vPDQ or TMK':>11} {'wrong source':>12} "
          f"{'listed frames/s':>15} {'PDQ bytes/s':>11}  missed by vPDQ")
    for r in rows:
        print(f"{r['every']:29.2f} {r['vpdq_recall']:11.2f} {r['recall']:11.2f} {r['wrong']:12d} "
              f"{r['listed_frames_per_s']:15.2f} {r['bytes_per_listed_s']:11.0f}  {' '.join(r['missed_by_vpdq'])}")
    print("(12 queries: 6 edits x 2 sources, hashed at 1 frame/s; a listed TMK is 263,344 bytes per video)")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="*", default=[DEFAULT])
    parser.add_argument("--make-clips", type=Path, metavar="DIR", help="write the five held-out 320x240 clips there first")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-phase", action="store_true", help="leave out the sampling-phase suite")
    args = parser.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    videos = sorted(p for folder in args.folders for p in folder.iterdir() if p.is_file())
    if args.make_clips:
        videos += [p for p in make_clips(args.make_clips) if p not in videos]
    print(f"{len(videos)} videos, best of {args.repeat} interleaved runs, "
          f"{'all CPUs' if args.all_cores else 'pinned to one CPU'}; load average {os.getloadavg()[0]:.1f}")
    if vpdq is None:
        print("vpdq is not importable: its columns are left out (see this script's docstring)")
    result: dict[str, Any] = {"speed": speed(videos, args.repeat)}
    if not args.no_phase:
        result["phase"] = phase()
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
