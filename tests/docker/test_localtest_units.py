"""The pure parts of test-local and runner build: no engine needed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from localtest_helpers import FIND_LINKS, make_sdist, make_wheel, write_bundle

from mwaadeps.errors import BundleError
from mwaadeps.localtest.docker import local_runner_tag
from mwaadeps.localtest.image import MWAA_PIP, pip_version_for
from mwaadeps.localtest.run import (
    STEPS,
    LocalTestReport,
    StepResult,
    _Collector,
    _fill_skipped,
    _lines,
    bundle_target,
    essential_constraints_for,
    find_bundle_problems,
    offline_reason,
    read_bundle,
)
from mwaadeps.progress import RecordingReporter
from mwaadeps.targets import resolve_target


def _check_module() -> ModuleType:
    import mwaadeps

    path = Path(mwaadeps.__file__).parent / "data" / "mwaa_check.py"
    spec = importlib.util.spec_from_file_location("mwaa_check", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_offline_reason_only_for_index_needs() -> None:
    pip = ["ERROR: No matching distribution found for pyfiglet==1.0.2"]
    reason = offline_reason("pyfiglet==1.0.2\n", pip)
    assert reason is not None and "no network" in reason and "--no-index" in reason
    # A self-contained bundle missing a wheel is a bundle problem, not a network one.
    assert offline_reason(FIND_LINKS + "tinydep==1.0\n", pip) is None


def test_requirement_names_skip_options_and_comments(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(
        FIND_LINKS + "# -c commented\nFoo_Bar[extra]==1.0 ; python_version>'3'\n"
        "./local.whl\nhttps://x.invalid/a.whl\nbaz>=2  # note\nfoo-bar\n"
    )
    assert _check_module().requirement_names(str(req)) == ["foo-bar", "baz"]


def test_pip_version_table() -> None:
    assert pip_version_for(resolve_target("2.9.2")) == MWAA_PIP["2.9.2"]
    # A version missing from the table takes the nearest lower row.
    assert pip_version_for(resolve_target("2.9.9", "3.11")) == MWAA_PIP["2.9.2"]


def test_local_runner_tag() -> None:
    assert local_runner_tag("2.9.2") == "amazon/mwaa-local:2_9"
    assert local_runner_tag("2.10.3") == "amazon/mwaa-local:2_10"


def test_read_bundle_needs_requirements(tmp_path: Path) -> None:
    with pytest.raises(BundleError) as info:
        read_bundle(tmp_path)
    assert "requirements.txt" in info.value.message and info.value.hint


def test_essential_constraints_from_the_bundle(tmp_path: Path) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=[], requirements="x==1\n")
    text = essential_constraints_for(read_bundle(dist))
    assert text is not None
    assert "apache-airflow==2.9.2" in text and "celery==5.4.0" in text


def test_collector_turns_events_into_steps() -> None:
    rep = RecordingReporter()
    collector = _Collector(rep)
    marker = "@@mwaadeps@@ "
    raw = [
        marker + json.dumps({"event": "step_start", "name": "pip install"}) + "\n",
        "Collecting x\nERROR: boom\n",
        marker + json.dumps({"event": "step_end", "name": "pip install", "ok": False,
                             "seconds": 1.5, "message": "ERROR: boom"}) + "\n",
        marker + json.dumps({"event": "result", "installed": {"x": "1"}}),
    ]  # fmt: skip
    for line in _lines(iter(chunk.encode() for chunk in raw)):
        collector.feed(line)
    assert collector.steps == [StepResult("pip install", False, 1.5, "ERROR: boom", False)]
    assert collector.pip_output == ["Collecting x", "ERROR: boom"]
    assert rep.lines == ["Collecting x", "ERROR: boom"]
    assert collector.result is not None and collector.result["installed"] == {"x": "1"}


def test_report_json_shape() -> None:
    report = LocalTestReport(True, "img", (StepResult("pip install", True, 1.0, "ok"),))
    assert set(report.to_dict()) == {"ok", "image", "steps", "installed", "dag_import_errors"}


# -- the bundle check (host side) ----------------------------------------------------------
TINY = {"tinypkg/__init__.py": ""}
NO_INDEX = FIND_LINKS + "--constraint /usr/local/airflow/plugins/constraints.txt\n"


def _findings(tmp_path: Path, wheels: list[tuple[str, bytes]], requirements: str) -> Any:
    dist = write_bundle(tmp_path / "dist", wheels=wheels, requirements=requirements)
    bundle = read_bundle(dist)
    return find_bundle_problems(bundle, bundle_target(bundle))


def test_bundle_check_names_wrong_platform_wheels_with_their_tags(tmp_path: Path) -> None:
    arm = make_wheel("tinypkg", "1.0", TINY, tag="cp311-cp311-manylinux_2_17_aarch64")
    mac = make_wheel("tinymac", "1.0", TINY, tag="cp311-abi3-macosx_11_0_arm64")
    good = make_wheel("tinydep", "1.0", TINY, tag="cp311-cp311-manylinux_2_28_x86_64")
    found = _findings(tmp_path, [arm, mac, good], NO_INDEX + "tinypkg==1.0\n")
    assert [b["file"] for b in found.bad] == [arm[0], mac[0]]
    assert "Its tags: cp311-cp311-manylinux_2_17_aarch64." in found.bad[0]["message"]
    assert "cannot install on MWAA 2.9.2" in found.bad[0]["message"]
    assert found.bad[0]["name"] == "tinypkg" and found.bad[0]["version"] == "1.0"
    # The pin has a (wrong) file: it is reported once, as the wrong wheel, not as missing.
    assert found.missing == () and found.requirements_checked
    assert found.wheels == 3 and found.sdists == 0


def test_bundle_check_newer_glibc_than_the_target_is_wrong(tmp_path: Path) -> None:
    new = make_wheel("tinypkg", "1.0", TINY, tag="cp311-cp311-manylinux_2_39_x86_64")
    found = _findings(tmp_path, [new], NO_INDEX + "tinypkg==1.0\n")
    assert len(found.bad) == 1 and "glibc <= 2.34" in found.bad[0]["message"]


def test_bundle_check_a_good_sibling_makes_a_wrong_wheel_a_note(tmp_path: Path) -> None:
    arm = make_wheel("tinypkg", "1.0", TINY, tag="cp311-cp311-manylinux_2_17_aarch64")
    x86 = make_wheel("tinypkg", "1.0", TINY, tag="cp311-cp311-manylinux_2_17_x86_64")
    found = _findings(tmp_path, [arm, x86], NO_INDEX + "tinypkg==1.0\n")
    assert found.bad == ()
    assert any(arm[0] in note for note in found.notes)


def test_bundle_check_names_missing_requirements(tmp_path: Path) -> None:
    old = make_wheel("tinyold", "0.9", TINY)
    sdist = make_sdist("tinysrc", "2.0", TINY)
    ranged = make_wheel("tinyrange", "1.4", TINY)
    found = _findings(
        tmp_path,
        [old, sdist, ranged],
        NO_INDEX + "tinydep==1.0\ntinyold==1.0\ntinysrc==2.0\ntinyrange>=1.2,<2\n"
        "winonly==1.0 ; sys_platform == 'win32'\nTiny_Case==3\n",
    )
    messages = [m["message"] for m in found.missing]
    assert messages == [
        "no wheel for tinydep==1.0 in plugins.zip",
        "no wheel for tinyold==1.0 in plugins.zip (it has tinyold 0.9)",
        "no wheel for Tiny_Case==3 in plugins.zip",
    ]
    assert found.missing[2]["name"] == "tiny-case" and found.missing[2]["specifier"] == "==3"
    assert found.sdists == 1 and found.bad == ()


def test_bundle_check_looks_only_in_the_find_links_folders(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    root = make_wheel("tinypkg", "1.0", TINY)
    nested = make_wheel("tinydep", "1.0", TINY)
    with zipfile.ZipFile(dist / "plugins.zip", "w") as zf:
        zf.writestr(root[0], root[1])
        zf.writestr(f"wheels/{nested[0]}", nested[1])
        zf.writestr("operators/helpers.zip", b"not a distribution")
    (dist / "requirements.txt").write_text(
        "--find-links file:///usr/local/airflow/plugins/wheels/\n--no-index\n"
        "tinypkg==1.0\ntinydep==1.0\n"
    )
    bundle = read_bundle(dist)
    found = find_bundle_problems(bundle, bundle_target(bundle, "2.9.2"))
    assert [m["message"] for m in found.missing] == [
        "no wheel for tinypkg==1.0 in plugins.zip (/usr/local/airflow/plugins/wheels)"
    ]
    assert found.wheels == 2 and found.sdists == 0


def test_bundle_check_with_an_index_does_not_look_for_missing(tmp_path: Path) -> None:
    found = _findings(tmp_path, [], "tinypkg==1.0\n")
    assert found.missing == () and not found.requirements_checked
    assert any("package index" in note for note in found.notes)
    outside = _findings(
        tmp_path / "b", [], "--find-links https://x.invalid/w/\n--no-index\ntinypkg==1.0\n"
    )
    assert outside.missing == () and not outside.requirements_checked
    nowhere = _findings(tmp_path / "c", [], "--no-index\ntinypkg==1.0\n")
    assert [m["message"] for m in nowhere.missing] == [
        "no wheel for tinypkg==1.0 in plugins.zip (requirements.txt has no --find-links)"
    ]


def test_bundle_check_without_a_target_does_not_judge_tags(tmp_path: Path) -> None:
    arm = make_wheel("tinypkg", "1.0", TINY, tag="cp311-cp311-manylinux_2_17_aarch64")
    dist = write_bundle(tmp_path / "dist", wheels=[arm], requirements=NO_INDEX + "tinypkg==1.0\n")
    (dist / "manifest.json").unlink()
    bundle = read_bundle(dist)
    assert bundle_target(bundle) is None
    found = find_bundle_problems(bundle, None)
    assert found.bad == () and found.target is None
    assert any("wheel tags not checked" in note for note in found.notes)
    # The CLI's --airflow-version stands in for the manifest.
    target = bundle_target(bundle, "2.9.2")
    assert target is not None and target.python_version == "3.11"
    assert len(find_bundle_problems(bundle, target).bad) == 1


def test_bundle_target_prefers_the_manifest(tmp_path: Path) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=[], requirements="x==1\n")
    target = bundle_target(read_bundle(dist), "2.10.3")
    assert target is not None and target.airflow_version == "2.9.2"


# -- steps, skipping, folding -----------------------------------------------------------
def test_skipped_steps_are_not_failures() -> None:
    failed = StepResult("bundle check", False, 0.1, "no wheel for x==1 in plugins.zip")
    steps = _fill_skipped([StepResult("startup script", True, 1.0, "ok"), failed], "it stopped")
    assert [s.name for s in steps] == list(STEPS)
    assert [s.status for s in steps] == ["ok", "failed"] + ["skipped"] * (len(STEPS) - 2)
    report = LocalTestReport(False, "img", tuple(steps))
    assert report.failed == [failed]
    assert report.to_dict()["steps"][2] == {
        "name": "pip install",
        "ok": False,
        "status": "skipped",
        "seconds": 0.0,
        "message": "skipped: it stopped",
    }


def _pip_stream(collector: _Collector, satisfied: int) -> None:
    marker = "@@mwaadeps@@ "
    collector.feed(marker + json.dumps({"event": "step_start", "name": "pip install"}))
    collector.feed("Looking in links: /usr/local/airflow/plugins")
    for i in range(satisfied):
        collector.feed(f"Requirement already satisfied: dep{i}==1 in /usr/local/airflow/.local")
    collector.feed("Successfully installed tinypkg-1.0")
    collector.feed(marker + json.dumps({"event": "step_end", "name": "pip install", "ok": True,
                                        "seconds": 1.0, "message": "ok"}))  # fmt: skip


def test_already_satisfied_lines_fold_into_one() -> None:
    rep = RecordingReporter()
    collector = _Collector(rep)
    _pip_stream(collector, 3)
    assert rep.lines == [
        "Looking in links: /usr/local/airflow/plugins",
        "Successfully installed tinypkg-1.0",
        "3 requirements already satisfied",
    ]
    # The full output is kept for the diagnosis of a failure.
    assert len(collector.pip_output) == 5


def test_verbose_streams_every_pip_line() -> None:
    rep = RecordingReporter()
    _pip_stream(_Collector(rep, fold=False), 2)
    assert len(rep.lines) == 4
    assert sum(line.startswith("Requirement already satisfied") for line in rep.lines) == 2


def test_satisfies_in_the_container_script() -> None:
    check = _check_module()
    assert check.satisfies("1.0", "==1.0") and check.satisfies("1.0", "")
    assert not check.satisfies(None, "")
    assert not check.satisfies("0.9", "==1.0")


# -- the CLI's own checks --------------------------------------------------------------
def test_labels_must_be_key_value() -> None:
    import mwaadeps.cli.app  # noqa: F401 (mwaadeps.cli.localtest is imported through the app)
    from mwaadeps.cli.localtest import _labels
    from mwaadeps.errors import ConfigError

    assert _labels(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError) as info:
        _labels(["nolabel"])
    assert "--label 'nolabel' is not KEY=VALUE" in info.value.message


@pytest.mark.parametrize("option", ["--startup-timeout", "--pip-timeout"])
def test_timeouts_must_be_positive(tmp_path: Path, option: str) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=[], requirements="x==1\n")
    cli = [sys.executable, "-c", "from mwaadeps.cli.app import main; main()"]
    proc = subprocess.run(
        [*cli, "test-local", "--dist", str(dist), option, "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert f"Invalid value for '{option}'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sigterm_in_the_cli_raises_an_interrupt() -> None:
    import os
    import signal

    import mwaadeps.cli.app  # noqa: F401
    from mwaadeps.cli.localtest import Terminated, _sigterm_interrupts

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), _sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
    assert issubclass(Terminated, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before


def test_pip_failure_keeps_the_conflicts_cause() -> None:
    lines = [
        "Processing ./plugins/tinyflask-1.0-py3-none-any.whl",
        "ERROR: Cannot install tinyflask==1.0 because these package versions have conflicting "
        "dependencies.",
        "",
        "The conflict is caused by:",
        "    tinyflask 1.0 depends on flask==3.0.0",
        "    The user requested (constraint) flask==2.2.5",
        "",
        "To fix this you could try to:",
        "1. loosen the range of package versions you've specified",
        "",
        "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/...",
    ]
    message = _check_module().pip_failure(lines).splitlines()
    assert message[1:4] == [
        "The conflict is caused by:",
        "    tinyflask 1.0 depends on flask==3.0.0",
        "    The user requested (constraint) flask==2.2.5",
    ]
    assert message[4].startswith("ERROR: ResolutionImpossible")
    assert "MWAA's essential pins" in message[5]
    assert not any("loosen" in line for line in message)
    # Without ERROR lines, the tail of the output is the message.
    assert _check_module().pip_failure(["Killed"]) == "Killed"
