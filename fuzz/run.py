"""Run one fuzz target: ``python fuzz/run.py TARGET [--seconds N] [--engine atheris|random]``.

Engines:

- ``atheris`` (``pip install '.[fuzz]'``): coverage-guided (libFuzzer) over the package's Python
  code; the decoders' C code (libjpeg, libpng, libtiff, FFmpeg) runs but is not instrumented, so it
  is exercised, not explored. libFuzzer's closing ``stat::number_of_executed_units`` line gives
  the executions; its growing corpus is kept in ``fuzz/work/`` (not committed).
- ``random``: plain random mutation of the seed corpus (bit flips, byte runs, cuts, splices), with
  NO coverage feedback; for where atheris does not install. It finds shallow bugs only.

Every input that breaks a target's contract (``targets.Finding`` or any unexpected exception) is
saved once per distinct failure (exception type and where it was raised) under
``fuzz/findings/TARGET/`` and the run goes on; at the end a line gives the executions and the
findings. Copy a finding into ``fuzz/corpus/TARGET/`` once fixed: the test suite replays that
corpus (``tests/test_fuzz_replay.py``).

    nice python fuzz/run.py lists --seconds 180
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

MAX_LEN = {"hash_bytes": 65536, "lists": 16384, "journal": 16384, "index": 16384}


class Campaign:
    """Counts executions and keeps one input per distinct failure."""

    def __init__(self, name: str, target) -> None:  # type: ignore[no-untyped-def]
        self.name, self.target = name, target
        self.executions = 0
        self.signatures: dict[str, Path] = {}
        self.folder = HERE / "findings" / name

    def __call__(self, data: bytes) -> None:
        self.executions += 1
        try:
            self.target(data)
        except MemoryError:
            self.record(data, "MemoryError", "MemoryError")
        except Exception as exc:  # noqa: BLE001 - every exception is a finding; the targets know what is expected
            tb = traceback.extract_tb(exc.__traceback__)
            where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
            self.record(data, f"{type(exc).__name__}@{where}", "".join(traceback.format_exception(exc)))

    def record(self, data: bytes, signature: str, text: str) -> None:
        if signature in self.signatures:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.signatures):02d}-{hashlib.sha1(data).hexdigest()[:12]}"
        path.write_bytes(data)
        path.with_suffix(".txt").write_text(f"{signature}\n\n{text}", encoding="utf-8")
        self.signatures[signature] = path
        print(f"[{self.name}] finding {signature} -> {path.name}", file=sys.stderr, flush=True)

    def summary(self, engine: str, seconds: float) -> str:
        return (f"{self.name}: engine {engine}, {self.executions} executions in {seconds:.0f} s, "
                f"{len(self.signatures)} distinct finding(s)" + "".join(f"\n  {s}" for s in self.signatures))


def _seeds(name: str) -> list[bytes]:
    folder = HERE / "corpus" / name
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()] if folder.is_dir() else [b""]


def _mutate(rng: random.Random, data: bytes, seeds: list[bytes], max_len: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(7)
        pos = rng.randrange(len(out) + 1)
        if op == 0 and out:  # flip a bit
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1 and out:  # an interesting byte
            out[rng.randrange(len(out))] = rng.choice(b"\x00\x01\x7f\x80\xff\n\r\t,;\"{}[]:0f ")
        elif op == 2:  # insert random bytes
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif op == 3 and out:  # delete a run
            del out[pos:pos + rng.randint(1, 64)]
        elif op == 4 and out:  # repeat a run
            run = out[pos:pos + rng.randint(1, 32)]
            out[pos:pos] = run * rng.randint(1, 64)
        elif op == 5:  # splice another seed
            other = rng.choice(seeds)
            if other:
                start = rng.randrange(len(other))
                out[pos:pos] = other[start:start + rng.randint(1, 256)]
        elif op == 6 and out:  # truncate
            del out[rng.randrange(len(out)):]
    return bytes(out[:max_len])


def run_random(campaign: Campaign, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    seeds = _seeds(campaign.name)
    for data in seeds:
        campaign(data)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        campaign(_mutate(rng, rng.choice(seeds), seeds, MAX_LEN[campaign.name]))


def run_atheris(campaign: Campaign, seconds: float) -> None:
    import atheris

    work = HERE / "work" / campaign.name  # the fuzzer's growing corpus (not committed)
    work.mkdir(parents=True, exist_ok=True)
    args = [sys.argv[0], str(work), str(HERE / "corpus" / campaign.name), f"-max_total_time={int(seconds)}",
            f"-max_len={MAX_LEN[campaign.name]}", "-rss_limit_mb=2560", "-timeout=30", "-print_final_stats=1"]
    atheris.Setup(args, campaign)
    atheris.Fuzz()


def main() -> None:
    from targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--engine", choices=("atheris", "random"), default="atheris")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.engine == "atheris":
        import atheris

        with atheris.instrument_imports(include=["ocsea_match"]):
            import ocsea_match  # noqa: F401
            import ocsea_match.formats  # noqa: E401,F401
    campaign = Campaign(args.target, TARGETS[args.target])
    started = time.monotonic()
    import atexit

    atexit.register(lambda: print(campaign.summary(args.engine, time.monotonic() - started), file=sys.stderr, flush=True))
    if args.engine == "atheris":
        run_atheris(campaign, args.seconds)
    else:
        run_random(campaign, args.seconds, args.seed)


if __name__ == "__main__":
    main()
