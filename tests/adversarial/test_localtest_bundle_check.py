"""test-local names a bundle's wrong or missing wheels before pip, against a real engine.

Each case reproduces what users of aws-mwaa-local-runner hit (#393, #342, #301, #257): wheels
for the wrong platform in plugins.zip, or a pin with no wheel. Before the bundle check, the
only message was pip's "No matching distribution" / ResolutionImpossible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from localtest_fixtures import *  # noqa: F403 (the engine fixtures)
from localtest_fixtures import (
    FIND_LINKS,
    SESSION_LABELS,
    TINY_REQUIREMENTS,
    make_sdist,
    make_wheel,
    write_bundle,
)

from mwaadeps.localtest.run import STEPS, LocalTestReport, StepResult, run_bundle
from mwaadeps.progress import RecordingReporter

pytestmark = pytest.mark.docker

CONSTRAINT = "--constraint /usr/local/airflow/plugins/constraints.txt\n"


def _run(dist: Path, image: str) -> LocalTestReport:
    return run_bundle(dist, image=image, reporter=RecordingReporter(), labels=SESSION_LABELS)


def _step(report: LocalTestReport, name: str) -> StepResult:
    return next(s for s in report.steps if s.name == name)


def _later_steps_skipped(report: LocalTestReport, failed: str) -> None:
    """Every step after the failed one is there, and says skipped (not failed, not absent)."""
    assert [s.name for s in report.steps] == list(STEPS)
    later = list(STEPS)[list(STEPS).index(failed) + 1 :]
    for name in later:
        step = _step(report, name)
        assert step.status == "skipped", step
        assert step.message == f"skipped: {failed} failed"
    assert [s.name for s in report.failed] == [failed]


def test_apple_silicon_wheels_are_named_with_their_tags(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    # What `pip download` gives on an M1 laptop: macOS arm64 and Linux aarch64 wheels.
    mac = make_wheel(
        "tinymac", "2.0", {"tinymac/__init__.py": ""}, tag="cp311-cp311-macosx_11_0_arm64"
    )
    arm = make_wheel(
        "tinyarm", "1.5", {"tinyarm/__init__.py": ""}, tag="cp311-cp311-manylinux_2_17_aarch64"
    )
    dist = write_bundle(
        tmp_path / "dist",
        wheels=[*tiny_wheels, mac, arm],
        requirements=TINY_REQUIREMENTS + "tinymac==2.0\ntinyarm==1.5\n",
    )
    report = _run(dist, runner_image)
    check = _step(report, "bundle check")
    assert not report.ok and not check.ok
    assert "plugins.zip has wheels MWAA 2.9.2 (CPython 3.11) cannot install" in check.message
    assert "tinymac-2.0-cp311-cp311-macosx_11_0_arm64.whl cannot install" in check.message
    assert "Its tags: cp311-cp311-macosx_11_0_arm64." in check.message
    assert "Its tags: cp311-cp311-manylinux_2_17_aarch64." in check.message
    assert "mwaadeps build" in check.message
    # The good wheels are not accused.
    assert "tinypkg" not in check.message and "tinydep" not in check.message
    _later_steps_skipped(report, "bundle check")
    assert not any("ResolutionImpossible" in s.message for s in report.steps)


def test_wrong_python_abi_wheel_is_named(runner_image: str, tmp_path: Path) -> None:
    # Built on the laptop's Python 3.12 for an MWAA that runs 3.11.
    cp312 = make_wheel(
        "tinyabi", "1.0", {"tinyabi/__init__.py": ""}, tag="cp312-cp312-manylinux_2_17_x86_64"
    )
    dist = write_bundle(
        tmp_path / "dist", wheels=[cp312], requirements=FIND_LINKS + CONSTRAINT + "tinyabi==1.0\n"
    )
    report = _run(dist, runner_image)
    check = _step(report, "bundle check")
    assert "tinyabi-1.0-cp312-cp312-manylinux_2_17_x86_64.whl" in check.message
    assert "Its tags: cp312-cp312-manylinux_2_17_x86_64." in check.message
    _later_steps_skipped(report, "bundle check")


def test_missing_wheels_are_each_named(runner_image: str, tiny_wheels: Any, tmp_path: Path) -> None:
    old = make_wheel("tinyold", "0.9", {"tinyold/__init__.py": ""})
    dist = write_bundle(
        tmp_path / "dist",
        wheels=[tiny_wheels[0], old],
        requirements=TINY_REQUIREMENTS + "tinyold==1.0\n",
    )
    report = _run(dist, runner_image)
    check = _step(report, "bundle check")
    assert "no wheel for tinydep==1.0 in plugins.zip" in check.message
    assert "no wheel for tinyold==1.0 in plugins.zip (it has tinyold 0.9)" in check.message
    assert "tinypkg" not in check.message
    _later_steps_skipped(report, "bundle check")


def test_pinned_sdist_counts_as_present(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    # tinydep as a bundled sdist (its build needs nothing), tinypkg as a wheel.
    sdist = make_sdist("tinydep", "1.0", {"tinydep/__init__.py": "VALUE = 42\n"})
    dist = write_bundle(
        tmp_path / "dist",
        wheels=[tiny_wheels[0], sdist],
        requirements=TINY_REQUIREMENTS,
        pinned={"tinypkg": "1.0", "tinydep": "1.0"},
    )
    report = _run(dist, runner_image)
    check = _step(report, "bundle check")
    assert check.ok, check
    assert "1 wheels and 1 sdists in plugins.zip" in check.message
    assert "every requirement has a file to install from" in check.message
    assert report.ok, report.to_dict()
    assert report.installed["tinydep"] == "1.0"


def test_requirement_the_image_has_needs_no_wheel(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    # pendulum is in MWAA's own install: pip says "already satisfied", offline or not.
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS + "pendulum\napache-airflow==2.9.2\n",
    )
    report = _run(dist, runner_image)
    check = _step(report, "bundle check")
    assert check.ok, check
    assert "2 requirements without a file in plugins.zip are satisfied" in check.message
    assert _step(report, "pip install").ok


def test_resolution_impossible_comes_with_its_cause(runner_image: str, tmp_path: Path) -> None:
    # Every pin has its wheel, so the bundle check passes; the conflict is in the metadata,
    # and pip's ERROR lines alone ("ResolutionImpossible") would not say which.
    needs_new = make_wheel(
        "tinypkg", "1.0", {"tinypkg/__init__.py": ""}, requires=("tinydep==2.0",)
    )
    dep1 = make_wheel("tinydep", "1.0", {"tinydep/__init__.py": ""})
    dep2 = make_wheel("tinydep", "2.0", {"tinydep/__init__.py": ""})
    dist = write_bundle(
        tmp_path / "dist",
        wheels=[needs_new, dep1, dep2],
        requirements=FIND_LINKS + CONSTRAINT + "tinypkg==1.0\ntinydep==1.0\n",
    )
    report = _run(dist, runner_image)
    assert _step(report, "bundle check").ok
    pip = _step(report, "pip install")
    assert pip.status == "failed"
    assert "ResolutionImpossible" in pip.message
    assert "The conflict is caused by:" in pip.message
    assert "tinypkg 1.0 depends on tinydep==2.0" in pip.message
    _later_steps_skipped(report, "pip install")


def test_conflict_with_mwaas_essential_pins_says_where_they_come_from(
    runner_image: str, tmp_path: Path
) -> None:
    # Flask is one of MWAA's non-overridable pins (2.2.5 for 2.9.2).
    flaskish = make_wheel(
        "tinyflask", "1.0", {"tinyflask/__init__.py": ""}, requires=("flask==3.0.0",)
    )
    dist = write_bundle(
        tmp_path / "dist", wheels=[flaskish], requirements=FIND_LINKS + "tinyflask==1.0\n"
    )
    report = _run(dist, runner_image)
    pip = _step(report, "pip install")
    assert pip.status == "failed"
    assert "tinyflask 1.0 depends on flask==3.0.0" in pip.message
    assert "MWAA's essential pins, which nothing can override" in pip.message
