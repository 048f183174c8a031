"""The report's two long tables, streamed: a small table stays in the page, a long one is written
out as numbered pages beside the report (``report-files/matches-0001.html`` ...), 2,000 rows
each, while the records are read; only one page of rows is in memory at a time.

>>> def write_page(name, number, rows, first_row, has_next):
...     print(name, len(rows), "rows from", first_row, "more" if has_next else "last")
>>> table = PagedTable("matches", write_page, inline_max=2, page_size=3)
>>> for n in range(7):
...     table.add({"n": n})
matches-0001.html 3 rows from 1 more
matches-0002.html 3 rows from 4 more
>>> info = table.finish()
matches-0003.html 1 rows from 7 last
>>> info.total, info.pages
(7, ['matches-0001.html', 'matches-0002.html', 'matches-0003.html'])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PagedTable", "TableInfo", "INLINE_MAX", "PAGE_SIZE", "PREVIEW"]

Row = dict[str, Any]

#: A table of at most this many rows is shown whole in the report itself.
INLINE_MAX = 1000
#: Rows per split page.
PAGE_SIZE = 2000
#: Rows of a split table shown in the report itself (the first ones).
PREVIEW = 100


@dataclass
class TableInfo:
    """What the report shows of a table: ``rows`` in the page, and ``pages`` (file names) when split."""

    kind: str
    total: int = 0
    rows: list[Row] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    @property
    def split(self) -> bool:
        return bool(self.pages)


class PagedTable:
    """Collects rows; past ``inline_max`` it hands full pages to ``write_page(name, number, rows, first_row, has_next)``."""

    def __init__(self, kind: str, write_page: Callable[[str, int, list[Row], int, bool], None],
                 inline_max: int = INLINE_MAX, page_size: int = PAGE_SIZE, preview: int = PREVIEW) -> None:
        self.info = TableInfo(kind)
        self._write_page = write_page
        self._inline_max = inline_max
        self._page_size = max(page_size, inline_max)
        self._preview = preview
        self._buffer: list[Row] = []
        self._first = 1  # the table row number of the buffer's first row

    def _name(self, number: int) -> str:
        return f"{self.info.kind}-{number:04d}.html"

    def _flush(self, has_next: bool) -> None:
        number = len(self.info.pages) + 1
        name = self._name(number)
        if not self.info.pages:
            self.info.rows = self._buffer[: self._preview]
        self._write_page(name, number, self._buffer, self._first, has_next)
        self.info.pages.append(name)
        self._first += len(self._buffer)
        self._buffer = []

    def add(self, row: Row) -> None:
        if len(self._buffer) == self._page_size:
            self._flush(has_next=True)
        self._buffer.append(row)
        self.info.total += 1

    def finish(self) -> TableInfo:
        if self.info.pages or len(self._buffer) > self._inline_max:
            self._flush(has_next=False)
        else:
            self.info.rows = self._buffer
        return self.info
