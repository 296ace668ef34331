"""The pure parts of test-local and runner build: no engine needed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from localtest_helpers import FIND_LINKS, write_bundle

from mwaadeps.errors import BundleError
from mwaadeps.localtest import (
    LocalTestReport,
    StepResult,
    _Collector,
    _lines,
    essential_constraints_for,
    local_runner_tag,
    offline_reason,
    read_bundle,
)
from mwaadeps.progress import RecordingReporter
from mwaadeps.runner import MWAA_PIP, pip_version_for
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
