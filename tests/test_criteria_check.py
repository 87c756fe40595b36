"""`flask criteria check` exits non-zero on each malformed file of the corpus, naming the
fault, and zero on the shipped files."""
from __future__ import annotations

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
