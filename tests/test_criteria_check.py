"""`flask criteria check` exits non-zero on each malformed file of the corpus, naming the
fault, and zero on the shipped files."""
from __future__ import annotations

import re

import shutil
from pathlib import Path

import pytest

from tests.criteria.test_loader import MALFORMED, MALFORMED_CASES


@pytest.mark.parametrize("name, expected", sorted(MALFORMED_CASES.items()))
def test_check_refuses_each_malformed_file(app, tmp_path, name, expected):
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    shutil.copy(MALFORMED / name, folder / "zz_bad.yaml")
    result = app.test_cli_runner().invoke(args=["criteria", "check", "--dir", str(folder)])
    assert result.exit_code == 1
    assert "zz_bad.yaml" in result.output and expected in result.output


def test_check_passes_on_the_shipped_files(app):
    result = app.test_cli_runner().invoke(args=["criteria", "check"])
    assert result.exit_code == 0 and "valid" in result.output


@pytest.mark.parametrize("command", [["flask", "criteria", "check"],
                                     ["gunicorn", "-w", "1", "-b", "127.0.0.1:0", "app:create_app()"]])
def test_a_malformed_file_in_the_configured_folder_stops_accord_naming_it_in_one_line(app, tmp_path, command):
    # The command and the web server alike stop (gunicorn, rather than boot a new worker forever),
    # with the file, criterion and fault in one line, not at the foot of a traceback.
    import os
    import subprocess
    import sys

    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    shutil.copy(MALFORMED / "zero_weight.yaml", folder / "relief.yaml")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "FLASK_APP": "app.py", "ACCORD_CRITERIA_DIR": str(folder),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'accord.sqlite3'}", "SECRET_KEY": "x",
           "ACCORD_ENV": "development"}
    result = subprocess.run([str(Path(sys.executable).parent / command[0]), *command[1:]], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    line = f"Accord cannot start: criteria/relief.yaml: {MALFORMED_CASES['zero_weight.yaml']}"
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and line in result.stderr.splitlines(), result.stderr
    if command[0] == "flask":
        assert result.stderr.strip().splitlines() == [line]
        # Every file's faults, not the first file's alone: the office mends them in one go.
        (folder / "partnership.yaml").write_text("version: 0\n")
        again = subprocess.run([str(Path(sys.executable).parent / "flask"), "criteria", "check"], cwd=root, env=env,
                               capture_output=True, text=True, timeout=120)
        lines = again.stderr.strip().splitlines()
        assert again.returncode == 3 and line in lines, again.stderr
        assert any(other.startswith("Accord cannot start: criteria/partnership.yaml: ") for other in lines), lines


@pytest.mark.parametrize("change", ["missing", "swapped", "no folder"])
def test_check_refuses_a_folder_accord_could_not_start_with(app, tmp_path, change):
    # Accord reads <workflow>.yaml for each scored workflow at start-up: the check must ask the same.
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    if change == "missing":
        (folder / "travel.yaml").unlink()
    elif change == "swapped":
        (folder / "travel.yaml").rename(folder / "trips.yaml")
        shutil.copy(folder / "relief.yaml", folder / "travel.yaml")
    else:
        shutil.rmtree(folder)
    result = app.test_cli_runner().invoke(args=["criteria", "check", "--dir", str(folder)])
    assert result.exit_code == 1, result.output
    assert {"missing": "criteria/travel.yaml: missing", "swapped": "criteria/travel.yaml",
            "no folder": "no such folder"}[change] in result.output
    assert app.test_cli_runner().invoke(args=["criteria", "check"]).exit_code == 0


def test_accord_does_not_start_with_a_file_that_holds_another_workflows_criteria(app, tmp_path):
    from app import create_app
    from tests.conftest import _config

    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    (folder / "relief.yaml").write_text((folder / "relief.yaml").read_text().replace(
        "workflow: relief", "workflow: partnership", 1))
    with pytest.raises(SystemExit) as stopped:
        create_app({**_config("sqlite://"), "ACCORD_CRITERIA_DIR": str(folder)})
    assert stopped.value.code == 3


@pytest.mark.parametrize("name", ["alias.yaml", "deep_rule.yaml"])
def test_accord_does_not_start_with_a_rule_it_cannot_read_saying_why_in_one_line(app, tmp_path, capsys, name):
    # A rule of aliases took start-up forever (a worker never booted); one nested 100 deep ended in a
    # traceback of a thousand lines.
    from app import create_app
    from tests.conftest import _config

    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    shutil.copy(MALFORMED / name, folder / "relief.yaml")
    with pytest.raises(SystemExit) as stopped:
        create_app({**_config("sqlite://"), "ACCORD_CRITERIA_DIR": str(folder)})
    assert stopped.value.code == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Accord cannot start: criteria/relief.yaml: "), lines
    assert MALFORMED_CASES[name] in lines[0]


def test_a_set_changed_without_a_new_version_is_refused_once_scores_carry_that_version(app, make_user, tmp_path):
    # Scores made under the first text and the changed one both read "version 2", and the page
    # said an earlier version was the one in force. The check of a folder, before a restart puts
    # it in force, compares its sets with the scores in the database.
    from extensions import db
    from tests.workflows.relief.conftest import RATINGS, relief_data
    from workflows import engine
    from workflows.scoring import submit_score

    owner, officer = make_user("sam", "staff"), make_user("hana", "hco", department="Strategic and Corporate Policy")
    case = engine.create_case(db.session, owner, "relief", "Flood relief", ["compassion"], relief_data())
    case = engine.fire(db.session, owner, case.id, "submit", case.version)
    case = engine.fire(db.session, officer, case.id, "start_triage", case.version)
    submit_score(db.session, officer, case.id, RATINGS)
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    relief = folder / "relief.yaml"
    relief.write_text(relief.read_text().replace("approve: 60", "approve: 80", 1))
    result = app.test_cli_runner().invoke(args=["criteria", "check", "--dir", str(folder)])
    assert result.exit_code == 1
    assert ("BAD criteria/relief.yaml: version: 2 is already used by scores made under other criteria; give the "
            "changed set a new version") in result.output
    relief.write_text(relief.read_text().replace("version: 2", "version: 3", 1))
    assert app.test_cli_runner().invoke(args=["criteria", "check", "--dir", str(folder)]).exit_code == 0
    assert app.test_cli_runner().invoke(args=["criteria", "check"]).exit_code == 0  # the shipped sets, as scored


@pytest.mark.parametrize("workflow, old, new, fault", [
    # A misspelled value: a presenter then counted as no role at all (87% fell to 67%).
    ("travel", "presenter: 5", "presentor: 5",
     "criterion 'official_role': map: field 'role_at_event': key 'presentor' is not one of its values"),
    # A date rule on a count: every request was "more than 12 months ago".
    ("relief", "{field: disaster_date, op: within_months", "{field: affected_population, op: within_months",
     "field 'affected_population': within_months needs a date field; this one is a number"),
    # A value the field never holds: the knock-out never fired.
    ("relief", "op: contains, value: financial", "op: contains, value: finance",
     "field 'assistance_types': 'finance' is not one of its values"),
    # A date compared with a count.
    ("travel", "{field: overdue_reports, op: eq, value: 0}", "{field: overdue_reports, op: gt, value: \"2026-01-01\"}",
     "field 'overdue_reports': '2026-01-01' is not a number"),
    # A list compared whole with one value: "in" never held, and knocked out every request.
    ("relief", "{field: assistance_types, op: contains, value: financial}",
     "{field: assistance_types, op: in, value: [financial, technical]}",
     "field 'assistance_types': in compares the whole list with one value; use contains"),
])
def test_a_rule_or_table_the_field_can_never_match_is_refused(app, tmp_path, workflow, old, new, fault):
    # Each passed `flask criteria check` with "OK", and silently changed every score.
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    text = (folder / f"{workflow}.yaml").read_text()
    assert old in text
    # (under a new version, as the office would change a set)
    bumped = re.sub(r"^version: (\d+)$", lambda m: f"version: {int(m[1]) + 1}", text, count=1, flags=re.M)
    assert bumped != text
    (folder / f"{workflow}.yaml").write_text(bumped.replace(old, new, 1))
    result = app.test_cli_runner().invoke(args=["criteria", "check", "--dir", str(folder)])
    assert result.exit_code == 1 and f"criteria/{workflow}.yaml: " in result.output and fault in result.output, \
        result.output


@pytest.mark.parametrize("workflow, old, new", [
    # What the rules do at run time stays allowed: a part of a text, a field left empty, "true".
    ("relief", "eligibility:\n", "eligibility:\n"
     "  - id: red_cross\n    message: m\n    rule: {field: description, op: contains, value: Red Cross}\n"),
    ("relief", "eligibility:\n", "eligibility:\n"
     "  - id: no_partner\n    message: m\n    rule: {field: partnership_id, op: ne, value: null}\n"),
    ("partnership", "eligibility:\n", "eligibility:\n"
     "  - id: secured\n    message: m\n    rule: {field: sponsor_funding_secured, op: eq, value: \"true\"}\n"),
])
def test_rules_the_engine_reads_as_intended_still_load(app, tmp_path, workflow, old, new):
    # The first type checks refused these, which deployments may hold: the server would not start.
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder, ignore=shutil.ignore_patterns("*.py"))
    text = (folder / f"{workflow}.yaml").read_text()
    assert old in text
    (folder / f"{workflow}.yaml").write_text(text.replace(old, new, 1))
    result = app.test_cli_runner().invoke(args=["criteria", "check", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
