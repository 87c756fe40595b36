"""The PDF reads like a report and holds the headline figures; the command writes every format."""
from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from tests.reports.expected import RELIEF_2025, TRAVEL_2025
from tests.reports.scenario import build


def _pdftoppm_pages(pdf: bytes, tmp_path) -> int:
    """Render every page with pdftoppm; return how many images it made."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True, timeout=120)
    return len(list(tmp_path.glob("page-*.png")))


def _structure_types(node, seen=None) -> set[str]:
    """Return the structure types (/H1, /Table...) under a node of a tagged PDF's structure tree."""
    seen = set() if seen is None else seen
    node = node.get_object()
    if isinstance(node, list) or type(node).__name__ == "ArrayObject":
        for child in node:
            _structure_types(child, seen)
        return seen
    if not hasattr(node, "get"):
        return seen
    if "/S" in node:
        seen.add(str(node["/S"]))
    if "/K" in node:
        _structure_types(node["/K"], seen)
    return seen


def test_pdf_and_every_command_format_of_a_known_year(app, make_user, api, tmp_path, caplog):
    scenario = build(make_user)
    with caplog.at_level(logging.INFO):
        response = api(scenario.people["cara"]).get("/api/v1/reports/annual?year=2025&format=pdf")
    assert response.status_code == 200
    # Drawing it logged about 115 lines of WeasyPrint's progress into the server's log. (Its
    # warnings stay: one says that fonts are subset more slowly without Debian's libharfbuzz-subset0.)
    assert [r.name for r in caplog.records
            if r.name.startswith(("weasyprint", "fontTools")) and r.levelno < logging.WARNING] == []
    assert response.mimetype == "application/pdf"
    pdf = response.get_data()
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert len(reader.pages) >= 5  # title page, contents, then one section a page at least
    assert "Annual report to Council, 2025" in text
    assert "Page 2 of" in text and "Contents" in text
    for label, value in (("Requests submitted", TRAVEL_2025["requests"]), ("Trips completed", TRAVEL_2025["trips_completed"]),
                         ("Reports overdue at year end", TRAVEL_2025["reports_overdue"]),
                         ("Amount granted ($)", "73,000.00"), ("Amount paid ($)", "65,000.00"),
                         ("Estimated cost of trips approved ($)", "13,650.00"),
                         ("Median days from submission to decision", RELIEF_2025["median_days_to_decision"])):
        assert f"{label} {value}" in text
    assert "Community health agents reach every household." in text
    assert "New contacts: Ana Souza (Prefeitura)" in text  # (no email address: the report is read widely)
    assert "ana@example.org" not in text
    # A department's row, to its last column: T3's report overdue at year end.
    assert "City Council 1 1 0 1 3,000.00 0.00 0.00 0 0 1" in text
    # The data's codes read as words: "Hurricane", not "hurricane"; "Revival"; "Active".
    assert "Hurricane 2 2 0 48,000.00 28,000.00 20,000.00" in text and "Revival " in text and "Active " in text
    # Tagged for screen readers (PDF/UA): a structure of headings, tables and figures, in English.
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root and root["/Lang"] == "en"
    structure = _structure_types(root["/StructTreeRoot"])
    assert {"/H1", "/Table", "/TH", "/Figure"} <= structure, structure
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is absent (Debian package poppler-utils): the PDF's pages were not rendered")
    else:
        assert _pdftoppm_pages(pdf, tmp_path) == len(reader.pages)

    runner = app.test_cli_runner()
    outputs = {}
    for fmt in ("json", "csv", "html", "pdf"):
        target = tmp_path / f"report.{fmt}"
        result = runner.invoke(args=["report", "annual", "--year", "2025", "--format", fmt, "--output", str(target)])
        assert result.exit_code == 0, result.output
        outputs[fmt] = target.read_bytes()
    api_json = api(scenario.people["cara"]).get("/api/v1/reports/annual?year=2025").get_data()
    figures = json.loads(outputs["json"])
    assert {k: v for k, v in figures.items() if k != "generated_at"} == {
        k: v for k, v in json.loads(api_json).items() if k != "generated_at"}
    assert outputs["csv"] == api(scenario.people["cara"]).get("/api/v1/reports/annual?year=2025&format=csv").get_data()
    assert b"<h1>International Activities of the City of Toronto</h1>" in outputs["html"]
    assert outputs["pdf"].startswith(b"%PDF")
    stdout = runner.invoke(args=["report", "annual", "--year", "2025", "--format", "csv"])
    assert stdout.output.splitlines() == outputs["csv"].decode().splitlines()  # without --output: standard output


@pytest.mark.parametrize("year", ["1999", "3000", "twenty"])
def test_the_command_refuses_a_year_out_of_range(app, year):
    result = app.test_cli_runner().invoke(args=["report", "annual", "--year", year])
    assert result.exit_code != 0


def test_the_command_makes_the_files_folder_or_says_why_it_cannot(app, tmp_path):
    # A folder not yet made was refused, where `flask backup` makes it.
    result = app.test_cli_runner().invoke(args=["report", "annual", "--year", "2025", "--format", "json",
                                                "--output", str(tmp_path / "new" / "report.json")])
    assert result.exit_code == 0 and (tmp_path / "new" / "report.json").read_text().startswith("{")
    (tmp_path / "a-file").write_text("not a folder")
    result = app.test_cli_runner().invoke(args=["report", "annual", "--year", "2025", "--format", "json",
                                                "--output", str(tmp_path / "a-file" / "report.json")])
    assert result.exit_code == 1 and "could not be written to" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # a message, no traceback
