"""`mwaadeps check` end to end: each bad input gives its message, file:line and exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mwaadeps.cli.app import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Writer = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[3]
CONSTRAINTS_292 = ROOT / "src" / "mwaadeps" / "data" / "mwaa" / "2.9.2" / "airflow-constraints.txt"
CORPUS = ROOT / "tests" / "corpus"


def run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    argv = ["check", "--requirements", str(path), "--airflow-version", "2.9.2",
            "--constraints", str(CONSTRAINTS_292), "--json"]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr().out
    return int(exc.value.code or 0), json.loads(out)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not CONSTRAINTS_292.is_file():
        pytest.skip(f"the real 2.9.2 constraints are absent ({CONSTRAINTS_292})")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MWAADEPS_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("MWAADEPS_CONFIG", "MWAADEPS_MODE", "MWAADEPS_CONSTRAINTS", "MWAADEPS_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("text", "exit_code", "code", "line"),
    [
        ("requests\nrequests==2.28.2re\n", 1, "syntax", 2),
        ("-e git+https://github.com/acme/dq.git#egg=dq\n", 1, "editable", 1),
        ("x\ndq @ git+https://github.com/acme/dq.git@v1\n", 1, "vcs", 2),
        ("./libs/dq\n", 1, "local-path", 1),
        ("dq @ file:///C:/Users/dev/dq-1.0-py3-none-any.whl\n", 1, "local-path", 1),
        ("apache-airflow==2.10.3\n", 1, "airflow-version", 1),
        ("acme==1.0\nacme>=2\n", 1, "duplicate-conflict", 2),
        ("acme>=1.0\nacme<2\n", 0, "duplicate", 2),
        (
            "-c https://raw.githubusercontent.com/apache/airflow/constraints-2.8.1/"
            "constraints-3.11.txt\n",
            1,
            "constraint-url",
            1,
        ),
        ("Flask==3.0.0\n", 1, "essential-conflict", 1),
        ("requests\npandas==2.2.0\n", 1, "constraint-conflict", 2),
        ("--index-url https://bob:Secr3tPw@nexus.acme.io/simple\n", 1, "index-credentials", 1),
        ("--find-links ./wheels\n", 0, "find-links-local", 1),
        ("pycurl\n", 0, "provided", 1),
        ("-r missing.txt\n", 1, "missing-file", 1),
    ],
)
def test_bad_input_exit_codes(
    write: Writer, capsys: pytest.CaptureFixture[str], text: str, exit_code: int, code: str,
    line: int,
) -> None:  # fmt: skip
    path = write("requirements.txt", text)
    rc, data = run(path, capsys)
    assert rc == exit_code
    assert data["ok"] is (exit_code == 0)
    problems = data["problems"]
    assert isinstance(problems, list)
    assert [(p["code"], p["file"], p["line"]) for p in problems] == [(code, str(path), line)]
    assert "Secr3tPw" not in json.dumps(data)


def test_pandas_sentence_through_the_cli(write: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    rc, data = run(write("requirements.txt", "pandas==2.2.0\n"), capsys)
    assert rc == 1
    problems = data["problems"]
    assert isinstance(problems, list)
    assert problems[0]["message"] == (
        "pandas 2.2.0 conflicts with the Airflow 2.9.2 constraint pandas==2.1.4"
    )


def test_corpus_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    expected = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))
    for name, verdict in expected.items():
        rc, data = run(CORPUS / "files" / name, capsys)
        assert (rc, data["ok"]) == ((0, True) if verdict["ok"] else (1, False)), name
