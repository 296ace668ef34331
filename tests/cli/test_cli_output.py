"""Output that survives CI logs: full lines off a terminal; the config found up the tree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clikit import CONSTRAINTS_292


def test_check_prints_full_lines_in_a_pipe(cli: Any, project: Path) -> None:
    (project / "requirements.txt").write_text(
        "requests\napache-airflow-providers-amazon==9.9.9\npandas==2.2.0\n"
    )
    # Narrow COLUMNS: a rich table would be cut at this width; plain lines never are.
    run = cli("check", "-a", "2.9.2", "--constraints", str(CONSTRAINTS_292),
              env={"COLUMNS": "40"})  # fmt: skip
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert "…" not in run.stdout
    pandas = [line for line in lines if line.startswith("requirements.txt:3: ")]
    assert pandas == [
        "requirements.txt:3: error: pandas 2.2.0 conflicts with the Airflow 2.9.2 constraint "
        "pandas==2.1.4 (fix: Use pandas==2.1.4 or drop the pin (the constraints choose the "
        "version).)"
    ]
    amazon = [line for line in lines if line.startswith("requirements.txt:2: error: ")]
    assert len(amazon) == 1 and "(fix: " in amazon[0] and amazon[0].endswith(")")
    assert lines[-1] == "2 error(s), 0 warning(s)."


def test_lock_table_in_a_pipe_is_plain(cli: Any, project: Path, fake_index: Any) -> None:
    from buildkit import write_project

    proj = write_project(project / "p", f"{fake_index.url}/simple", ["fake-provider"])
    run = cli("lock", cwd=proj, env={"COLUMNS": "30"})
    assert run.returncode == 0, run.output
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("package"))
    assert header.split() == ["package", "version", "bundle", "role"]
    assert any(line.split() == ["fake-provider", "1.0.0", "bundle"] for line in lines)
    assert not any(ch in run.stdout for ch in "│┃━…")  # no box drawing, nothing cut


def test_config_in_a_parent_folder(cli: Any, project: Path) -> None:
    (project / "mwaadeps.toml").write_text(
        f'airflow-version = "2.9.2"\nrequirements = "deps/requirements.txt"\n'
        f'constraints = "{CONSTRAINTS_292}"\n'
    )
    (project / "deps").mkdir()
    (project / "deps" / "requirements.txt").write_text("pandas==2.2.0\n")
    deep = project / "dags" / "team"
    deep.mkdir(parents=True)
    run = cli("check", "--json", cwd=deep)
    assert run.returncode == 1
    data = run.json()
    assert data["requirements"] == str(project / "deps" / "requirements.txt")
    assert data["target"]["airflow_version"] == "2.9.2"
    assert "no mwaadeps.toml" not in run.stderr


def test_no_config_says_so_on_stderr_only(cli: Any, project: Path) -> None:
    (project / ".git").mkdir()  # the search stops here, whatever the parents hold
    (project / "requirements.txt").write_text("requests\n")
    args = ["check", "-a", "2.9.2", "--constraints", str(CONSTRAINTS_292)]
    human = cli(*args)
    note = f"no mwaadeps.toml found in {project} or its parents; using defaults and options"
    assert human.returncode == 0, human.output
    assert human.stderr.splitlines().count(note) == 1
    assert note not in human.stdout
    machine = cli(*args, "--json")
    assert machine.returncode == 0
    assert json.loads(machine.stdout)["ok"] is True  # stdout is the JSON object alone
    assert note in machine.stderr
