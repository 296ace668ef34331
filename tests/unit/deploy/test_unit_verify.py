"""The pure parts of verify: what counts as a DAG file, parse progress, verdicts, run ids,
the report's JSON, and the DAG-processor wait's timeout (a stand-in API and a fake clock)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from mwaadeps.deploy import verify as v
from mwaadeps.progress import RecordingReporter


def test_safe_mode_needs_both_words() -> None:
    assert v.might_contain_dag(b"from airflow import DAG\n")
    assert v.might_contain_dag(b"import AIRFLOW  # a dag later")
    assert not v.might_contain_dag(b"def helper(): return 1\n")
    assert not v.might_contain_dag(b"# airflow utilities only\n")


def test_paths_are_made_relative_to_the_dags_folder() -> None:
    assert v.relative("/usr/local/airflow/dags/team/etl.py") == "team/etl.py"
    assert v.relative("/elsewhere/x.py") == "elsewhere/x.py"


def test_trace_ends_are_first_and_last_non_blank_lines() -> None:
    trace = "\nTraceback (most recent call last):\n  File \"x.py\", line 3\nImportError: no foo\n\n"
    assert v.trace_ends(trace) == ('File "x.py", line 3', "ImportError: no foo")
    assert v.trace_ends("SyntaxError: bad\n") == ("SyntaxError: bad", "SyntaxError: bad")
    assert v.trace_ends("") == ("", "")


def test_dag_infos_skip_inactive_and_sort() -> None:
    dags = [
        {"dag_id": "b", "is_paused": True, "fileloc": "/usr/local/airflow/dags/b.py"},
        {"dag_id": "a", "is_paused": False, "fileloc": "/usr/local/airflow/dags/sub/a.py"},
        {"dag_id": "gone", "is_paused": True, "is_active": False,
         "fileloc": "/usr/local/airflow/dags/gone.py"},
    ]
    assert v.dag_infos(dags) == (v.DagInfo("a", False, "sub/a.py"), v.DagInfo("b", True, "b.py"))


def test_unparsed_and_the_verdicts() -> None:
    files = ("a.py", "b.py", "broken.py")
    dags = (v.DagInfo("a", True, "a.py"),)
    errors = v.import_problems([{"filename": "/usr/local/airflow/dags/broken.py",
                                 "stack_trace": "Traceback (most recent call last):\n"
                                                "  File \"broken.py\"\nNameError: x"}])
    assert errors == (v.ImportProblem("broken.py", 'File "broken.py"', "NameError: x"),)
    waiting = v.unparsed(files, dags, errors)
    assert waiting == ("b.py",)
    verdict, reason = v.judge(files, dags, errors, waiting, 60)
    assert verdict == "failed" and "broken.py" in reason
    verdict, reason = v.judge(files, dags, (), waiting, 60)
    assert verdict == "timeout" and "b.py" in reason and "60 s" in reason
    verdict, reason = v.judge(("a.py",), dags, (), (), 60)
    assert verdict == "passed" and "1 DAG(s)" in reason


def test_run_id_is_timestamped_and_short() -> None:
    when = datetime(2026, 12, 3, 10, 4, 5, tzinfo=timezone.utc)
    run_id = v.run_id_now(when)
    assert run_id == "mwaadeps-verify-20261203T100405Z"
    # /dags/<id>/dagRuns/<run id> must fit InvokeRestApi's 64 characters for 17-char DAG ids
    assert len(f"/dags/{'x' * 17}/dagRuns/{run_id}") <= 64


def test_report_exit_codes_and_json() -> None:
    passed = v.VerifyReport("env", "AVAILABLE", "passed", "ok",
                            dags=(v.DagInfo("a", True, "a.py"),))
    failed = v.VerifyReport("env", "AVAILABLE", "failed", "1 DAG file(s) failed",
                            import_errors=(v.ImportProblem("b.py", "Traceback", "E"),))
    waited = v.VerifyReport("env", "AVAILABLE", "timeout", "not parsed", unparsed=("c.py",))
    assert (passed.exit_code, failed.exit_code, waited.exit_code) == (0, 1, 75)
    data = failed.as_json()
    assert data["ok"] is False and data["error"]["code"] == "verify_failed"
    assert data["import_errors"] == [{"file": "b.py", "first_line": "Traceback", "last_line": "E"}]
    assert waited.as_json()["error"]["code"] == "verify_timeout"
    assert passed.as_json()["error"] is None
    assert passed.as_json()["dags"] == [{"dag_id": "a", "paused": True, "file": "a.py"}]
    assert set(passed.as_json()) == set(failed.as_json())


class _SlowProcessor:
    """A DAG processor that never gets to b.py (the HTTP sandbox always parses at once)."""

    name = "env"

    def __init__(self) -> None:
        self.polls = 0

    def dags(self) -> list[dict[str, Any]]:
        self.polls += 1
        return [{"dag_id": "a", "is_paused": True, "fileloc": "/usr/local/airflow/dags/a.py"}]

    def import_errors(self) -> list[dict[str, Any]]:
        return []


def test_the_parse_wait_stops_at_the_timeout_naming_the_unparsed_file() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    options = v.VerifyOptions(timeout=30, poll_interval=10, clock=lambda: now[0], sleep=sleep)
    api = _SlowProcessor()
    dags, errors, waiting = v._wait_parsed(api, ("a.py", "b.py"), options,  # type: ignore[arg-type]
                                           RecordingReporter())
    assert waiting == ("b.py",)
    assert api.polls == 4 and slept == [10, 10, 10]
    assert [d.dag_id for d in dags] == ["a"] and errors == ()


class _RefusingAirflow:
    """Accepts the pause changes, refuses the run (as Airflow's 409 on a duplicate run id)."""

    name = "env"

    def __init__(self) -> None:
        self.paused: list[bool] = []

    def set_paused(self, dag_id: str, paused: bool) -> dict[str, Any]:
        self.paused.append(paused)
        return {"dag_id": dag_id, "is_paused": paused}

    def trigger(self, dag_id: str, conf: Any = None, run_id: str | None = None) -> dict[str, Any]:
        from mwaadeps.errors import RestApiError

        raise RestApiError("409", status=409, detail="exists")


def test_the_pause_is_restored_when_the_run_cannot_start() -> None:
    import pytest

    from mwaadeps.errors import RestApiError

    api = _RefusingAirflow()
    warnings: list[str] = []
    with pytest.raises(RestApiError):
        v._smoke_run(api, v.DagInfo("smoke", True, "smoke.py"),  # type: ignore[arg-type]
                     v.VerifyOptions(poll_interval=0), RecordingReporter(), warnings)
    assert api.paused == [False, True]
    assert warnings == []
