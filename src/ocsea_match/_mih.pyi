"""Type stub of the native multi-index hashing kernels (``_mih.pyx``, used by ``robust_search``)."""

from ._arrays import I32, I64, U8, U32, U64

def build(
    head_a: U64,
    tail_a: U64,
    head_b: U64,
    tail_b: U64,
    starts: I32,
    key_bits: int,
    threads: int = 1,
) -> tuple[U32, U32]: ...
def search(
    queries: U8,
    head_a: U64,
    tail_a: U64,
    head_b: U64,
    tail_b: U64,
    offsets: U32,
    ids: U32,
    starts: I32,
    masks: U64,
    key_bits: int,
    radius: int,
    max_distance: int,
    min_row: int = 0,
    threads: int = 1,
    max_row: int = -1,
    wide: int = -1,
) -> tuple[I64, I32, I64]: ...
