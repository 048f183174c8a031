"""The case report: a real scan of a generated seized folder (matches, errors, hostile and non-UTF-8
names, a resumed run) rendered, checked for completeness, self-containment, escaping, integrity
and reproducibility; a headless Chromium screenshot where Chromium is installed."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ocsea_match import hash_file, write_report
from ocsea_match.cli import main
from ocsea_match.report import pages
from ocsea_match.scanning import run_scan

from helpers import encode

HOSTILE = "<script>alert(1)<script>.jpg"
HOSTILE_IMG = "<img src=x onerror=alert(3)>.png"
HOSTILE_ID = "</td><script>alert(2)</script>"
BIDI = "evil\u202egpj.exe"
NON_UTF8 = b"caf\xe9.jpg"
OLD_MTIME = 1551700800  # 2019-03-04 12:00 UTC


def _photo(images: dict[str, Image.Image], shift: int) -> Image.Image:
    return images["photo-400x300"].rotate(shift * 7).resize((400 - shift, 300))


def _make_evidence(root: Path, lists: Path, images: dict[str, Image.Image]) -> Path:
    (root / "a").mkdir(parents=True)
    (root / "names").mkdir()
    lists.mkdir()
    (root / "a" / "photo.jpg").write_bytes(encode(_photo(images, 0), "JPEG", quality=92))
    (root / "a" / "copy.png").write_bytes(encode(_photo(images, 0), "PNG"))
    (root / "names" / HOSTILE).write_bytes(encode(_photo(images, 3), "JPEG", quality=90))
    (root / "names" / HOSTILE_IMG).write_bytes(b"<html>not a picture</html>\n")  # skipped: in the table
    (root / "names" / BIDI).write_bytes(encode(_photo(images, 0), "JPEG", quality=85))  # matches A1
    with open(os.path.join(os.fsencode(root / "names"), NON_UTF8), "wb") as f:
        f.write(encode(_photo(images, 0), "JPEG", quality=80))
    (root / "a" / "empty.jpg").write_bytes(b"")
    whole = encode(_photo(images, 6), "JPEG", quality=90)
    (root / "a" / "truncated.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    (root / "a" / "broken.png").write_bytes(encode(_photo(images, 7), "PNG")[:60])
    (root / "a" / "notes.txt").write_text("meeting at noon\n")
    with zipfile.ZipFile(root / "a" / "archive.zip", "w") as z:  # a matching member: thumbnails read it out
        z.writestr("pics/inner.jpg", encode(_photo(images, 0), "JPEG", quality=75))
    (root / "a" / "old.jpg").write_bytes(encode(_photo(images, 8), "JPEG"))
    os.utime(root / "a" / "old.jpg", (OLD_MTIME, OLD_MTIME))
    a1 = hash_file(root / "a" / "photo.jpg", ["pdq"], mode="exact")["hashes"]["pdq"]
    a2 = hash_file(root / "names" / HOSTILE, ["pdq"], mode="exact")["hashes"]["pdq"]
    with open(lists / "known_list.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["hash", "quality", "id", "category"])
        w.writerow([a1["hex"], a1["quality"], "A1", "2"])
        w.writerow([a2["hex"], a2["quality"], HOSTILE_ID, "<b>cat</b>"])
    return lists / "known_list.csv"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, images: dict[str, Image.Image]) -> dict[str, Path]:
    """A scanned case: first run cut short (the last records torn off), then resumed."""
    base = tmp_path_factory.mktemp("report")
    root, case_dir = base / "evidence", base / "case"
    known = _make_evidence(root, base / "lists", images)
    run_scan([root], case_dir, lists=[known], progress="none", jobs=1)
    records = (case_dir / "records.jsonl").read_bytes().splitlines(keepends=True)
    (case_dir / "records.jsonl").write_bytes(b"".join(records[:-4]) + records[-4][:20])  # killed mid-write
    run_scan([root], case_dir, lists=[known], progress="none", jobs=1, resume=True)
    return {"root": root, "case": case_dir, "list": known, "base": base}


def _copy(case: dict[str, Path], name: str) -> Path:
    target = case["base"] / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(case["case"], target)
    return target


class _Cells(HTMLParser):
    """Text of every table cell, row by row, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "data", "poster", "srcset", "xlink:href", "formaction", "background"):
                self.urls.append((tag, name, value or ""))
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parse(path: Path) -> _Cells:
    parser = _Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _shown(text: str) -> str:
    """Evidence text as the report shows it: a direction override as a visible ``\\u202e``."""
    return text.replace("\u202e", "\\u202e")


