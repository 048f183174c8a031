"""Rendering: the Jinja2 environment (templates shipped in the package, autoescape on), the filters
that show evidence text safely, and the writing of the report and its split pages.

Everything the page shows is a function of the case files (and of this package's version), so
rendering the same case twice gives the same bytes: no clock, no absolute path of where the case
is now, no random ids. ``--thumbnails`` is the exception: it also reads the evidence.

>>> written = render_case(Path("case-0042"), Path("case-0042/report.html"))
>>> [path.name for path in written]
['report.html']
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..files import file_sha256
from . import charts, pages as _pages
from .gather import Row, Stats, gather
from .integrity import Integrity, verify_case
from .method import algorithm_rows
from .pages import PagedTable, TableInfo
from .thumbs import Thumbnailer

__all__ = ["environment", "render_case", "files_dir_for"]

RECORDS = "records.jsonl"
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _ev(value: Any) -> Markup:
    """Evidence text: escaped, with invisible and direction-changing characters shown as ``\\uXXXX``."""
    if value is None:
        return Markup("")
    text = str(escape(str(value)))
    return Markup(_INVISIBLE.sub(lambda m: f'<span class="ctl" title="invisible or direction-changing character">'
                                           f"\\u{ord(m.group()):04x}</span>", text))


def _css_string(value: Any) -> Markup:
    """Text as the inside of a CSS string: every character but letters and digits as a hex escape."""
    return Markup("".join(c if c.isascii() and c.isalnum() else f"\\{ord(c):06x}" for c in str(value)))


def _num(value: Any) -> str:
    return "" if value is None or value == "" else f"{value:,}" if isinstance(value, int) else str(value)


def _size(value: Any) -> str:
    if not isinstance(value, int):
        return ""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%" if value >= 0.001 or value == 0 else "<0.1%"


def _times(value: Any) -> str:
    """A video match's frame times, briefly: ``12.0 s (listed 3.0 s), ...``."""
    if not value:
        return ""
    items = value if isinstance(value, list) else [value]
    parts = []
    for item in items[:6]:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            parts.append(f"{item[0]} s" + (f" (listed {item[1]} s)" if item[1] is not None else ""))
        else:
            parts.append(f"{item} s" if isinstance(item, (int, float)) else json.dumps(item))
    more = f", ... ({len(items) - 6} more)" if len(items) > 6 else ""
    return ", ".join(parts) + more


