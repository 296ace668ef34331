"""`--json` holds everywhere: usage errors, Ctrl-C, internal errors, check's problems.

Every failure prints ONE JSON object on stdout: {"ok": false, "error": {code, message, hint}}.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from clikit import CONSTRAINTS_292, ENTRY, assert_plain_failure, clean_env

from mwaadeps import __version__
from mwaadeps.cli.app import app, main


def _one_json_error(stdout: str) -> dict[str, Any]:
    """stdout is exactly one JSON object of the shared failure shape."""
    data: dict[str, Any] = json.loads(stdout)  # fails on anything but one JSON document
    assert data["ok"] is False
    assert set(data["error"]) == {"code", "message", "hint"}
    assert data["error"]["message"]
    return data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--bogus", "--json"], "No such option: --bogus"),
        (["check", "--json", "--requirements"], "requires an argument"),
        (["build", "--json", "--full", "--mode"], "requires an argument"),
        (["deploy", "--json"], "Missing option '--env'"),
        (["check", "--json", "extra-argument"], "unexpected extra argument"),
        (["no-such-command", "--json"], "No such command 'no-such-command'"),
        (["init", "--json"], "No such option: --json"),  # init has no --json: still JSON
        (["check", "--json", "--mode", "zip"], "'zip' is not one of 'bundle', 'index'"),
        (["lock", "--json", "--resolver", "poetry"], "is not one of 'uv', 'pip-tools'"),
        (["deploy", "--json", "-e", "x", "--worker-replacement", "soft"], "'graceful', 'forced'"),
    ],
)
def test_usage_errors_as_json(cli: Any, args: list[str], message: str) -> None:
    run = cli(*args)
    assert run.returncode == 2, run.output
    data = _one_json_error(run.stdout)
    assert data["error"]["code"] == "usage"
    assert message in data["error"]["message"]
    assert "--help" in data["error"]["hint"]
    assert "Traceback" not in run.output


def test_usage_error_hint_names_the_command(cli: Any) -> None:
    data = _one_json_error(cli("check", "--json", "--requirements").stdout)
    assert "mwaadeps check --help" in data["error"]["hint"]


def test_usage_error_without_json_is_clicks_usage_text(cli: Any) -> None:
    run = cli("check", "--bogus")
    assert run.returncode == 2
    assert run.stdout == ""
    assert "Usage: mwaadeps check" in run.stderr and "No such option: --bogus" in run.stderr
    assert "Traceback" not in run.stderr


def test_check_problems_carry_the_shared_error_object(cli: Any, project: Path) -> None:
    req = project / "requirements.txt"
    req.write_text("requests\npandas==2.2.0\n")
    run = cli("check", "-a", "2.9.2", "--constraints", str(CONSTRAINTS_292), "--json")
    assert run.returncode == 1
    data = _one_json_error(run.stdout)
    assert data["error"]["code"] == "requirements"
    assert str(req) in data["error"]["message"] and "1 error(s)" in data["error"]["message"]
    assert [(p["code"], p["line"]) for p in data["problems"]] == [("constraint-conflict", 2)]
    assert data["target"]["airflow_version"] == "2.9.2"


def test_check_success_has_a_null_error(cli: Any, project: Path) -> None:
    (project / "requirements.txt").write_text("requests\n")
    run = cli("check", "-a", "2.9.2", "--constraints", str(CONSTRAINTS_292), "--json")
    assert run.returncode == 0, run.output
    data = json.loads(run.stdout)
    assert data["ok"] is True and data["error"] is None and data["problems"] == []


def test_command_errors_share_the_shape(cli: Any, project: Path) -> None:
    """A configuration error, a deploy failure and a missing file: the same object."""
    (project / "mwaadeps.toml").write_text('airflow-version = "2.9.2"\n')
    for args, code in [
        (["check", "--json"], "requirements"),  # no requirements.txt
        (["deploy", "--env", "nope", "--json"], "config"),  # no such environment
        (["status", "--env", "nope", "--json"], "config"),
        (["check", "--json", "-a", "2.9.77"], "target"),
    ]:
        run = cli(*args)
        assert run.returncode != 0
        assert _one_json_error(run.stdout)["error"]["code"] == code, args


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A TCP server on 127.0.0.1 that accepts and never answers (a hung index)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(120)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("as_json", [True, False])
def test_ctrl_c(silent_server: socket.socket, tmp_path: Path, as_json: bool) -> None:
    port = silent_server.getsockname()[1]
    (tmp_path / "requirements.txt").write_text("requests\n")
    args = ["check", "-a", "2.9.2", "--constraints", f"http://127.0.0.1:{port}/c.txt"]
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args, *(["--json"] if as_json else [])],
        cwd=tmp_path, env=clean_env(tmp_path / "cache"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        conn, _ = silent_server.accept()  # the command now waits for the constraints
    except BaseException:
        proc.kill()
        raise
    with conn:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err
    if as_json:
        data = _one_json_error(out)
        assert data["error"]["code"] == "interrupted"
    else:
        assert out == "" and "Interrupted." in err


@pytest.fixture
def broken_command() -> Iterator[str]:
    """A command with a bug (ZeroDivisionError), registered on the real app for one test."""

    def boom(json_out: bool = typer.Option(False, "--json")) -> None:
        print(1 / 0)

    app.command("boom-for-test")(boom)
    try:
        yield "boom-for-test"
    finally:
        app.registered_commands[:] = [
            c for c in app.registered_commands if c.name != "boom-for-test"
        ]


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_internal_error_as_json(broken_command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code([broken_command, "--json"]) == 70
    out, err = capsys.readouterr()
    data = _one_json_error(out)
    assert data["error"]["code"] == "internal"
    assert "ZeroDivisionError" in data["error"]["message"]
    assert "--debug" in data["error"]["hint"]
    assert "Traceback" not in err


def test_internal_error_plain_and_with_debug(
    broken_command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code([broken_command]) == 70
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert "error: Internal error: ZeroDivisionError" in err and "--debug" in err
    # --debug after the subcommand: the traceback, then the same message and exit code.
    assert _exit_code([broken_command, "--debug"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "1 / 0" in err and "error: Internal error" in err


def test_debug_after_the_subcommand(cli: Any, project: Path) -> None:
    plain = cli("check", "-a", "2.9.2")  # no requirements.txt: a RequirementsError
    assert_plain_failure(plain, "does not exist")
    debug = cli("check", "--debug", "-a", "2.9.2")
    assert debug.returncode == plain.returncode == 1
    assert "Traceback" in debug.stderr and "RequirementsError" in debug.stderr
    assert "error: Requirements file" in debug.stderr
    before = cli("--debug", "check", "-a", "2.9.2")
    assert "Traceback" in before.stderr and before.returncode == 1


def test_version(cli: Any) -> None:
    run = cli("--version")
    assert (run.returncode, run.stdout.strip()) == (0, f"mwaadeps {__version__}")


def test_json_before_the_command(cli: Any, project: Path) -> None:
    (project / "requirements.txt").write_text("requests\n")
    run = cli("--json", "check", "-a", "2.9.2", "--constraints", str(CONSTRAINTS_292))
    assert run.returncode == 0, run.output
    assert json.loads(run.stdout)["ok"] is True
