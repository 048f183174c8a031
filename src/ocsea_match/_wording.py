"""Counted nouns in messages, said once: ``plural(1, "PDQ entry")`` is ``"1 PDQ entry"``.

>>> plural(2, "PDQ entry"), plural(1, "line"), plural(3, "index", "indexes")
('2 PDQ entries', '1 line', '3 indexes')
"""

from __future__ import annotations

__all__ = ["plural"]


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
