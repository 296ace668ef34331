"""An extra the package does not have is a warning naming it, not an error (uv's answer)."""

from __future__ import annotations

from pathlib import Path

from buildkit import write_project
from clikit import run_cli
from fakeworld import Server

from mwaadeps.build.resolvers.uv import extra_warnings


def test_unknown_extra_is_a_warning(tmp_path: Path, fake_index: Server) -> None:
    requirements = ["apache-airflow-providers-amazon[nonexistent]", "fake-provider"]
    project = write_project(tmp_path / "proj", f"{fake_index.url}/simple", requirements)
    run = run_cli(project, ["lock"], tmp_path / "cache")
    assert run.returncode == 0, run.output
    assert "Traceback" not in run.output
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, run.stderr
    assert "'nonexistent'" in warnings[0]
    assert "apache-airflow-providers-amazon 8.24.0" in warnings[0]


def test_known_extra_gives_no_warning(tmp_path: Path, fake_index: Server) -> None:
    project = write_project(tmp_path / "proj", f"{fake_index.url}/simple",
                            ["apache-airflow-providers-amazon[aiobotocore]"])  # fmt: skip
    run = run_cli(project, ["lock"], tmp_path / "cache")
    assert run.returncode == 0, run.output
    assert "warning:" not in run.stderr


def test_extra_warnings_parse_uvs_lines() -> None:
    stderr = (
        "Resolved 5 packages in 440ms\n"
        "\x1b[33mwarning\x1b[0m: The package `requests==2.32.3` does not have an extra named "
        "`nonexistent`\n"
        "warning: The package `requests==2.32.3` does not have an extra named `nonexistent`\n"
        "warning: something else\n"
    )
    assert extra_warnings(stderr) == [
        "requests 2.32.3 has no extra named 'nonexistent': requests[nonexistent] installs "
        "requests without it (check the extra's spelling, or drop it)."
    ]
    assert extra_warnings("Resolved 1 package in 3ms\n") == []
