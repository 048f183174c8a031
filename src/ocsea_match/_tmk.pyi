"""Type stub of the native TMK+PDQF kernels (``_tmk.pyx``)."""

import numpy as np
import numpy.typing as npt

def pdqf_into(rgb: npt.NDArray[np.uint8], out: npt.NDArray[np.float32]) -> None: ...
def pdqf_rows(rgb_rows: npt.NDArray[np.uint8], out: npt.NDArray[np.float32]) -> None: ...
def fold(
    feats: npt.NDArray[np.float32],
    t0: int,
    periods: npt.NDArray[np.int32],
    sums: npt.NDArray[np.float64],
    cos_acc: npt.NDArray[np.float64],
    sin_acc: npt.NDArray[np.float64],
) -> None: ...
def level2(
    cos_a: npt.NDArray[np.float32],
    sin_a: npt.NDArray[np.float32],
    cos_b: npt.NDArray[np.float32],
    sin_b: npt.NDArray[np.float32],
    periods: npt.NDArray[np.int32],
    coefficients: npt.NDArray[np.float32],
) -> float: ...
def level2_many(
    cos_q: npt.NDArray[np.float32],
    sin_q: npt.NDArray[np.float32],
    cos_l: npt.NDArray[np.float32],
    sin_l: npt.NDArray[np.float32],
    rows: npt.NDArray[np.int64],
    periods: npt.NDArray[np.int32],
    coefficients: npt.NDArray[np.float32],
) -> npt.NDArray[np.float64]: ...
