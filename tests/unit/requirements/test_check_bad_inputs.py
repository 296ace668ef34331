"""The bad-input suite of `mwaadeps check`: one case per check, its message and file:line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mwaadeps.build.constraints import Constraints
from mwaadeps.requirements.model import Problem
from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.requirements.rules import CheckReport, check_requirements
from mwaadeps.targets import Target

Writer = Callable[..., Path]
CONSTRAINT_URL = (
    "https://raw.githubusercontent.com/apache/airflow/constraints-2.9.2/constraints-3.11.txt"
)


@pytest.fixture
def check(write: Writer, target: Target, constraints: Constraints) -> Callable[..., CheckReport]:
    def _check(text: str, mode: str = "bundle") -> CheckReport:
        path = write("requirements.txt", text)
        return check_requirements(parse_requirements(path), target, constraints, mode=mode)

    return _check


def only(report: CheckReport) -> Problem:
    assert len(report.problems) == 1, [p.message for p in report.problems]
    return report.problems[0]


def at(problem: Problem) -> str:
    assert problem.origin is not None
    return f"{problem.origin.file.name}:{problem.origin.line}"


def test_clean_file_is_ok(check: Callable[..., CheckReport]) -> None:
    report = check(
        "apache-airflow-providers-snowflake\nrequests\npandas==2.1.4\nnumpy>=1.20,<2\n"
        "simplejson~=3.19\n"
    )
    assert report.ok and report.problems == ()


def test_syntax_error(check: Callable[..., CheckReport]) -> None:
    report = check("requests\nrequests==2.28.2re\n")
    problem = only(report)
    assert not report.ok
    assert (problem.severity, problem.code, at(problem)) == (
        "error", "syntax", "requirements.txt:2",
    )  # fmt: skip
    assert problem.message == (
        "requests==2.28.2re is not a valid requirement: Expected comma (within version "
        "specifier), semicolon (after version specifier) or end."
    )
    assert "requests==2.28.2" in problem.hint


def test_incomplete_specifier(check: Callable[..., CheckReport]) -> None:
    problem = only(check("pandas>=\n"))
    assert (problem.code, at(problem)) == ("syntax", "requirements.txt:1")
    assert problem.message.startswith("pandas>= is not a valid requirement: ")


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        (
            "-e git+https://github.com/acme/dq.git#egg=dq",
            "editable",
            "-e git+https://github.com/acme/dq.git#egg=dq is an editable install from a "
            "checkout; an offline MWAA bundle can only install wheels.",
        ),
        (
            "dq @ git+https://github.com/acme/dq.git@v1.2",
            "vcs",
            "dq @ git+https://github.com/acme/dq.git@v1.2 installs from a version-control "
            "repository; MWAA workers in a private network cannot clone it and an offline "
            "bundle holds wheels only.",
        ),
        (
            "./libs/dq",
            "local-path",
            "./libs/dq is a local path; MWAA cannot see this machine's files.",
        ),
        (
            "dq @ file:///C:/Users/dev/dq-1.2-py3-none-any.whl",
            "local-path",
            "dq @ file:///C:/Users/dev/dq-1.2-py3-none-any.whl points to a file on this "
            "machine; MWAA cannot see it.",
        ),
        (
            "dq @ https://files.acme.io/dq-1.2-py3-none-any.whl",
            "direct-url",
            "dq @ https://files.acme.io/dq-1.2-py3-none-any.whl downloads from a direct URL; "
            "MWAA workers in a private network cannot reach it and mwaadeps cannot lock it "
            "with hashes.",
        ),
    ],
)
def test_lines_an_offline_bundle_cannot_hold(
    check: Callable[..., CheckReport], line: str, code: str, message: str
) -> None:
    problem = only(check(f"requests\n{line}\n"))
    assert (problem.severity, problem.code, at(problem)) == ("error", code, "requirements.txt:2")
    assert problem.message == message
    assert problem.hint.endswith(
        "build a wheel and list it in a find-links folder, or list the folder under "
        "local-packages in mwaadeps.toml."
    ) or problem.hint.startswith("Build a wheel and list it in a find-links folder")


def test_airflow_pinned_to_another_version(check: Callable[..., CheckReport]) -> None:
    problem = only(check("apache-airflow==2.9.3\n"))
    assert (problem.code, at(problem)) == ("airflow-version", "requirements.txt:1")
    assert problem.message == (
        "apache-airflow 2.9.3 does not match the target: MWAA 2.9.2 runs apache-airflow 2.9.2 "
        "and never lets a requirement change it."
    )
    assert problem.hint.startswith("Use apache-airflow==2.9.2 or drop the pin")


def test_airflow_range_excluding_target(check: Callable[..., CheckReport]) -> None:
    problem = only(check("apache-airflow>=2.10\n"))
    assert problem.message.startswith("apache-airflow>=2.10 does not match the target")


def test_airflow_listed_several_times_with_extras_is_ok(check: Callable[..., CheckReport]) -> None:
    report = check(
        "apache-airflow[celery]==2.9.2\napache-airflow[amazon,postgres]==2.9.2\n"
        "apache-airflow[slack]\nApache_Airflow==2.9.2\n"
    )
    assert report.ok and report.problems == ()


def test_duplicate_compatible_is_a_warning(check: Callable[..., CheckReport]) -> None:
    report = check("acme-utils>=1.0\nnumpy\nAcme_Utils<2\n")
    problem = only(report)
    assert report.ok
    assert (problem.severity, problem.code, at(problem)) == (
        "warning", "duplicate", "requirements.txt:3",
    )  # fmt: skip
    file = problem.origin.file if problem.origin else None
    assert problem.message == (
        f"acme-utils is listed 2 times with different specifiers: acme-utils>=1.0 ({file}:1), "
        f"Acme_Utils<2 ({file}:3); pip combines them into <2,>=1.0."
    )


def test_duplicate_no_version_satisfies_both(check: Callable[..., CheckReport]) -> None:
    problem = only(check("acme-utils==1.4\nacme-utils>=2.0\n"))
    assert (problem.severity, problem.code, at(problem)) == (
        "error", "duplicate-conflict", "requirements.txt:2",
    )  # fmt: skip
    assert problem.message.startswith(
        "acme-utils is listed 2 times and no version satisfies them all: acme-utils 1.4 ("
    )


def test_duplicate_that_excludes_the_constraint_pin(check: Callable[..., CheckReport]) -> None:
    report = check("requests>=2.0\nrequests<2.20\n")
    assert [(p.severity, p.code, at(p)) for p in report.problems] == [
        ("error", "constraint-conflict", "requirements.txt:2"),
        ("warning", "duplicate", "requirements.txt:2"),
    ]


@pytest.mark.parametrize("mode", ["bundle", "index"])
def test_constraint_url_of_the_target_is_fine(check: Callable[..., CheckReport], mode: str) -> None:
    """AWS's guide puts this line first: it is the target's constraints, no error."""
    report = check(f'--constraint "{CONSTRAINT_URL}"\nrequests\n', mode=mode)
    assert report.problems == ()
    assert report.ok


@pytest.mark.parametrize("mode", ["bundle", "index"])
def test_constraint_url_of_another_airflow(check: Callable[..., CheckReport], mode: str) -> None:
    url = CONSTRAINT_URL.replace("2.9.2", "2.7.2").replace("3.11", "3.8")
    problem = only(check(f"requests\n-c {url}\n", mode=mode))
    assert (problem.severity, problem.code, at(problem)) == ("error", "constraint-url",
                                                            "requirements.txt:2")  # fmt: skip
    assert problem.message == (
        f"--constraint {url} is the constraints of Airflow 2.7.2 (Python 3.8), but the target "
        "is MWAA 2.9.2 (Python 3.11)."
    )
    assert problem.hint.startswith(f"Run `mwaadeps fix` to point it at {CONSTRAINT_URL},")


def test_constraint_url_of_another_python_only(check: Callable[..., CheckReport]) -> None:
    problem = only(check(f"-c {CONSTRAINT_URL.replace('3.11', '3.12')}\n"))
    assert "Airflow 2.9.2 (Python 3.12)" in problem.message


def test_custom_constraint_url_is_a_source_not_a_problem(
    check: Callable[..., CheckReport],
) -> None:
    report = check("-c http://127.0.0.1:8081/repository/raw/airflow-2.9.2.txt\nrequests\n")
    assert report.problems == ()


def test_second_constraint_url_is_ignored_with_a_warning(
    check: Callable[..., CheckReport],
) -> None:
    problem = only(check(f"-c {CONSTRAINT_URL}\n-c http://127.0.0.1:1/c.txt\n"))
    assert (problem.severity, problem.code, at(problem)) == (
        "warning", "constraint-url-ignored", "requirements.txt:2",
    )  # fmt: skip


def test_constraint_url_with_a_literal_credential(check: Callable[..., CheckReport]) -> None:
    problem = only(check("-c https://bob:Secr3t@nexus.acme.io/raw/constraints.txt\n"))
    assert problem.code == "index-credentials"
    assert "Secr3t" not in problem.message + problem.hint


def test_essential_pin_conflict(check: Callable[..., CheckReport]) -> None:
    problem = only(check("Flask==3.0.0\n"))
    assert (problem.code, at(problem)) == ("essential-conflict", "requirements.txt:1")
    assert problem.message == (
        "Flask 3.0.0 conflicts with MWAA's essential pin Flask==2.2.5: "
        "it can never install on MWAA."
    )
    assert problem.hint.startswith("Use Flask==2.2.5 or drop the pin")


def test_essential_pin_range_conflict(check: Callable[..., CheckReport]) -> None:
    problem = only(check("sqlalchemy>=2.0\n"))
    assert problem.code == "essential-conflict"
    assert "SQLAlchemy==1.4.52" in problem.message


def test_constraint_conflict_exact_sentence(check: Callable[..., CheckReport]) -> None:
    report = check("requests\npandas==2.2.0\n")
    problem = only(report)
    assert not report.ok
    assert (problem.severity, problem.code, at(problem)) == (
        "error", "constraint-conflict", "requirements.txt:2",
    )  # fmt: skip
    expected = "pandas 2.2.0 conflicts with the Airflow 2.9.2 constraint pandas==2.1.4"
    assert problem.message == expected
    assert problem.hint.lower().startswith("use pandas==2.1.4 or drop the pin")


def test_constraint_conflict_range(check: Callable[..., CheckReport]) -> None:
    problem = only(check("pandas>=2.2,<3\n"))
    assert problem.message == (
        "pandas<3,>=2.2 conflicts with the Airflow 2.9.2 constraint pandas==2.1.4"
    )


def test_range_including_the_pin_is_fine(check: Callable[..., CheckReport]) -> None:
    assert check("pandas>=2.0,<2.2\nnumpy~=1.26\n").problems == ()


@pytest.mark.parametrize(
    "option",
    [
        "--index-url https://deploy:S3cr3tPassw0rd@nexus.acme.io/repository/pypi/simple",
        "-i https://deploy:S3cr3tPassw0rd@nexus.acme.io/repository/pypi/simple",
        "--extra-index-url=https://S3cr3tPassw0rd@nexus.acme.io/repository/pypi/simple",
    ],
)
def test_credentials_in_index_urls(check: Callable[..., CheckReport], option: str) -> None:
    report = check(f"requests\n{option}\n")
    problem = only(report)
    assert (problem.severity, problem.code, at(problem)) == (
        "error", "index-credentials", "requirements.txt:2",
    )  # fmt: skip
    assert "https://****@nexus.acme.io/repository/pypi/simple" in problem.message
    assert "${" in problem.hint and "password-env" in problem.hint
    assert "S3cr3tPassw0rd" not in json.dumps(report.to_dict())
    assert "S3cr3tPassw0rd" not in repr(report)


def test_placeholders_are_not_credentials(check: Callable[..., CheckReport]) -> None:
    report = check("--index-url https://${NEXUS_USER}:${NEXUS_PASSWORD}@nexus.acme.io/simple\n")
    assert report.problems == ()


def test_find_links_local_folder(check: Callable[..., CheckReport], write: Writer) -> None:
    write("wheels/internal-1.0-py3-none-any.whl", b"")
    problem = only(check("--find-links ./wheels\ninternal\n"))
    assert (problem.severity, problem.code, at(problem)) == (
        "warning", "find-links-local", "requirements.txt:1",
    )  # fmt: skip
    assert problem.message == (
        "--find-links ./wheels is a folder on this machine: mwaadeps can lock from it, but "
        "MWAA cannot see it."
    )
    assert "local-packages" in problem.hint


def test_find_links_mwaa_folder(check: Callable[..., CheckReport]) -> None:
    report = check("--find-links /usr/local/airflow/plugins\n--no-index\nrequests\n")
    assert [(p.severity, p.code) for p in report.problems] == [("warning", "mwaa-path")]


@pytest.mark.parametrize("name", ["psycopg2", "pycurl", "PyCurl==7.45.3"])
def test_image_provided_packages(check: Callable[..., CheckReport], name: str) -> None:
    problem = only(check(f"{name}\n"))
    assert (problem.severity, problem.code, at(problem)) == (
        "warning", "provided", "requirements.txt:1",
    )  # fmt: skip
    assert "preinstalled in the MWAA image" in problem.message


def test_missing_nested_file(check: Callable[..., CheckReport]) -> None:
    problem = only(check("requests\n-r requirements-dev.txt\n"))
    assert (problem.code, at(problem)) == ("missing-file", "requirements.txt:2")


def test_cycle(check: Callable[..., CheckReport], write: Writer) -> None:
    write("base.txt", "-r requirements.txt\n")
    problem = only(check("requests\n-r base.txt\n"))
    assert (problem.code, at(problem)) == ("cycle", "base.txt:1")


def test_unpinned_and_ranged_requirements_are_quiet(check: Callable[..., CheckReport]) -> None:
    report = check("requests\nboto3>=1.34\napache-airflow-providers-slack\nsimplejson<4\n")
    assert report.problems == ()
