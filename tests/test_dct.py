"""pHash's DCT (``ocsea_match.dct``): SciPy's pocketfft loaded without the ``scipy`` package, giving
``scipy.fft.dct``'s bits, and really loaded that way (else workers pay ~0.2 s importing SciPy)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from ocsea_match import dct

scipy_fft = pytest.importorskip("scipy.fft", reason="SciPy is the oracle here")


def _scipy_has_the_extension() -> bool:
    spec = importlib.util.find_spec("scipy")
    assert spec is not None and spec.submodule_search_locations
    folder = os.path.join(spec.submodule_search_locations[0], "fft", "_pocketfft")
    return any(name.startswith("pypocketfft") for name in os.listdir(folder))


def _pictures() -> list[np.ndarray]:
    rng = np.random.default_rng(23)
    out = [np.full((32, 32), v, np.uint8) for v in (0, 1, 127, 255)]
    for _ in range(300):
        out.append(rng.integers(0, 256, (32, 32), dtype=np.uint8))
        small = rng.integers(0, 2, (5, 5), dtype=np.uint8) * 255
        out.append(np.kron(small, np.ones((8, 8), np.uint8))[:32, :32].copy())  # blocky: zeros decided by rounding
        half = rng.integers(0, 256, (32, 16), dtype=np.uint8)
        out.append(np.concatenate([half, half[:, ::-1]], axis=1))  # mirror symmetric
    out.append(rng.random((32, 32)))  # float input as well
    return out


def test_extension_is_what_runs_where_scipy_ships_it() -> None:
    if _scipy_has_the_extension():
        assert dct.pocketfft_source() == "extension"
    else:
        assert dct.pocketfft_source() == "scipy.fft"


@pytest.mark.parametrize("axis", [0, 1])
def test_same_bits_as_scipy_fft_dct(axis: int) -> None:
    for x in _pictures():
        ours = dct.dct2(x, axis=axis)
        theirs = scipy_fft.dct(x, axis=axis)
        assert ours.dtype == theirs.dtype and ours.tobytes() == theirs.tobytes()


def test_two_passes_as_phash_runs_them() -> None:
    for x in _pictures():
        ours = dct.dct2(dct.dct2(x, axis=0), axis=1)[:8, :8]
        theirs = scipy_fft.dct(scipy_fft.dct(x, axis=0), axis=1)[:8, :8]
        assert np.array_equal(ours > np.median(ours), theirs > np.median(theirs))
        assert ours.tobytes() == theirs.tobytes()


def test_loading_it_imports_no_scipy_package() -> None:
    code = "import sys, ocsea_match.dct as d; print(d.pocketfft_source(), 'scipy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    source, scipy_loaded = done.stdout.split()
    if source == "extension":
        assert scipy_loaded == "False"


def test_scipy_fft_still_imports_and_agrees_after_our_load() -> None:
    code = ("import numpy as np, ocsea_match.dct as d, scipy.fft as f; x = np.arange(1024.).reshape(32, 32); "
            "print(d.dct2(x, axis=0).tobytes() == f.dct(x, axis=0).tobytes())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"


def test_a_changed_private_signature_falls_back() -> None:
    """SciPy's extension is used only when it answers a known DCT-II when called our way."""
    from ocsea_match import dct

    class Changed:  # a later SciPy whose dct takes other arguments or returns something else
        @staticmethod
        def dct(values, *rest):
            return values

    class Raises:
        @staticmethod
        def dct(*args):
            raise TypeError("dct() takes 3 positional arguments")

    assert not dct._answers_as_dct(Changed())
    assert not dct._answers_as_dct(Raises())
    if dct.pocketfft_source() == "extension":
        assert dct._answers_as_dct(dct._extension)
