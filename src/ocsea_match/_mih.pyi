"""Type stub of the native multi-index hashing kernels (``_mih.pyx``, used by ``robust_search``)."""

import numpy as np
import numpy.typing as npt

def build(
    head_a: npt.NDArray[np.uint64],
    tail_a: npt.NDArray[np.uint64],
    head_b: npt.NDArray[np.uint64],
    tail_b: npt.NDArray[np.uint64],
    starts: npt.NDArray[np.int32],
    key_bits: int,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]: ...
def search(
    queries: npt.NDArray[np.uint8],
    head_a: npt.NDArray[np.uint64],
    tail_a: npt.NDArray[np.uint64],
    head_b: npt.NDArray[np.uint64],
    tail_b: npt.NDArray[np.uint64],
    offsets: npt.NDArray[np.uint32],
    ids: npt.NDArray[np.uint32],
    starts: npt.NDArray[np.int32],
    masks: npt.NDArray[np.uint64],
    key_bits: int,
    radius: int,
    max_distance: int,
    min_row: int = 0,
    threads: int = 1,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64]]: ...
