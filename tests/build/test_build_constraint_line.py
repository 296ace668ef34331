"""A `-c` URL line in requirements.txt is the build's constraints: fetched, shipped, pointed at.

The fake index and a constraints server run on 127.0.0.1; nothing else is reached.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from buildkit import ProjectFactory, run_cli
from fakeworld import CONSTRAINTS, serve


def _without_constraints_option(project: Path) -> None:
    toml = project / "mwaadeps.toml"
    toml.write_text(re.sub(r"(?m)^constraints = .*\n", "", toml.read_text()))


def test_custom_constraints_url_is_fetched_and_shipped(
    make_project: ProjectFactory, shared_cache: Path, tmp_path: Path
) -> None:
    www = tmp_path / "raw"
    (www / "airflow").mkdir(parents=True)
    team = CONSTRAINTS + "# reviewed by the platform team\n"
    (www / "airflow" / "constraints-292.txt").write_text(team)
    with serve(www) as server:
        url = f"{server.url}/airflow/constraints-292.txt"
        project = make_project([f"--constraint {url}", "fake-provider"], name="custom-url")
        _without_constraints_option(project)
        run = run_cli(project, ["build", "--json"], shared_cache)
        assert run.returncode == 0, run.output
        assert "/airflow/constraints-292.txt" in server.paths
    with zipfile.ZipFile(project / "dist" / "plugins.zip") as zf:
        assert zf.read("constraints.txt").decode() == team
    lines = (project / "dist" / "requirements.txt").read_text().splitlines()
    assert "--constraint /usr/local/airflow/plugins/constraints.txt" in lines
    assert url not in "\n".join(lines)
    manifest = json.loads((project / "dist" / "manifest.json").read_text())
    assert manifest["constraints"]["source"] == url
    # The server is gone: the cached copy serves the rebuild.
    again = run_cli(project, ["build", "--json"], shared_cache)
    assert again.returncode == 0, again.output
    assert again.json()["lock_reused"] is True


def test_constraints_option_wins_over_the_line_with_a_warning(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    url = "http://127.0.0.1:9/never-fetched.txt"
    project = make_project([f"-c {url}", "fake-provider"], name="option-wins")
    run = run_cli(project, ["build"], shared_cache)
    assert run.returncode == 0, run.output
    flat = " ".join(run.output.split())
    assert f"--constraint {url} is ignored; the constraints option" in flat
    with zipfile.ZipFile(project / "dist" / "plugins.zip") as zf:
        assert zf.read("constraints.txt").decode() == CONSTRAINTS
