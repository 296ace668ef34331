"""ui rendering: tables are never cut (plain full lines off a terminal, folded cells on one)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from mwaadeps import ui
from mwaadeps.cli import app as cli  # cli first: it registers the command modules
from mwaadeps.cli.render import short_version as _short
from mwaadeps.requirements.model import Origin, Problem
from mwaadeps.requirements.rules import CheckReport
from mwaadeps.targets import resolve_target

VERSION_ID = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
ARTIFACT = "plugins/very/long/nested/artifact-name-that-goes-on-and-on.zip"


def test_plain_table_pads_columns_and_keeps_every_character() -> None:
    lines = ui.plain_table("Plan", ["artifact", "version"], [[ARTIFACT, VERSION_ID], ["a", None]])
    assert lines[0] == "Plan"
    assert lines[1].split() == ["artifact", "version"]
    assert lines[2] == f"{ARTIFACT}  {VERSION_ID}"
    assert lines[3] == "a"  # None is an empty cell; trailing spaces are cut
    assert lines[1].index("version") == lines[2].index(VERSION_ID)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    buf = io.StringIO()
    monkeypatch.delenv("CI", raising=False)
    return buf


def _use(monkeypatch: pytest.MonkeyPatch, buf: io.StringIO, terminal: bool) -> None:
    console = Console(file=buf, force_terminal=terminal, width=40, highlight=False,
                      soft_wrap=True, color_system=None)  # fmt: skip
    monkeypatch.setattr(ui, "console", console)


def test_table_off_a_terminal_is_full_lines(
    monkeypatch: pytest.MonkeyPatch, captured: io.StringIO
) -> None:
    _use(monkeypatch, captured, terminal=False)
    ui.table(None, ["artifact", "version"], [[ARTIFACT, VERSION_ID]])
    lines = captured.getvalue().splitlines()
    assert lines[1] == f"{ARTIFACT}  {VERSION_ID}"  # wider than the 40 columns, not cut
    assert "…" not in captured.getvalue()


def test_table_on_a_terminal_folds_long_cells(
    monkeypatch: pytest.MonkeyPatch, captured: io.StringIO
) -> None:
    _use(monkeypatch, captured, terminal=True)
    ui.table("Plan", ["artifact", "version"], [[ARTIFACT, VERSION_ID]])
    text = captured.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 40
    # Every character of each cell is there, folded over lines inside its column.
    cells = re.findall(r"│([^│]*)│([^│]*)│", text)
    first = "".join(c[0].strip() for c in cells)
    second = "".join(c[1].strip() for c in cells)
    assert ARTIFACT in first and VERSION_ID in second


def test_deploy_tables_show_whole_s3_version_ids() -> None:
    assert cli.app.registered_commands  # (the import order above matters)
    assert _short(VERSION_ID) == VERSION_ID
    assert _short(None) == "-"


def _report(tmp_path: Path) -> CheckReport:
    req = tmp_path / "requirements.txt"
    hint = "Use apache-airflow-providers-amazon==8.24.0 or drop the pin (the constraints choose)."
    return CheckReport(
        requirements=req,
        target=resolve_target("2.9.2"),
        problems=(
            Problem("error", "constraint-conflict", Origin(req, 3),
                    "apache-airflow-providers-amazon 9.0.0 conflicts with the constraints", hint),
            Problem("warning", "provided", None, "pycurl is provided by the image", ""),
        ),
    )  # fmt: skip


def test_problem_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert ui.problem_lines(_report(tmp_path)) == [
        "requirements.txt:3: error: apache-airflow-providers-amazon 9.0.0 conflicts with the "
        "constraints (fix: Use apache-airflow-providers-amazon==8.24.0 or drop the pin (the "
        "constraints choose).)",
        "requirements.txt: warning: pycurl is provided by the image",
    ]
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert ui.problem_lines(_report(tmp_path))[0].startswith(f"{tmp_path}/requirements.txt:3: ")


def test_problems_off_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: io.StringIO
) -> None:
    monkeypatch.chdir(tmp_path)
    _use(monkeypatch, captured, terminal=False)
    ui.problems(_report(tmp_path))
    lines = captured.getvalue().splitlines()
    assert lines[:2] == ui.problem_lines(_report(tmp_path))
    assert lines[2] == "1 error(s), 1 warning(s)."