def environment() -> jinja2.Environment:
    """The report's Jinja2 environment: package templates, autoescape always on, a key a case lacks renders empty."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("ocsea_match.report", "templates"),
                             autoescape=True, undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(ev=_ev, num=_num, size=_size, pct=_pct, times=_times, css_string=_css_string)
    return env


def files_dir_for(out: Path) -> Path:
    """Where the split pages of a report go: ``report-files/`` beside ``report.html``."""
    return out.with_name(out.stem + "-files")


def _versions() -> dict[str, str]:
    from .. import __version__

    out = {"ocsea-match": __version__}
    for name in ("jinja2", "markupsafe", "pillow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _load_json(path: Path) -> tuple[dict[str, Any], str]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except FileNotFoundError:
        return {}, f"{path.name} is missing"
    except (OSError, ValueError) as exc:
        return {}, f"{path.name} cannot be read: {exc}"


def _write(path: Path, chunks: Iterable[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as f:
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)


def _agreement(stats: Stats, summary: dict[str, Any]) -> str:
    """Whether summary.json's counts are the records' counts (they are, unless a file was altered)."""
    if not summary:
        return "summary.json is absent or unreadable; the counts here come from records.jsonl"
    ours = {"files": stats.files, "by_status": dict(stats.by_status), "files_matched": stats.files_matched}
    theirs = {k: summary.get(k) for k in ours}
    if ours == theirs:
        return "summary.json agrees with records.jsonl (files, statuses, files matched)"
    return f"summary.json does NOT agree with records.jsonl: it says {theirs}, the records give {ours}"


def _charts(stats: Stats) -> list[charts.BarChart]:
    return [
        charts.bar_chart("Files by status", stats.by_status),
        charts.bar_chart("Files by media type (from the bytes)", stats.by_media_type),
        charts.bar_chart("Files by format (from the bytes)", stats.by_format),
        charts.bar_chart("Skipped and failed files by reason", stats.by_reason),
        charts.bar_chart("Files matched, by list", stats.files_by_list,
                         note="a file matched on several lists counts once per list"),
        charts.bar_chart("Files matched, by category of the closest match", stats.files_by_category),
    ]


def render_case(case_dir: Path, out: Path, *, thumbnails: bool = False) -> list[Path]:
    """Render the report of ``case_dir`` to ``out`` (and its split pages); returns every file written."""
    case_dir, out = Path(case_dir), Path(out)
    records = case_dir / RECORDS
    if not records.is_file():
        raise FileNotFoundError(f"{case_dir}: no {RECORDS}; not a case folder")
    env = environment()
    integrity: Integrity = verify_case(case_dir)
    provenance, provenance_problem = _load_json(case_dir / "provenance.json")
    summary, summary_problem = _load_json(case_dir / "summary.json")
    files_dir = files_dir_for(out)
    if files_dir.is_dir():  # pages of an earlier rendering
        for old in files_dir.glob("*-[0-9][0-9][0-9][0-9].html"):
            old.unlink()
    thumbs = Thumbnailer() if thumbnails else None
    written: list[Path] = []
    common = {"case_name": provenance.get("case_dir") or case_dir.name, "report_name": out.name,
              "files_dir": files_dir.name, "thumbnails": thumbnails, "page_size": _pages.PAGE_SIZE}

    def add_thumbs(rows: list[Row]) -> list[Row]:
        if thumbs is not None:
            for row in rows:
                row["thumb"] = thumbs.for_row(row)
        return rows

    def page_writer(title: str, kind: str):  # noqa: ANN202
        def write_page(name: str, number: int, rows: list[Row], first: int, has_next: bool) -> None:
            files_dir.mkdir(exist_ok=True)
            if kind == "matches":
                add_thumbs(rows)
            template = env.get_template("page.html.j2")
            prev = f"{kind}-{number - 1:04d}.html" if number > 1 else None
            nxt = f"{kind}-{number + 1:04d}.html" if has_next else None
            path = files_dir / name
            _write(path, template.generate(title=title, kind=kind, number=number, rows=rows, first=first,
                                           prev=prev, next=nxt, **common))
            written.append(path)
        return write_page

    sizes = (_pages.INLINE_MAX, _pages.PAGE_SIZE, _pages.PREVIEW)  # read now: a test may shrink them
    matches = PagedTable("matches", page_writer("Matches", "matches"), *sizes)
    problems = PagedTable("problems", page_writer("Errors and skips", "problems"), *sizes)
    stats = gather(records, matches.add, problems.add)
    match_info: TableInfo = matches.finish()
    problem_info: TableInfo = problems.finish()
    add_thumbs(match_info.rows)
    if files_dir.is_dir() and not any(files_dir.iterdir()):
        files_dir.rmdir()
    parameters = provenance.get("parameters") or {}
    context = {
        **common,
        "provenance": provenance, "provenance_problem": provenance_problem, "summary": summary,
        "summary_problem": summary_problem, "agreement": _agreement(stats, summary), "integrity": integrity,
        "stats": stats, "charts": _charts(stats), "timeline": charts.timeline(stats.mtime_days, stats.matched_mtime_days),
        "by_list_category": sorted(stats.matches_by_list_category.items()),
        "list_category_chart": charts.bar_chart("Matches by list / category", {
            f"{name} / {category}": n for (name, category), n in stats.matches_by_list_category.items()}),
        "matches": match_info, "problems": problem_info, "versions": _versions(),
        "parameters": parameters,
        "algorithms": algorithm_rows(parameters.get("thresholds") or {}, set(stats.matches_by_algorithm)),
    }
    _write(out, env.get_template("report.html.j2").generate(**context))
    return [out, *sorted(written)]


def sha256_lines(paths: list[Path], base: Path) -> str:
    """``SHA256SUMS`` lines (``HEX  relative/name``) of ``paths`` relative to ``base``."""
    return "".join(f"{file_sha256(p)}  {p.relative_to(base).as_posix()}\n" for p in paths)
