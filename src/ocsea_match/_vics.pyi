"""Type stub of the native VICS byte scanner (``_vics.pyx``, used by ``formats/vics_strip.py``)."""

from ._arrays import U8

def compact_items(buf: U8 | bytes, out: U8, final: bool, limit: int) -> tuple[int, int, int, bool, bool]: ...
