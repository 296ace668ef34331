"""A `-c` URL in requirements.txt is read: the target's own, another source, or an error.

Custom sources are served over real HTTP on 127.0.0.1; the canonical GitHub URL is never
fetched (the test seeds mwaadeps' cache, the copy the settings already give).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mwaadeps.build.constraints import _cache_path
from mwaadeps.build.lock import load_target_constraints, lock
from mwaadeps.cli.app import main
from mwaadeps.config import load_settings
from mwaadeps.errors import ConstraintsError, ResolutionError
from mwaadeps.progress import RecordingReporter
from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.requirements.rules import constraints_from_requirements
from mwaadeps.targets import resolve_target

Writer = Callable[..., Path]
MWAA_DATA = Path(__file__).resolve().parents[3] / "src" / "mwaadeps" / "data" / "mwaa"
REAL_292 = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"
TARGET = resolve_target("2.9.2")
CANONICAL = TARGET.constraints_url


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]


@contextmanager
def served(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve tmp_path/www on 127.0.0.1 (random port): (base URL, the paths asked for)."""
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    paths: list[str] = []
    httpd.paths = paths  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", paths
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def _real_constraints(monkeypatch: pytest.MonkeyPatch) -> None:
    if not REAL_292.is_file():
        pytest.skip(f"the real 2.9.2 constraints are absent ({REAL_292})")
    for name in ("MWAADEPS_CONFIG", "MWAADEPS_CONSTRAINTS", "MWAADEPS_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)


def settings_for(tmp_path: Path, requirements: Path, **cli: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {"airflow_version": "2.9.2", "requirements": str(requirements), **cli},
        env={"MWAADEPS_CACHE_DIR": str(tmp_path / "cache")},
        cwd=tmp_path,
    )


def proxied_constraints(root: Path, pandas: str = "2.2.0") -> str:
    """A Nexus-like raw proxy path holding the 2.9.2 constraints with another pandas pin."""
    folder = root / "repository" / "raw-airflow"
    folder.mkdir(parents=True)
    text = REAL_292.read_text(encoding="utf-8").replace("pandas==2.1.4", f"pandas=={pandas}")
    (folder / "airflow-292-py311.txt").write_text(text, encoding="utf-8")
    return "/repository/raw-airflow/airflow-292-py311.txt"


def test_which_source_a_file_asks_for(write: Writer) -> None:
    def source(text: str) -> str | None:
        return constraints_from_requirements(parse_requirements(write("r.txt", text)), TARGET)

    assert source("requests\n") is None
    assert source(f'--constraint "{CANONICAL}"\nrequests\n') is None  # the target's own
    stale = CANONICAL.replace("2.9.2", "2.7.2").replace("3.11", "3.8")
    assert source(f"-c {stale}\n") is None  # an error of the check, never a source
    assert source("-c http://127.0.0.1:8081/raw/c.txt\n") == "http://127.0.0.1:8081/raw/c.txt"
    assert source("-c ./pins.txt\n") is None  # a local file is read as nested constraints


def test_canonical_line_is_the_cached_copy_no_network(tmp_path: Path, write: Writer) -> None:
    path = write("requirements.txt", f'--constraint "{CANONICAL}"\npandas\n')
    settings = settings_for(tmp_path, path)
    cache = _cache_path(settings, CANONICAL)
    cache.parent.mkdir(parents=True)
    cache.write_bytes(REAL_292.read_bytes())
    loaded = load_target_constraints(settings)
    assert loaded.source == CANONICAL
    assert loaded.pins["pandas"] == "2.1.4"


def test_custom_url_is_fetched_as_the_constraints(tmp_path: Path, write: Writer) -> None:
    with served(tmp_path) as (base, paths):
        url = base + proxied_constraints(tmp_path / "www")
        path = write("requirements.txt", f"-c {url}\npandas==2.2.0\n")
        loaded = load_target_constraints(settings_for(tmp_path, path))
        assert paths == [url.removeprefix(base)]
    assert loaded.source == url
    assert loaded.pins["pandas"] == "2.2.0"
    # The server is gone: the copy cached on disk answers the next build.
    assert load_target_constraints(settings_for(tmp_path, path)).sha256 == loaded.sha256


def test_settings_constraints_win_with_a_warning(tmp_path: Path, write: Writer) -> None:
    path = write("requirements.txt", "-c http://127.0.0.1:9/never-fetched.txt\npandas\n")
    reporter = RecordingReporter()
    loaded = load_target_constraints(
        settings_for(tmp_path, path, constraints=str(REAL_292)), reporter
    )
    assert loaded.pins["pandas"] == "2.1.4"
    (warning,) = reporter.warnings
    assert warning.startswith(f"{path}:1: --constraint http://127.0.0.1:9/never-fetched.txt is")
    assert "the constraints option" in warning


def test_unreachable_custom_url_is_a_constraints_error(tmp_path: Path, write: Writer) -> None:
    path = write("requirements.txt", "-c http://127.0.0.1:9/c.txt\npandas\n")
    with pytest.raises(ConstraintsError, match=re.escape("Cannot reach http://127.0.0.1:9/c.txt")):
        load_target_constraints(settings_for(tmp_path, path))


def test_check_cli_reads_the_custom_constraints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandas==2.2.0 conflicts with Apache's 2.9.2 pins, not with the team's own file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MWAADEPS_CACHE_DIR", str(tmp_path / "cache"))
    with served(tmp_path) as (base, _):
        url = base + proxied_constraints(tmp_path / "www")
        (tmp_path / "requirements.txt").write_text(f"-c {url}\npandas==2.2.0\n")
        with pytest.raises(SystemExit) as exc:
            main(["check", "-a", "2.9.2", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert exc.value.code == 0 and data["ok"] is True and data["problems"] == []


def test_lock_suggests_a_name_the_index_does_not_have(tmp_path: Path, write: Writer) -> None:
    """uv, against an index on 127.0.0.1 that has no such project, and its error mapped back."""
    (tmp_path / "www" / "simple").mkdir(parents=True)
    path = write("requirements.txt", "# the data team\npandsa==2.1.4\n")
    with served(tmp_path) as (base, _):
        settings = load_settings(
            {"airflow_version": "2.9.2", "requirements": str(path), "constraints": str(REAL_292),
             "index_url": f"{base}/simple"},
            env={"MWAADEPS_CACHE_DIR": str(tmp_path / "cache")}, cwd=tmp_path,
        )  # fmt: skip
        with pytest.raises(ResolutionError) as info:
            lock(settings)
    assert f"{path}:2: pandsa is on no package index; did you mean pandas?" in info.value.message
    assert info.value.hint and "Correct the name" in info.value.hint
