"""parse_requirements reads files the way pip does and keeps file:line for every line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mwaadeps.errors import RequirementsError
from mwaadeps.redact import redact
from mwaadeps.requirements.model import Origin, ParsedOption
from mwaadeps.requirements.parser import expand_env_vars, parse_requirements

Writer = Callable[..., Path]


def codes(path: Path) -> list[tuple[str, int | None]]:
    return [
        (p.code, p.origin.line if p.origin else None) for p in parse_requirements(path).problems
    ]


def test_plain_requirements_with_origins(write: Writer) -> None:
    text = "requests==2.31.0\nPandas>=2.1  # data\n\nSnowflake_Connector\n"
    path = write("requirements.txt", text)
    parsed = parse_requirements(path)
    assert [(r.name, r.origin.line) for r in parsed.requirements] == [
        ("requests", 1),
        ("pandas", 2),
        ("snowflake-connector", 4),
    ]
    assert parsed.requirements[1].text == "Pandas>=2.1"
    assert str(parsed.requirements[0].origin) == f"{path}:1"
    assert parsed.problems == ()
    assert parsed.files == (path,)
    assert parsed.ok


def test_origin_str() -> None:
    assert str(Origin(Path("a/requirements.txt"), 7)) == "a/requirements.txt:7"


def test_bom_crlf_no_trailing_newline_non_ascii(write: Writer) -> None:
    data = "\ufeff# dépendances — données\r\nrequests==2.31.0\r\n# 日本語\r\nnumpy==1.26.4".encode()
    parsed = parse_requirements(write("r.txt", data))
    assert [(r.name, r.origin.line) for r in parsed.requirements] == [
        ("requests", 2),
        ("numpy", 4),
    ]
    assert parsed.problems == ()


def test_utf16_bom(write: Writer) -> None:
    data = "requests==2.31.0\r\n".encode("utf-16")
    assert [r.name for r in parse_requirements(write("r.txt", data)).requirements] == ["requests"]


def test_not_utf8_is_an_error_with_line(write: Writer) -> None:
    path = write("r.txt", b"requests\n# caf\xe9 (cp1252)\nnumpy\n")
    parsed = parse_requirements(path)
    assert [(p.code, p.origin.line if p.origin else 0) for p in parsed.problems] == [
        ("encoding", 2)
    ]
    assert [r.name for r in parsed.requirements] == ["requests", "numpy"]


def test_pep263_coding_line(write: Writer) -> None:
    path = write("r.txt", b"# -*- coding: latin-1 -*-\n# caf\xe9\nrequests\n")
    parsed = parse_requirements(path)
    assert parsed.problems == ()


def test_line_continuation_keeps_first_line_number(write: Writer) -> None:
    path = write(
        "r.txt",
        "requests==2.31.0 \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\nnumpy\n",
    )
    parsed = parse_requirements(path)
    first, second = parsed.requirements
    assert (first.name, first.origin.line, first.hashes) == (
        "requests", 1, ("sha256:aaa", "sha256:bbb"),
    )  # fmt: skip
    assert second.origin.line == 4
    assert parsed.problems == ()


def test_comment_ending_in_backslash_does_not_continue(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "# a comment \\\nrequests\n"))
    assert [(r.name, r.origin.line) for r in parsed.requirements] == [("requests", 2)]


def test_hash_without_space_is_not_a_comment(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "-e git+https://github.com/o/p.git#egg=p\n"))
    assert parsed.options[0].value == "git+https://github.com/o/p.git#egg=p"


def test_options_are_recorded_with_long_names(write: Writer) -> None:
    path = write(
        "r.txt",
        "-i https://pypi.example/simple\n"
        "--extra-index-url=https://extra.example/simple\n"
        "-f https://wheels.example/\n"
        "--no-index\n--trusted-host nexus.local\n--pre\n--only-binary :all:\n"
        "--prefer-binary\n--require-hashes\n",
    )
    parsed = parse_requirements(path)
    assert [(o.name, o.value, o.origin.line) for o in parsed.options] == [
        ("--index-url", "https://pypi.example/simple", 1),
        ("--extra-index-url", "https://extra.example/simple", 2),
        ("--find-links", "https://wheels.example/", 3),
        ("--no-index", None, 4),
        ("--trusted-host", "nexus.local", 5),
        ("--pre", None, 6),
        ("--only-binary", ":all:", 7),
        ("--prefer-binary", None, 8),
        ("--require-hashes", None, 9),
    ]
    assert parsed.problems == ()
    assert parsed.options_named("--index-url")[0].origin.line == 1


def test_unknown_option_and_missing_value(write: Writer) -> None:
    assert codes(write("r.txt", "--frobnicate\n--index-url\n")) == [
        ("unknown-option", 1),
        ("syntax", 2),
    ]


def test_option_prefix_like_optparse(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "--extra-index https://x.example/simple\n"))
    assert parsed.options[0].name == "--extra-index-url"


def test_option_on_requirement_line_is_ignored_like_pip(write: Writer) -> None:
    path = write("r.txt", "requests --index-url https://x.example/simple\n")
    parsed = parse_requirements(path)
    assert [r.name for r in parsed.requirements] == ["requests"]
    assert [p.code for p in parsed.problems] == ["ignored-option"]
    assert parsed.options == ()


def test_env_vars_are_kept_and_expandable(write: Writer) -> None:
    path = write("r.txt", "--index-url https://${NEXUS_USER}:${NEXUS_PASSWORD}@nexus/simple\n")
    option = parse_requirements(path).options[0]
    assert option.value == "https://${NEXUS_USER}:${NEXUS_PASSWORD}@nexus/simple"
    assert option.shown == option.value
    env = {"NEXUS_USER": "bob", "NEXUS_PASSWORD": "pw"}
    assert expand_env_vars(option.value, env) == "https://bob:pw@nexus/simple"
    assert expand_env_vars("${UNSET}/x", {}) == "${UNSET}/x"


def test_credentials_never_in_repr_or_shown(write: Writer) -> None:
    path = write("r.txt", "--index-url https://bob:hunter2@nexus.example/simple\n")
    option = parse_requirements(path).options[0]
    assert option.value == "https://bob:hunter2@nexus.example/simple"
    assert "hunter2" not in repr(option)
    assert option.shown == "https://****@nexus.example/simple"
    assert isinstance(option, ParsedOption)


def test_redact_keeps_placeholders() -> None:
    assert redact("x https://a:b@h/y") == "x https://****@h/y"
    assert redact("https://${U}:${P}@h/y") == "https://${U}:${P}@h/y"
    assert redact("https://tok@h/") == "https://****@h/"


def test_nested_requirement_and_constraint_files(write: Writer) -> None:
    write("reqs/base.txt", "requests==2.31.0\n")
    write("reqs/more/extra.txt", "-r ../base.txt\nnumpy\n")
    write("reqs/pins.txt", "numpy==1.26.4\n")
    top = write("reqs/requirements.txt", "-r more/extra.txt\n-c pins.txt\npandas\n")
    parsed = parse_requirements(top)
    assert [(r.name, r.origin.file.name, r.origin.line) for r in parsed.requirements] == [
        ("requests", "base.txt", 1),
        ("numpy", "extra.txt", 2),
        ("pandas", "requirements.txt", 3),
    ]
    assert [(c.name, c.constraint) for c in parsed.constraints] == [("numpy", True)]
    assert [p.name for p in parsed.files] == [
        "requirements.txt", "extra.txt", "base.txt", "pins.txt",
    ]  # fmt: skip
    assert parsed.problems == ()


def test_diamond_includes_are_read_once(write: Writer) -> None:
    write("common.txt", "requests\n")
    write("a.txt", "-r common.txt\n")
    write("b.txt", "-r common.txt\n")
    parsed = parse_requirements(write("top.txt", "-r a.txt\n-r b.txt\n"))
    assert [r.name for r in parsed.requirements] == ["requests"]
    assert parsed.problems == ()


def test_cycle_is_detected_at_the_including_line(write: Writer) -> None:
    write("a.txt", "requests\n-r b.txt\n")
    write("b.txt", "numpy\n-r a.txt\n")
    parsed = parse_requirements(write("a.txt", "requests\n-r b.txt\n"))
    (problem,) = parsed.problems
    assert problem.code == "cycle" and problem.severity == "error"
    assert problem.origin is not None
    assert (problem.origin.file.name, problem.origin.line) == ("b.txt", 2)
    assert "a.txt -> b.txt -> a.txt" in problem.message


def test_self_include(write: Writer) -> None:
    assert codes(write("r.txt", "requests\n-r r.txt\n")) == [("cycle", 2)]


def test_missing_nested_file(write: Writer) -> None:
    path = write("r.txt", "requests\n-r dev.txt\n")
    (problem,) = parse_requirements(path).problems
    assert (problem.code, problem.severity, problem.origin) == (
        "missing-file", "error", Origin(path, 2),
    )  # fmt: skip
    assert "dev.txt does not exist" in problem.message


def test_mwaa_side_paths_are_warnings(write: Writer) -> None:
    path = write("r.txt", "-c /usr/local/airflow/plugins/constraints.txt\nrequests\n")
    parsed = parse_requirements(path)
    assert [(p.code, p.severity) for p in parsed.problems] == [("mwaa-path", "warning")]


def test_remote_nested_requirements(write: Writer) -> None:
    assert codes(write("r.txt", "-r https://example.com/r.txt\n")) == [("remote-file", 1)]


def test_constraint_url_is_an_option_not_fetched(write: Writer) -> None:
    url = "https://raw.githubusercontent.com/apache/airflow/constraints-2.9.2/constraints-3.11.txt"
    parsed = parse_requirements(write("r.txt", f"--constraint {url}\n"))
    assert parsed.options == (ParsedOption("--constraint", url, parsed.options[0].origin),)
    assert parsed.problems == ()


def test_missing_top_file_raises_requirements_error(tmp_path: Path) -> None:
    with pytest.raises(RequirementsError, match="does not exist"):
        parse_requirements(tmp_path / "nope.txt")


def test_directory_as_top_file_raises(tmp_path: Path) -> None:
    with pytest.raises(RequirementsError):
        parse_requirements(tmp_path)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("-e git+https://github.com/org/pkg.git#egg=pkg", "editable"),
        ("-e .", "editable"),
        ("--editable=./libs/common", "editable"),
        ("git+https://github.com/org/pkg.git@v1.0#egg=pkg", "vcs"),
        ("pkg @ git+https://github.com/org/pkg.git@v1.0", "vcs"),
        ("./libs/common", "local-path"),
        ("../wheels/common-1.0-py3-none-any.whl", "local-path"),
        ("/opt/wheels/common-1.0-py3-none-any.whl", "local-path"),
        ("C:\\Users\\me\\common-1.0-py3-none-any.whl", "local-path"),
        ("common-1.0-py3-none-any.whl", "local-path"),
        ("common @ file:///C:/Users/me/common-1.0-py3-none-any.whl", "local-path"),
        ("file:///home/me/common", "local-path"),
        ("common @ https://files.example.com/common-1.0-py3-none-any.whl", "direct-url"),
        ("https://files.example.com/common-1.0.tar.gz", "direct-url"),
        ("requests==2.28.2re", "syntax"),
        ("pandas>=", "syntax"),
        ("requests[socks", "syntax"),
        ("-r", "syntax"),
        ('pkg "unbalanced', "syntax"),
    ],
)
def test_lines_that_cannot_be_bundled_or_parsed(write: Writer, line: str, code: str) -> None:
    path = write("requirements.txt", f"requests\n{line}\n")
    parsed = parse_requirements(path)
    assert [(p.code, p.severity, p.origin) for p in parsed.problems] == [
        (code, "error", Origin(path, 2))
    ]
    assert parsed.problems[0].hint


def test_bundle_fix_hint(write: Writer) -> None:
    (problem,) = parse_requirements(write("r.txt", "-e ./pkg\n")).problems
    assert (
        "build a wheel and list it in a find-links folder, or list the folder under "
        "local-packages in mwaadeps.toml" in problem.hint.lower()
    )


def test_syntax_error_carries_packaging_message_and_suggestion(write: Writer) -> None:
    (problem,) = parse_requirements(write("r.txt", "requests==2.28.2re\n")).problems
    assert problem.message.startswith("requests==2.28.2re is not a valid requirement: Expected")
    assert "Did you mean requests==2.28.2?" in problem.hint


def test_direct_url_with_credentials_is_redacted(write: Writer) -> None:
    path = write("r.txt", "pkg @ https://bob:hunter2@files.example.com/pkg-1.0.whl\n")
    parsed = parse_requirements(path)
    assert parsed.requirements[0].text == "pkg @ https://****@files.example.com/pkg-1.0.whl"
    assert all("hunter2" not in p.message + p.hint for p in parsed.problems)


def test_markers_and_extras(write: Writer) -> None:
    path = write(
        "r.txt",
        'pywin32==306; sys_platform == "win32"\napache-airflow[celery, amazon]==2.9.2\n',
    )
    parsed = parse_requirements(path)
    assert parsed.requirements[0].requirement.marker is not None
    assert parsed.requirements[1].requirement.extras == {"celery", "amazon"}
    assert parsed.problems == ()


def test_dataclasses_are_frozen(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "requests\n"))
    with pytest.raises(AttributeError):
        parsed.path = Path("x")  # type: ignore[misc]
