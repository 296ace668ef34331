"""Issue 9: huge lines and huge files parse and check in linear time, with the right verdict.

No timings are asserted: each input below took minutes with the quadratic code (a regex
that backtracks, shlex's string building, pairwise duplicate work) and takes well under a
second or two now; the assertions check that the result is still correct.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from packaging.specifiers import SpecifierSet

from mwaadeps.build.constraints import Constraints
from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.requirements.rules import check_requirements, combine, satisfiable
from mwaadeps.targets import Target

Writer = Callable[..., Path]
N = 400_000


def test_long_run_of_spaces_before_a_comment(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "requests" + " " * N + "# why\n" + " " * N))
    assert [r.name for r in parsed.requirements] == ["requests"]
    assert parsed.problems == ()


def test_long_line_without_a_comment_or_scheme(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "a" * N + "==1.0\n"))
    assert [len(r.name) for r in parsed.requirements] == [N]
    assert parsed.problems == ()


def test_long_url_without_userinfo(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "--index-url https://" + "a:" * (N // 2) + "\n"))
    (option,) = parsed.options
    assert option.value is not None and len(option.value) == len("https://") + N
    assert parsed.problems == ()


def test_many_schemes_and_a_credential_at_the_end(write: Writer) -> None:
    value = "a://" * (N // 4) + "https://bob:Secr3t@nexus.example/simple"
    parsed = parse_requirements(write("r.txt", f"--extra-index-url {value}\n"))
    (option,) = parsed.options
    assert option.shown is not None and option.shown.endswith("https://****@nexus.example/simple")
    assert "Secr3t" not in option.shown


def test_long_quoted_option_value(write: Writer) -> None:
    parsed = parse_requirements(
        write("r.txt", '--index-url "https://x/' + "a b" * (N // 3) + '"\n')
    )
    (option,) = parsed.options
    assert option.value == "https://x/" + "a b" * (N // 3)


def test_long_list_of_hashes(write: Writer) -> None:
    count = N // 20
    line = "requests==2.31.0 " + " ".join(f"--hash=sha256:{i:064x}" for i in range(count))
    (req,) = parse_requirements(write("r.txt", line + "\n")).requirements
    assert len(req.hashes) == count and req.hashes[-1] == f"sha256:{count - 1:064x}"


def test_long_invalid_version_gets_its_hint(write: Writer) -> None:
    parsed = parse_requirements(write("r.txt", "acme==" + "1." * (N // 2) + "x\n"))
    (problem,) = parsed.problems
    assert problem.code == "syntax"
    assert problem.hint.startswith("Did you mean acme==" + "1." * 10)


def test_200k_repeated_lines(write: Writer, target: Target, constraints: Constraints) -> None:
    count = 200_000
    path = write("r.txt", "requests>=2.0\n" * count)
    parsed = parse_requirements(path)
    assert len(parsed.requirements) == count
    assert parsed.requirements[-1].origin.line == count
    assert check_requirements(parsed, target, constraints).problems == ()


def test_repeated_conflicting_pin_is_reported_on_every_line(
    write: Writer, target: Target, constraints: Constraints
) -> None:
    count = 50_000
    report = check_requirements(parse_requirements(write("r.txt", "pandas==2.2.0\n" * count)),
                                target, constraints)  # fmt: skip
    assert [p.code for p in report.problems] == ["constraint-conflict"] * count
    assert [p.origin.line for p in report.problems if p.origin] == list(range(1, count + 1))


def test_200k_repeated_includes(write: Writer) -> None:
    write("other.txt", "numpy\n")
    parsed = parse_requirements(write("r.txt", "-r other.txt\n" * 200_000))
    assert [r.name for r in parsed.requirements] == ["numpy"]
    assert len(parsed.files) == 2
    assert [o.origin.line for o in parsed.options] == list(range(1, 200_001))


def test_many_distinct_duplicates(write: Writer, target: Target, constraints: Constraints) -> None:
    count = 5_000
    text = "".join(f"acme!=1.{i}\n" for i in range(count)) + "acme>=1.0\n"
    report = check_requirements(parse_requirements(write("r.txt", text)), target, constraints)
    (problem,) = report.problems
    assert (problem.code, problem.severity) == ("duplicate", "warning")
    assert problem.message.endswith(
        "pip combines them into "
        + str(SpecifierSet(text.replace("\n", ",").replace("acme", "").rstrip(",")))
        + "."
    )
    assert f"and {count + 1 - 10} more" in problem.message


def test_many_distinct_specifiers_that_no_version_meets() -> None:
    count = 5_000
    specs = [f">=1.{i}" for i in range(count)] + ["<1.0"]
    assert not satisfiable(combine(SpecifierSet(s) for s in specs))
    assert satisfiable(combine(SpecifierSet(s) for s in specs[:-1]))
