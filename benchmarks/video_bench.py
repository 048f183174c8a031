"""Video hashing speed and agreement next to Meta's vpdq, one thread each, 1 frame per second.

    python benchmarks/video_bench.py [FOLDER] [--repeat 3] [--json out.json]

FOLDER: videos (default ../shared/corpus/videos). For every video, best of ``--repeat``:
``ocsea_match.hash_video`` (every sampled frame kept, as vpdq does), ``vpdq.computeHash``
(``thread_count=1``) when the vpdq package is importable, and the floor: PyAV decoding every
frame on one thread. Prints seconds of video hashed per second of wall time and the ratio, and
how many of vpdq's frames our hash is within 10 bits of at the same frame number.

vpdq builds from PyPI once FFmpeg's development packages are installed (Debian: libavcodec-dev
libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
pkg-config), e.g. in a venv that also sees this project:
``python -m venv --system-site-packages /tmp/vpdqenv && /tmp/vpdqenv/bin/pip install vpdq`` and
run this script with ``/tmp/vpdqenv/bin/python``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Callable

import av

from ocsea_match.video import hash_video

try:
    import vpdq  # type: ignore[import-not-found]
except ImportError:
    vpdq = None

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "videos"


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _decode_all(path: Path) -> int:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.codec_context.thread_count = 1
        return sum(1 for _ in c.decode(stream))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    videos = sorted(p for p in args.folder.iterdir() if p.is_file())
    if vpdq is None:
        print("vpdq is not importable: its columns are left out (see this script's docstring)")
    rows = []
    totals = {"seconds": 0.0, "ours": 0.0, "vpdq": 0.0, "decode": 0.0, "frames": 0, "close": 0}
    for path in videos:
        with av.open(str(path)) as c:
            duration = float(c.duration) / 1e6
        ours_t, ours = _best(lambda: hash_video(path, dedupe_distance=None), args.repeat)
        decode_t, _ = _best(lambda: _decode_all(path), args.repeat)
        row: dict[str, Any] = {"video": path.name, "seconds": duration, "ours_s": ours_t, "decode_all_s": decode_t,
                               "frames": len(ours.frames)}
        totals["seconds"] += duration
        totals["ours"] += ours_t
        totals["decode"] += decode_t
        if vpdq is not None:
            vpdq_t, theirs = _best(lambda: vpdq.computeHash(str(path), seconds_per_hash=1, thread_count=1), args.repeat)
            by_number = {f.frame_number: f.hash.hex for f in ours.frames}
            distances = [bin(int(by_number[t.frame_number], 16) ^ int(t.hex, 16)).count("1")
                         for t in theirs if t.frame_number in by_number]
            row.update(vpdq_s=vpdq_t, vpdq_frames=len(theirs), paired=len(distances),
                       within_10=sum(d <= 10 for d in distances), max_distance=max(distances, default=None))
            totals["vpdq"] += vpdq_t
            totals["frames"] += len(theirs)
            totals["close"] += sum(d <= 10 for d in distances)
        rows.append(row)
    print(f"{'video':28} {'s':>5} {'ours x realtime':>16} {'vpdq x realtime':>16} {'ratio':>6} "
          f"{'decode-all x rt':>16} {'frames <=10 bits of vpdq':>25}")
    for r in rows:
        vp = f"{r['seconds'] / r['vpdq_s']:16.1f} {r['vpdq_s'] / r['ours_s']:6.2f}" if "vpdq_s" in r else f"{'-':>16} {'-':>6}"
        close = f"{r['within_10']}/{r['vpdq_frames']} (max {r['max_distance']})" if "vpdq_s" in r else "-"
        print(f"{r['video']:28} {r['seconds']:5.1f} {r['seconds'] / r['ours_s']:16.1f} {vp} "
              f"{r['seconds'] / r['decode_all_s']:16.1f} {close:>25}")
    if vpdq is not None:
        print(f"{'all':28} {totals['seconds']:5.1f} {totals['seconds'] / totals['ours']:16.1f} "
              f"{totals['seconds'] / totals['vpdq']:16.1f} {totals['vpdq'] / totals['ours']:6.2f} "
              f"{totals['seconds'] / totals['decode']:16.1f} {str(totals['close']) + '/' + str(totals['frames']):>25}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "totals": totals}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
