"""A discover that fails, and whose cleanup then fails too, says what it left behind: the
error (text and --json, where no warning is printed) names the leftovers and never claims
"Nothing was left behind". Airflow refuses the cleanup's calls through the sandbox's
fail_rest_api fault, after the run's own calls went through."""

from __future__ import annotations

import json

import pytest

from deploy.conftest import Project

# GET the DAG, unpause it, trigger the run, GET the run once (--timeout 0): four calls
RUN_CALLS = 4


@pytest.mark.parametrize("as_json", [True, False])
def test_a_failed_cleanup_after_a_failure_is_named_in_the_error(
    deploy_project: Project, as_json: bool
) -> None:
    deploy_project.sandbox.faults(
        fail_rest_api={"code": "AccessDeniedException", "after": RUN_CALLS}
    )
    args = ["discover", "--env", "dev", "--timeout", "0", *(["--json"] if as_json else [])]
    run = deploy_project.cli(*args)
    out = run.stdout + run.stderr
    assert run.returncode == 75, out
    assert "Traceback" not in out
    if as_json:
        error = json.loads(run.stdout)["error"]
        said = f"{error['message']}\n{error['hint']}"
    else:
        said = out
    assert "was still" in said  # the failure itself
    assert "Nothing was left behind" not in said
    assert "Could not delete the DAG mwaadeps_discover" in said
    assert "Could not delete the Airflow Variable" in said
