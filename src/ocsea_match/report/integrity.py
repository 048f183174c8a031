"""The integrity check of a case folder: every line of ``SHA256SUMS`` verified when the report is made.

The report's own files (``report.html`` and ``report-files/``) are listed in ``SHA256SUMS`` by the
scan but are not checked here: a report cannot hash itself; re-rendering the case gives the same
bytes, and ``sha256sum -c SHA256SUMS`` checks them. Files of the case folder that ``SHA256SUMS``
does not list are named too.

>>> from pathlib import Path
>>> check = verify_case(Path("case-0042"))
>>> check.verdict, [(f.name, f.result) for f in check.files][:2]
('VERIFIED', [('records.jsonl', 'OK'), ('matches.csv', 'OK')])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..files import file_sha256

__all__ = ["FileCheck", "Integrity", "verify_case", "is_report_output", "SUMS"]

SUMS = "SHA256SUMS"


def is_report_output(name: str) -> bool:
    """Whether a case-relative name is one of the report's own files."""
    return name == "report.html" or name.startswith("report-files/")


@dataclass(frozen=True)
class FileCheck:
    """One listed file: ``result`` is ``OK``, ``FAILED`` (other bytes) or ``MISSING``."""

    name: str
    expected: str
    actual: str | None
    result: str


@dataclass
class Integrity:
    """``verdict``: ``VERIFIED``, ``FAILED`` or ``NOT VERIFIABLE`` (no SHA256SUMS); ``sentence`` says it in words."""

    verdict: str
    sentence: str
    files: list[FileCheck] = field(default_factory=list)
    report_lines: list[str] = field(default_factory=list)  # the report's own files, listed, not checked
    unlisted: list[str] = field(default_factory=list)  # in the case folder, not in SHA256SUMS
    bad_lines: list[int] = field(default_factory=list)  # SHA256SUMS lines that are not "HEX  NAME"


def _parse(text: str) -> tuple[list[tuple[str, str]], list[int]]:
    entries, bad = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep:
            digest, sep, name = line.partition(" *")  # sha256sum's binary-mode marker
        digest = digest.strip().lower()
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            bad.append(number)
            continue
        entries.append((digest, name))
    return entries, bad


def verify_case(case_dir: Path) -> Integrity:
    """Check every file ``SHA256SUMS`` lists against its bytes now."""
    sums = case_dir / SUMS
    if not sums.is_file():
        return Integrity("NOT VERIFIABLE", f"The case folder has no {SUMS} (an interrupted scan?): nothing can be verified.",
                         unlisted=_unlisted(case_dir, set()))
    entries, bad = _parse(sums.read_text(encoding="utf-8", errors="replace"))
    checks: list[FileCheck] = []
    report_lines: list[str] = []
    for expected, name in entries:
        if is_report_output(name):
            report_lines.append(name)
            continue
        path = case_dir / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            checks.append(FileCheck(name, expected, None, "FAILED"))  # not a file of this folder
            continue
        actual = file_sha256(path) if path.is_file() else None
        result = "MISSING" if actual is None else ("OK" if actual == expected else "FAILED")
        checks.append(FileCheck(name, expected, actual, result))
    listed = {name for _, name in entries}
    failed = [c for c in checks if c.result != "OK"]
    if failed or bad or not checks:
        why = ", ".join(f"{c.name} {c.result.lower()}" for c in failed)
        if bad:
            why = ", ".join(filter(None, [why, f"{len(bad)} unreadable line(s) in {SUMS}"]))
        if not checks:
            why = why or f"{SUMS} lists no case file"
        sentence = f"FAILED: {why}. The case folder is not as the scan left it; what this report shows comes from the files as they are now."
        verdict = "FAILED"
    else:
        verdict = "VERIFIED"
        sentence = (f"VERIFIED: all {len(checks)} case files listed in {SUMS} have the SHA-256 it records, "
                    "checked when this report was made.")
    return Integrity(verdict, sentence, checks, report_lines, _unlisted(case_dir, listed | {SUMS}), bad)


def _unlisted(case_dir: Path, listed: set[str]) -> list[str]:
    out = []
    for path in sorted(case_dir.iterdir()):
        name = path.name
        if name in listed or is_report_output(name) or name == "report-files" or name.startswith(".work-"):
            continue
        out.append(name + ("/" if path.is_dir() else ""))
    return out
