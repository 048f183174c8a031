"""Counted nouns in messages, said once: ``plural(1, "PDQ entry")`` is ``"1 PDQ entry"``.

>>> plural(2, "PDQ entry"), plural(1, "line"), plural(3, "index", "indexes")
('2 PDQ entries', '1 line', '3 indexes')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["idle_sentence", "plural"]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"{count} {noun}"`` with the noun in the plural unless the count is one (English rules
    for the nouns this tool uses; ``nouns`` gives an irregular plural)."""
    if count == 1:
        return f"{count} {noun}"
    if nouns is None:
        head, _, last = noun.rpartition(" ")
        if last.endswith("y") and last[-2:-1] not in ("a", "e", "o", "u"):
            last = last[:-1] + "ies"
        elif last.endswith(("s", "x", "ch", "sh")):
            last += "es"
        else:
            last += "s"
        nouns = f"{head} {last}" if head else last
    return f"{count} {nouns}"


def idle_sentence(idle: Mapping[str, int], algorithms: Iterable[str]) -> str | None:
    """``HashIndex.idle_note``'s sentence for ``{table: rows}`` that ``algorithms`` cannot match.

    >>> idle_sentence({"phash": 2}, ["pdq"])
    "pictures are hashed with pdq, so the lists' phash (2 rows) cannot match them; add phash to --algo, or leave --algo out"
    """
    from .hashes import HASH_BITS  # (here: this module is imported by nearly every other)

    if not idle:
        return None
    algorithms = list(algorithms)
    tables = ", ".join(f"{algorithm} ({plural(rows, 'row')})" for algorithm, rows in idle.items())
    hashed = ",".join(a for a in algorithms if a in HASH_BITS)
    add = ",".join(dict.fromkeys("pdq" if a == "pdq-robust" else a for a in idle))
    return (f"pictures are hashed with {hashed or 'digests only'}, so the lists' {tables} cannot match them"
            + (" (a video's frames, always PDQ, still can)" if "pdq" in idle else "")
            + f"; add {add} to --algo, or leave --algo out")
