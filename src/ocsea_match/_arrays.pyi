"""The NumPy array types the native stubs (``_core.pyi``, ``_tmk.pyi``, ``_mih.pyi``) take and
return, named once: ``U8`` is ``npt.NDArray[np.uint8]`` and so on. Types only (a stub with no
module behind it): nothing imports it at run time."""

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

U8: TypeAlias = npt.NDArray[np.uint8]
U32: TypeAlias = npt.NDArray[np.uint32]
U64: TypeAlias = npt.NDArray[np.uint64]
I32: TypeAlias = npt.NDArray[np.int32]
I64: TypeAlias = npt.NDArray[np.int64]
F32: TypeAlias = npt.NDArray[np.float32]
F64: TypeAlias = npt.NDArray[np.float64]
