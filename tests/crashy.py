"""Worker functions for the process-map tests (importable by worker processes)."""

import os


def square_or_die(x: int) -> int:
    if x < 0:
        os._exit(3)  # a worker dying the hard way, as a decoder crash would
    return x * x


def crashed(x: int) -> str:
    return f"crashed:{x}"


def sleepy(x: float) -> float:
    import time

    time.sleep(x)  # a decoder stuck on a poisoned file
    return x
