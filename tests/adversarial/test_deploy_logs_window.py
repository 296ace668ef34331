"""Log streams are chosen strictly by the update's start: a rollback right after a failed
deploy must not read the failed update's requirements_install stream."""

from __future__ import annotations

from deploy.conftest import FAST, Project, make_dist
from mwaadeps.deploy import apply as core
from mwaadeps.deploy import inspect as deploy_inspect
from mwaadeps.deploy import logs as deploy_logs
from mwaadeps.deploy import records as deploy_records


def test_rollback_right_after_a_pip_failure_reads_only_its_own_streams(
    deploy_project: Project,
) -> None:
    env = deploy_project.env()
    first = core.deploy(env, deploy_project.dist, FAST)
    assert first.ok
    make_dist(deploy_project.dist, requirements="requests==99.0\n")
    deploy_project.sandbox.faults(pip_fail_next_update=True)
    failed = core.deploy(env, deploy_project.dist, FAST)
    assert failed.error is not None and failed.error.code == "pip_failed"
    back = core.rollback(env, None, FAST)
    assert back.ok, back.error
    assert back.log_lines == ()
    assert deploy_records.history(env)[-1].outcome == "success"
    logs = deploy_inspect.logs(env)  # `mwaadeps logs` shows the rollback's update only
    assert logs.streams and not logs.pip_failed


def _stream(name: str, first_ms: int | None) -> dict[str, object]:
    out: dict[str, object] = {"logStreamName": name}
    if first_ms is not None:
        out["firstEventTimestamp"] = first_ms
    return out


def test_pick_streams_is_strict_about_the_start() -> None:
    since = 1_700_000_100.7  # LastUpdate.CreatedAt of this update
    streams = [
        # the previous update, finished in the same second this one started
        _stream("requirements_install_ip-10-0-1-11.ec2.internal_1700000100.log", 1_700_000_100_300),
        # this update's stream, same second in its name
        _stream("requirements_install_ip-10-0-2-11.ec2.internal_1700000100.log", 1_700_000_100_900),
        # a later one, no event timestamp (only the name's epoch)
        _stream("requirements_install_ip-10-0-2-12.ec2.internal_1700000160.log", None),
        # much older
        _stream("requirements_install_ip-10-0-0-11.ec2.internal_1699990000.log", 1_699_990_000_000),
    ]
    assert deploy_logs._pick_streams(streams, since) == [
        "requirements_install_ip-10-0-2-11.ec2.internal_1700000100.log",
        "requirements_install_ip-10-0-2-12.ec2.internal_1700000160.log",
    ]
    assert deploy_logs._pick_streams(streams, 1_700_000_101.0) == [
        "requirements_install_ip-10-0-2-12.ec2.internal_1700000160.log"
    ]
