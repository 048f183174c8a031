"""Chart geometry for the report's inline SVG: horizontal bar charts of counts, and a timeline.

Only numbers and labels are computed here; ``templates/macros.html.j2`` draws them (so every
label goes through the template engine's escaping). Every bar carries its count as text.

>>> chart = bar_chart("By status", {"ok": 90, "error": 10})
>>> [(b.label, b.value) for b in chart.bars]
[('ok', 90), ('error', 10)]
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Bar", "BarChart", "Timeline", "bar_chart", "timeline"]

#: Bars shown before the rest are added up as one "other" bar.
MAX_BARS = 20
BAR_AREA = 200  # px of the longest bar
BAR_HEIGHT = 18
LABEL_WIDTH = 200


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float  # px
    y: int
    share: float  # of the chart's total, 0..1


@dataclass
class BarChart:
    title: str
    total: int
    bars: list[Bar] = field(default_factory=list)
    note: str = ""
    height: int = 0
    label_width: int = LABEL_WIDTH
    bar_area: int = BAR_AREA


def bar_chart(title: str, counts: Mapping[str, int], *, note: str = "", order: str = "count") -> BarChart:
    """Bars for ``counts``, largest first (``order="label"``: by label), at most ``MAX_BARS``."""
    items = sorted(counts.items(), key=(lambda kv: (-kv[1], kv[0])) if order == "count" else (lambda kv: kv[0]))
    if len(items) > MAX_BARS:
        rest = items[MAX_BARS - 1:]
        items = items[:MAX_BARS - 1] + [(f"other ({len(rest)} values)", sum(v for _, v in rest))]
    total = sum(counts.values())
    top = max((v for _, v in items), default=0)
    bars = [Bar(label, value, round(BAR_AREA * value / top, 1) if top else 0.0, i * (BAR_HEIGHT + 4),
                value / total if total else 0.0)
            for i, (label, value) in enumerate(items)]
    return BarChart(title, total, bars, note, len(bars) * (BAR_HEIGHT + 4) + 4)


@dataclass(frozen=True)
class Column:
    label: str
    value: int
    matched: int
    x: float
    height: float
    matched_height: float
    show_label: bool


@dataclass
class Timeline:
    unit: str  # "day", "month", "year" or "decade"
    columns: list[Column] = field(default_factory=list)
    top: int = 0
    first: str = ""
    last: str = ""
    width: int = 900
    height: int = 160
    column_width: float = 0.0


def _bucket(day: str, unit: str) -> str:
    if unit == "day":
        return day
    if unit == "month":
        return day[:7]
    if unit == "year":
        return day[:4]
    return day[:3] + "0s"


def _next(label: str, unit: str) -> str:
    if unit == "day":
        return (_dt.date.fromisoformat(label) + _dt.timedelta(days=1)).isoformat()
    if unit == "month":
        y, m = int(label[:4]), int(label[5:7])
        return f"{y + m // 12:04d}-{m % 12 + 1:02d}"
    if unit == "year":
        return f"{int(label) + 1:04d}"
    return f"{int(label[:4]) + 10:04d}s"


def timeline(days: Mapping[str, int], matched: Mapping[str, int], *, width: int = 900, height: int = 160) -> Timeline:
    """Columns of files per day, month, year or decade (whichever gives at most ~120 columns), gaps as zeros."""
    if not days:
        return Timeline("day", width=width, height=height)
    first, last = min(days), max(days)
    span = (_dt.date.fromisoformat(last) - _dt.date.fromisoformat(first)).days
    unit = "day" if span <= 92 else "month" if span <= 366 * 10 else "year" if span <= 366 * 120 else "decade"
    counts: dict[str, int] = {}
    hits: dict[str, int] = {}
    for day, n in days.items():
        counts[_bucket(day, unit)] = counts.get(_bucket(day, unit), 0) + n
    for day, n in matched.items():
        hits[_bucket(day, unit)] = hits.get(_bucket(day, unit), 0) + n
    labels = [_bucket(first, unit)]
    end = _bucket(last, unit)
    while labels[-1] < end and len(labels) < 2000:
        labels.append(_next(labels[-1], unit))
    top = max(counts.values())
    column = min(width / len(labels), 40.0)
    every = max(1, len(labels) // 12)
    final = len(labels) - 1
    shown = set(range(0, len(labels), every))
    if final - max(shown) >= max(every * 3 // 4, 1):  # the last label too, where it does not collide
        shown.add(final)
    cols = [Column(label, counts.get(label, 0), hits.get(label, 0), round(i * column, 2),
                   round(height * counts.get(label, 0) / top, 2), round(height * hits.get(label, 0) / top, 2),
                   i in shown)
            for i, label in enumerate(labels)]
    return Timeline(unit, cols, top, first, last, width, height, round(column, 2))
