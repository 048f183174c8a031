"""Small helpers for messages people read: counts with the right plural.

>>> plural(1, "line"), plural(2, "line"), plural(1, "PDQ entry", "PDQ entries")
('1 line', '2 lines', '1 PDQ entry')
"""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 line"``, ``"2 lines"``; ``plural_form`` for words that do not just take an s."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"
