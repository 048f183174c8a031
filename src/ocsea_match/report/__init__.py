"""The case report: one self-contained HTML file an examiner can hand over.

``write_report(case_dir, path)`` renders a scan's case folder (records.jsonl, provenance.json,
summary.json, SHA256SUMS ...) into one HTML file with no external script, style, font or image:
provenance, the integrity check of the case folder, counts as inline SVG charts, a timeline, the
matches and the errors/skips (long tables split into ``report-files/*.html`` beside it), and the
method. The report is a deterministic function of the case files: rendering again gives the
same bytes, which is how its SHA-256 in ``SHA256SUMS`` is reproduced.

>>> import ocsea_match
>>> summary = ocsea_match.run_scan(["seized"], "case-0043")  # or: ocsea-match scan seized case-0043
>>> ocsea_match.write_report("case-0043", "case-0043/report.html")
[...Path('case-0043/report.html')]
"""

from __future__ import annotations

import os
from pathlib import Path

from .render import files_dir_for, render_case, sha256_lines

__all__ = ["write_report", "report_command", "files_dir_for", "sha256_lines", "REPORT"]

#: The report's name inside a case folder.
REPORT = "report.html"


def write_report(case_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None, *,
                 thumbnails: bool = False) -> list[Path]:
    """Render the report of the case folder ``case_dir`` to ``path`` (default ``case_dir/report.html``).

    Returns the files written: the report first, then its split pages (``report-files/matches-0001.html``
    ...) when the tables are long. ``thumbnails=True`` embeds small thumbnails of matched pictures,
    read read-only from the evidence (off by default: the report then holds no picture at all).
    Raises ``FileNotFoundError`` when ``case_dir`` has no ``records.jsonl``.

    >>> [path.name for path in write_report("case-0042", "case-0042.html")]
    ['case-0042.html']
    """
    case = Path(case_dir)
    out = Path(path) if path is not None else case / REPORT
    return render_case(case, out, thumbnails=thumbnails)


def report_command(case_dir: str, output: str | None, thumbnails: bool = False) -> tuple[int, str]:
    """What ``ocsea-match report`` does; returns ``(exit code, message)``.

    Without ``output`` the report goes to ``case_dir/report.html``; when that exists (a scan wrote
    it), the case is rendered into a temporary folder and compared with it instead of overwriting
    it: the same bytes mean the report is reproduced from the case files. Exit 0: written (or
    reproduced) and the case folder verified; 1: the integrity check failed, or the existing report
    differs; 2: could not run (no case folder, output inside the evidence).

    >>> report_command("case-0042", "r.html")
    (0, 'r.html written (SHA-256 ...). VERIFIED: all 6 case files listed in SHA256SUMS ...')
    """
    import filecmp
    import json
    import shutil
    import tempfile

    from ..files import file_sha256
    from ..scanning.walk import is_inside
    from .integrity import verify_case

    case = Path(case_dir)
    if not (case / "records.jsonl").is_file():
        return 2, f"{case}: no records.jsonl; not a case folder"
    try:
        sources = json.loads((case / "provenance.json").read_text(encoding="utf-8")).get("sources") or []
    except (OSError, ValueError):
        sources = []
    out = Path(output) if output else case / REPORT
    if is_inside(str(out.parent.absolute()), [s for s in sources if os.path.isdir(s)]):
        return 2, f"{out}: inside a source of the scan; nothing may be written inside the evidence"
    verdict = verify_case(case)
    code = 0 if verdict.verdict == "VERIFIED" else 1
    if output is None and out.exists():
        with tempfile.TemporaryDirectory(prefix="ocsea-report-") as tmp:
            fresh = write_report(case, Path(tmp) / REPORT, thumbnails=thumbnails)
            names = [p.relative_to(tmp).as_posix() for p in fresh]
            same = all((case / n).is_file() and filecmp.cmp(Path(tmp) / n, case / n, shallow=False) for n in names)
            if same:
                return code, (f"{out}: reproduced, the same bytes as the existing report (SHA-256 "
                              f"{file_sha256(out)}); {verdict.sentence}")
            kept = Path(tempfile.gettempdir()) / f"ocsea-report-{os.getpid()}.html"
            shutil.copyfile(Path(tmp) / REPORT, kept)
        return 1, (f"{out} exists and rendering the case again gives other bytes (left unchanged; the new "
                   f"rendering is {kept}); write elsewhere with -o. {verdict.sentence}")
    try:
        written = write_report(case, out, thumbnails=thumbnails)
    except OSError as exc:
        return 2, f"{out}: cannot write the report: {exc}"
    extra = f" and {len(written) - 1} page(s) in {files_dir_for(out)}" if len(written) > 1 else ""
    return code, f"{out} written (SHA-256 {file_sha256(out)}){extra}. {verdict.sentence}"
