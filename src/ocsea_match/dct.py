"""pHash's DCT: SciPy's pocketfft (what imagehash runs), without importing the ``scipy`` package.

imagehash's pHash is two DCT-IIs of a 32x32 grey picture by SciPy's pocketfft, and on blocky or
symmetric pictures pocketfft's rounding noise decides bits (see ``hashers._phash``), so the same
code must run here. ``import scipy.fft`` costs ~0.22 s of CPU (it pulls in ``scipy.special`` and
the array-API layer), a quarter of a worker process's cold start, for one function: this module
loads SciPy's compiled ``pypocketfft`` extension from the installed SciPy's folder by itself
(~2 ms) and calls it exactly as ``scipy.fft.dct(x, axis=a)`` does (type 2, no normalisation,
one thread). Where that file cannot be loaded (another SciPy layout), it falls back to
``scipy.fft.dct`` itself; ``tests/test_dct.py`` checks both give the same bits.

>>> import numpy as np
>>> dct2(np.ones((4, 4), np.uint8), axis=0)[0].tolist()
[8.0, 8.0, 8.0, 8.0]
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["dct2", "pocketfft_source"]

_NAME = "pypocketfft"


def _load_extension() -> Any | None:
    """SciPy's ``scipy/fft/_pocketfft/pypocketfft`` extension module, loaded from its file without
    running ``scipy/__init__`` or ``scipy/fft/__init__`` (None when SciPy or the file is absent)."""
    spec = importlib.util.find_spec("scipy")  # finds the package folder; imports nothing
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "fft", "_pocketfft", _NAME + suffix)
            if not os.path.isfile(path):
                continue
            # a private dotted name: the init symbol is PyInit_pypocketfft (the last part), and
            # nothing under SciPy's own name is registered, so a later ``import scipy.fft`` loads
            # SciPy's copy as usual
            loader = importlib.machinery.ExtensionFileLoader(f"ocsea_match.dct.{_NAME}", path)
            module_spec = importlib.util.spec_from_file_location(loader.name, path, loader=loader)
            if module_spec is None:
                return None
            try:
                module = importlib.util.module_from_spec(module_spec)
                loader.exec_module(module)
            except (ImportError, OSError):
                return None
            return module if callable(getattr(module, "dct", None)) else None
    return None


def _scipy_dct() -> Callable[..., np.ndarray]:
    from scipy.fft import dct

    return lambda x, axis: dct(x, axis=axis)


def _call(module: Any, x: np.ndarray, axis: int) -> np.ndarray:
    # scipy.fft.dct(x, type=2, axis=axis) for a real NumPy array: _asfarray (integers to float64),
    # then pfft.dct(tmp, type, (axis,), inorm=0 "backward" forward, out=None, workers=1,
    # orthogonalize=None)
    values = np.asarray(x, np.float64) if x.dtype.kind not in "fc" else np.array(x, x.dtype.newbyteorder("="))
    return module.dct(values, 2, (axis,), 0, None, 1, None)


def _answers_as_dct(module: Any) -> bool:
    """Whether the loaded extension, called the way this module calls it, computes an unnormalised
    DCT-II (its private signature may change in another SciPy: then ``scipy.fft`` is used)."""
    x = np.arange(1.0, 9.0).reshape(8, 1) * np.array([1.0, -2.0])
    n = np.arange(8)
    expected = 2 * np.cos(np.pi * np.outer(n, 2 * n + 1) / 16) @ x
    try:
        got = _call(module, x, 0)
    except Exception:  # any failure of a private call means: do not use it
        return False
    return isinstance(got, np.ndarray) and got.shape == x.shape and bool(np.allclose(got, expected, atol=1e-9))


_extension = _load_extension()
if _extension is not None and not _answers_as_dct(_extension):
    _extension = None


def _extension_dct(x: np.ndarray, axis: int) -> np.ndarray:
    return _call(_extension, x, axis)


#: ``dct2(x, axis)``: ``scipy.fft.dct(x, axis=axis)``, bit for bit.
dct2: Callable[..., np.ndarray] = _extension_dct if _extension is not None else _scipy_dct()


def pocketfft_source() -> str:
    """Where ``dct2`` comes from: ``"extension"`` (SciPy's pocketfft loaded by itself) or ``"scipy.fft"``.

    >>> pocketfft_source() in ("extension", "scipy.fft")
    True
    """
    return "extension" if _extension is not None else "scipy.fft"
