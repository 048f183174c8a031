"""Type stub of the native TMK+PDQF kernels (``_tmk.pyx``)."""

from ._arrays import F32, F64, I32, I64, U8

def pdqf_into(rgb: U8, out: F32) -> None: ...
def pdqf_rows(rgb_rows: U8, out: F32) -> None: ...
def pdqf_gray_rows(gray_rows: U8, out: F32) -> None: ...
def fold(
    feats: F32,
    t0: int,
    periods: I32,
    sums: F64,
    cos_acc: F64,
    sin_acc: F64,
) -> None: ...
def level2(
    cos_a: F32,
    sin_a: F32,
    cos_b: F32,
    sin_b: F32,
    periods: I32,
    coefficients: F32,
) -> float: ...
def level2_many(
    cos_q: F32,
    sin_q: F32,
    cos_l: F32,
    sin_l: F32,
    rows: I64,
    periods: I32,
    coefficients: F32,
) -> F64: ...