def _report_files(report: Path) -> list[Path]:
    folder = report.with_name(report.stem + "-files")
    return [report, *sorted(folder.glob("*.html"))] if folder.is_dir() else [report]


def _sums(case_dir: Path) -> dict[str, str]:
    out = {}
    for line in (case_dir / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.partition("  ")
        out[name] = digest
    return out


def test_scan_writes_a_report_listed_in_sha256sums(case: dict[str, Path]) -> None:
    case_dir = case["case"]
    report = case_dir / "report.html"
    sums = _sums(case_dir)
    assert sums["report.html"] == hashlib.sha256(report.read_bytes()).hexdigest()
    text = report.read_text(encoding="utf-8")
    for heading in ("Case and provenance", "Integrity check", "What the sources held", "Timeline", "Matches",
                    "Errors and skips", "Method"):
        assert heading in text
    assert "verdict verified" in text and ">FAILED<" not in text and "verdict failed" not in text
    cells = _parse(report)
    runs = [r for r in cells.rows if len(r) == 7 and r[3] in ("first run", "resumed")]
    assert [r[3] for r in runs] == ["first run", "resumed"]  # both runs, with their start and end
    assert all(re.match(r"\d{4}-\d\d-\d\dT", r[1]) and re.match(r"\d{4}-\d\d-\d\dT", r[2]) for r in runs)
    assert hashlib.sha256(case["list"].read_bytes()).hexdigest() in text  # the list, with its SHA-256
    assert "<svg" in text and "Files by status" in text and "2019" in text  # charts and the timeline
    flagged = [r for r in cells.rows if len(r) == 8 and r[1].endswith("truncated.jpg")]
    assert flagged and flagged[0][2] == "ok" and "truncated" in flagged[0][7]  # flagged files are listed too
    assert any(len(r) == 8 and r[1].endswith("empty.jpg") and r[2:4] == ["skipped", "empty-file"] for r in cells.rows)
    prov = json.loads((case_dir / "provenance.json").read_text())
    assert html.escape(prov["command_line"], quote=False) in text


def test_every_match_of_matches_csv_appears(case: dict[str, Path]) -> None:
    with open(case["case"] / "matches.csv", newline="", encoding="utf-8") as f:
        matches = list(csv.DictReader(f))
    assert len(matches) >= 5  # photo, its PNG copy, the non-UTF-8 copy, the hostile name, the archive member
    assert any(m["container_file"] for m in matches)
    rows = _parse(case["case"] / "report.html").rows
    for m in matches:
        hits = [r for r in rows if len(r) >= 9 and r[1].startswith(_shown(m["path"])) and r[5] == m["entry_id"]
                and r[7] == m["algorithm"] and r[8] == f"{m['distance']} / {m['threshold']}" and m["sha256"] in r[3]]
        assert hits, f"{m['path']} / {m['entry_id']} is not in the report"


def test_split_pages_hold_every_row_and_are_listed(case: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "INLINE_MAX", 2)
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    monkeypatch.setattr(pages, "PREVIEW", 1)
    case_dir = case["base"] / "case-split"
    shutil.rmtree(case_dir, ignore_errors=True)
    run_scan([case["root"]], case_dir, lists=[case["list"]], progress="none", jobs=1)
    files = _report_files(case_dir / "report.html")
    assert len(files) > 3
    sums = _sums(case_dir)
    for page in files:
        assert sums[page.relative_to(case_dir).as_posix()] == hashlib.sha256(page.read_bytes()).hexdigest()
    with open(case_dir / "matches.csv", newline="", encoding="utf-8") as f:
        expected = sorted((_shown(m["path"]), m["entry_id"]) for m in csv.DictReader(f))
    found = []
    for page in files[1:]:
        if page.name.startswith("matches-"):
            found += [(r[1], r[5]) for r in _parse(page).rows if len(r) >= 9]
    assert len(found) == len(expected)
    assert all(any(p.startswith(e[0]) and i == e[1] for p, i in found) for e in expected)
    links = {v for _, _, v in _parse(case_dir / "report.html").urls if not v.startswith("#")}
    assert links == {f"report-files/{p.name}" for p in files[1:]}
    assert (case_dir / "report.html").stat().st_size < 200_000
    assert "page(s) of up to 2 rows" in (case_dir / "report.html").read_text(encoding="utf-8")


def test_nothing_external_is_referenced(case: dict[str, Path]) -> None:
    for page in _report_files(case["case"] / "report.html"):
        text = page.read_text(encoding="utf-8")
        parsed = _parse(page)
        assert not {"link", "iframe", "object", "embed", "base", "img", "video", "audio"} & set(parsed.tags)
        for tag, _name, value in parsed.urls:
            assert value.startswith("#") or (tag == "a" and re.fullmatch(r"(\.\./)?[\w.-]+(/[\w.-]+)?\.html", value)), value
        assert "@import" not in text and "url(" not in text and "//" not in re.sub(r"/\*.*?\*/", "", text, flags=re.S).replace("http-equiv", "")
        assert parsed.tags.count("script") == 1 and "default-src 'none'" in text


def test_hostile_and_non_utf8_names_render_as_text(case: dict[str, Path]) -> None:
    text = (case["case"] / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>cat</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;script&gt;.jpg" in text
    assert "&lt;img src=x onerror=alert(3)&gt;.png" in text
    assert "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in text and "&lt;b&gt;cat&lt;/b&gt;" in text
    records = [json.loads(line) for line in (case["case"] / "records.jsonl").read_text().splitlines()]
    odd = [r for r in records if r.get("path_hex")]
    assert len(odd) == 1 and odd[0]["path"].endswith("caf\\xe9.jpg") and odd[0]["matches"]
    assert html.escape(odd[0]["path"]) in text and odd[0]["path_hex"] in text
    assert odd[0]["path_hex"] == (os.fsencode(str(case["root"] / "names")) + b"/" + NON_UTF8).hex()
    assert "\u202e" not in text and "\\u202e" in text  # the direction override shown, not obeyed


def test_integrity_verdict_follows_the_case_files(case: dict[str, Path], tmp_path: Path) -> None:
    altered = _copy(case, "case-altered")
    out = tmp_path / "r.html"
    assert main(["report", str(altered), "-o", str(out)]) == 0
    assert "VERIFIED" in out.read_text(encoding="utf-8")
    with open(altered / "matches.csv", "a") as f:
        f.write("x\n")
    assert main(["report", str(altered), "-o", str(out)]) == 1
    rows = _parse(out).rows
    assert any(r[:2] == ["matches.csv", "FAILED"] for r in rows)
    assert any(r[:2] == ["records.jsonl", "OK"] for r in rows)
    (altered / "hashdeep.txt").unlink()
    write_report(altered, out)
    assert any(r[:2] == ["hashdeep.txt", "MISSING"] for r in _parse(out).rows)
    (altered / "SHA256SUMS").unlink()
    write_report(altered, out)
    assert "NOT VERIFIABLE" in out.read_text(encoding="utf-8")


def test_report_is_reproducible_from_the_case_files(case: dict[str, Path], tmp_path: Path) -> None:
    copy = _copy(case, "case-copy")  # another folder: same bytes
    write_report(copy, tmp_path / "report.html")
    assert (tmp_path / "report.html").read_bytes() == (case["case"] / "report.html").read_bytes()
    assert main(["report", str(copy)]) == 0  # re-rendered and compared with the scan's, not overwritten
    (copy / "report.html").write_text("edited")
    assert main(["report", str(copy)]) == 1 and (copy / "report.html").read_text() == "edited"
    assert main(["report", str(copy), "-o", str(case["root"] / "r.html")]) == 2  # never inside the evidence
    assert not (case["root"] / "r.html").exists()


def test_thumbnails_only_on_request_and_only_of_matched_pictures(case: dict[str, Path], tmp_path: Path) -> None:
    plain = (case["case"] / "report.html").read_text(encoding="utf-8")
    assert "data:image" not in plain and "No pictures" in plain
    out = tmp_path / "thumbs.html"
    write_report(case["case"], out, thumbnails=True)
    text = out.read_text(encoding="utf-8")
    with open(case["case"] / "matches.csv", newline="", encoding="utf-8") as f:
        matched = len(list(csv.DictReader(f)))
    assert "THUMBNAILS ARE EMBEDDED" in text
    assert text.count('src="data:image/jpeg;base64,') == matched  # one per match row, none of other files
    moved = _copy(case, "case-gone")
    json_path = moved / "records.jsonl"
    json_path.write_text(json_path.read_text().replace(str(case["root"]), str(case["root"]) + "-gone"))
    write_report(moved, out, thumbnails=True)
    assert "evidence not found" in out.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_headless_chromium_screenshot_is_not_blank(case: dict[str, Path], tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1280,1600", (case["case"] / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    img = Image.open(shot).convert("L")
    hist = img.histogram()
    dark = sum(hist[:128]) / (img.width * img.height)
    assert img.size == (1280, 1600) and 0.01 < dark < 0.6, f"{dark:.3f} of the page is dark"
    stats: Any = Image.open(shot).convert("RGB").getextrema()
    assert any(lo < 100 for lo, _ in stats)


def test_case_folder_in_the_print_header_is_escaped_for_css() -> None:
    from ocsea_match.report.render import _css_string

    escaped = str(_css_string('/cases/x"; } </style><script>'))
    assert re.fullmatch(r"(?:[A-Za-z0-9]|\\[0-9a-f]{6})+", escaped)
    assert "</style>" not in escaped and '"' not in escaped


_PROBE = """<script>
var t = document.getElementById("matches-table"), ths = t.tHead.rows[0].cells, di = -1;
for (var i = 0; i < ths.length; i++) { if (ths[i].textContent.indexOf("distance") >= 0) { di = i; } }
function col() { var out = []; for (var r of t.tBodies[0].rows) { out.push(r.cells[di].getAttribute("data-v")); } return out.join(","); }
ths[di].click(); var up = col(); ths[di].click(); var down = col();
var box = document.getElementById("matches-table-filter"); box.value = "caf"; box.dispatchEvent(new Event("input"));
var shown = 0; for (var r of t.tBodies[0].rows) { if (r.style.display !== "none") { shown++; } }
document.title = "UP=" + up + " DOWN=" + down + " SHOWN=" + shown;
</script></body>"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_tables_sort_and_filter_offline_in_chromium(case: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "probe.html"
    page.write_text((case["case"] / "report.html").read_text(encoding="utf-8").replace("</body>", _PROBE), encoding="utf-8")
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    title = re.search(r"<title>(UP=[^<]*)</title>", dom)
    assert title, "the probe did not run"
    up, down, shown = re.fullmatch(r"UP=(\S*) DOWN=(\S*) SHOWN=(\d+)", title.group(1)).groups()
    distances = [int(v) for v in up.split(",")]
    assert distances == sorted(distances) and [int(v) for v in down.split(",")] == sorted(distances, reverse=True)
    assert shown == "1"  # only the non-UTF-8 name contains "caf"


def test_a_bare_case_folder_renders_and_says_what_is_missing(tmp_path: Path) -> None:
    case_dir = tmp_path / "bare"
    case_dir.mkdir()
    record = {"path": "/evidence/a\udce9.jpg", "size": 3, "status": "error", "media_type": None, "format": None,
              "error": {"code": "corrupt", "message": "bad \udce9 bytes \u202e"}, "mtime": "1999-12-31T23:00:00Z"}
    (case_dir / "records.jsonl").write_bytes(json.dumps(record).encode("ascii") + b"\n" + b'{"path": "torn')
    out = tmp_path / "r.html"
    write_report(case_dir, out)
    text = out.read_text(encoding="utf-8")
    assert "NOT VERIFIABLE" in text and "provenance.json is missing" in text and "torn line" in text
    assert "corrupt" in text and "1999-12-31" in text and "\\udce9" in text


def test_timeline_buckets_and_gaps() -> None:
    from ocsea_match.report.charts import timeline

    days = timeline({"2024-01-30": 2, "2024-02-02": 1}, {"2024-02-02": 1})
    assert days.unit == "day" and len(days.columns) == 4 and [c.value for c in days.columns] == [2, 0, 0, 1]
    months = timeline({"2020-01-05": 3, "2022-12-01": 1}, {})
    assert months.unit == "month" and len(months.columns) == 36 and months.columns[0].label == "2020-01"
    assert timeline({"1970-01-01": 1, "2107-01-01": 1}, {}).unit == "decade"
    assert timeline({}, {}).columns == []


def test_method_thresholds_follow_the_algorithm_table() -> None:
    """The method section's defaults are the shipped thresholds, not a second copy of them."""
    from ocsea_match.report.method import algorithm_rows
    from ocsea_match.thresholds import DEFAULT_THRESHOLDS

    rows = {row["name"]: row["threshold"] for row in algorithm_rows({}, set())}
    assert rows["pdq"] == rows["vpdq"] == rows["pdq-thumb512"] == DEFAULT_THRESHOLDS["pdq"]
    assert rows["pdq-robust"] == DEFAULT_THRESHOLDS["pdq-robust"]
    assert rows["phash, dhash, ahash, whash"] == ", ".join(
        f"{name} {DEFAULT_THRESHOLDS[name]}" for name in ("phash", "dhash", "ahash", "whash"))
    case = {row["name"]: row["threshold"] for row in algorithm_rows({"pdq": 20, "pdq-robust": 19}, set())}
    assert case["pdq"] == case["vpdq"] == 20 and case["pdq-robust"] == 19
