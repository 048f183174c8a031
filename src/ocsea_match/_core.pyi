"""Type stub of the native core (``_core.pyx``): PDQ, imagehash helpers, popcount kernels.

Arrays are C-contiguous NumPy arrays of the dtype named; ``tests/test_native_stubs.py`` checks
that this stub and the compiled module name the same functions with the same parameters.
"""

import numpy as np
import numpy.typing as npt

#: The instruction set ``range_search_256`` uses on this CPU: 0 portable, 1 popcnt, 2 AVX-512 VPOPCNTDQ.
SCAN256_LEVEL: int

def luma_from_rgb(rgb: npt.NDArray[np.uint8], bgr: bool = False) -> npt.NDArray[np.float32]: ...
def luma_from_gray(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]: ...
def gray_from_rgb(rgb: npt.NDArray[np.uint8], bgr: bool = False) -> npt.NDArray[np.uint8]: ...
def lanczos_gray(gray: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]: ...
def pdq_from_luma(
    luma: npt.NDArray[np.float32], dihedral: bool = False, inplace: bool = False
) -> tuple[npt.NDArray[np.uint8], int]: ...
def pdq_downsample(luma: npt.NDArray[np.float32], copy_64x64: bool = True) -> npt.NDArray[np.float32]: ...
def whash_low(
    pixels: npt.NDArray[np.float64], hash_size: int = 8, remove_max_haar_ll: bool = True
) -> npt.NDArray[np.float64]: ...
def hamming_one_to_many(query: npt.NDArray[np.uint8], rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]: ...
def hamming_many_to_many(
    a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8], threads: int = 0
) -> npt.NDArray[np.int32]: ...
def range_search_256(
    queries: npt.NDArray[np.uint8],
    head: npt.NDArray[np.uint64],
    tail: npt.NDArray[np.uint64],
    max_distance: int,
    threads: int = 1,
    level: int = -1,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64]]: ...
