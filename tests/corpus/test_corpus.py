"""Every corpus file gets its expected verdict; no input, however mangled, raises."""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import pytest

from mwaadeps.build.constraints import Constraints
from mwaadeps.requirements.fix import apply_fix, plan_fix
from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.requirements.rules import check_requirements
from mwaadeps.targets import resolve_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
EXPECTED: dict[str, dict[str, object]] = tomllib.loads(
    (HERE / "expected.toml").read_text(encoding="utf-8")
)
TARGET = resolve_target("2.9.2")


def verdict(path: Path, constraints: Constraints, root: Path = FILES) -> tuple[bool, list[str]]:
    report = check_requirements(parse_requirements(path), TARGET, constraints)
    found = []
    for p in report.problems:
        assert p.origin is not None, p
        where = p.origin.file.relative_to(root).as_posix()
        found.append(f"{p.severity} {p.code} {where}:{p.origin.line}")
    return report.ok, found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_verdict(name: str, corpus_constraints: Constraints) -> None:
    expected = EXPECTED[name]
    ok, found = verdict(FILES / name, corpus_constraints)
    assert found == expected["problems"]
    assert ok is expected["ok"]


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A copy of files/ to rewrite (nested files keep their relative paths)."""
    root = tmp_path / "files"
    shutil.copytree(FILES, root)
    return root


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_verdict_after_fix_and_fix_is_idempotent(
    name: str, corpus_constraints: Constraints, corpus_copy: Path
) -> None:
    expected = EXPECTED[name]
    before = {p: p.read_bytes() for p in corpus_copy.rglob("*") if p.is_file()}
    result = plan_fix(corpus_copy / name, TARGET, corpus_constraints)
    apply_fix(result)
    ok, found = verdict(corpus_copy / name, corpus_constraints, corpus_copy)
    assert found == expected["after_fix_problems"]
    assert ok is expected["after_fix_ok"]
    assert result.ok is ok
    assert [p.code for p in result.remaining] == [f.split()[1] for f in found]
    # Only the files fix reported changed on disk, and nothing else appeared.
    after = {p: p.read_bytes() for p in corpus_copy.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    assert {p for p in after if after[p] != before[p]} == {p.resolve() for p in result.files}
    again = plan_fix(corpus_copy / name, TARGET, corpus_constraints)
    assert again.changes == () and not again.changed, again.diff()


def test_fix_keeps_line_endings_and_bom(corpus_constraints: Constraints, corpus_copy: Path) -> None:
    apply_fix(plan_fix(corpus_copy / "conda-freeze-windows.txt", TARGET, corpus_constraints))
    raw = (corpus_copy / "conda-freeze-windows.txt").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") == 16
    assert b"numpy==1.26.4\r\n" in raw and b"file:" not in raw
    assert (FILES / "conda-freeze-windows.txt").read_bytes() != raw  # the copy, not the corpus
    for name in ("bom.txt", "bom-crlf-no-newline.txt", "crlf.txt"):
        apply_fix(plan_fix(corpus_copy / name, TARGET, corpus_constraints))
        assert (corpus_copy / name).read_bytes() == (FILES / name).read_bytes()


def test_every_corpus_file_is_covered(corpus_constraints: Constraints) -> None:
    reached: set[Path] = set()
    for name in EXPECTED:
        reached.update(p.resolve() for p in parse_requirements(FILES / name).files)
    on_disk = {p.resolve() for p in FILES.rglob("*.txt")}
    assert on_disk - reached == set(), "corpus files without an expected verdict"


def test_line_endings_and_encodings_are_really_there() -> None:
    """Guard against an editor or git normalising the bytes away."""
    assert b"\r\n" in (FILES / "crlf.txt").read_bytes()
    assert b"\r\n" in (FILES / "windows-file-url.txt").read_bytes()
    assert (FILES / "bom.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    raw = (FILES / "bom-crlf-no-newline.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and not raw.endswith(b"\n")
    assert not (FILES / "no-trailing-newline.txt").read_bytes().endswith(b"\n")
    assert (FILES / "utf16-notepad.txt").read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert b"\xe9" in (FILES / "cp1252-comments.txt").read_bytes()


def test_freeze_dump_is_big_and_not_the_constraints_file() -> None:
    lines = (FILES / "freeze-2.9.2.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 200
    assert all("==" in line and not line.startswith("#") for line in lines)


def test_corpus_messages_never_leak_credentials(corpus_constraints: Constraints) -> None:
    for name in EXPECTED:
        report = check_requirements(parse_requirements(FILES / name), TARGET, corpus_constraints)
        text = repr(report) + str(report.to_dict())
        for secret in ("N3xusPassw0rd", "glpat-abcdef123456", "deploy:"):
            assert secret not in text, name


_ALPHABET = "=<>!~[];@#\\ -\"'${}:/.*,\t\r\ufeffé0123456789abcxyz"


def _mutate(line: str, rng: random.Random) -> str:
    op = rng.randrange(6)
    pos = rng.randrange(len(line) + 1)
    if op == 0 and line:
        return line[:pos] + line[pos + 1 :]
    if op == 1:
        return line[:pos] + rng.choice(_ALPHABET) + line[pos:]
    if op == 2:
        return line[:pos]
    if op == 3:
        return line + " \\"
    if op == 4:
        return rng.choice(["-r ", "-c ", "-e ", "--index-url ", "-f ", "--hash="]) + line
    return line[pos:] + line[:pos]


def _corpus_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(FILES.rglob("*.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines.extend(line for line in text.splitlines() if line.strip())
    return lines


def test_mutated_lines_never_raise(tmp_path: Path, corpus_constraints: Constraints) -> None:
    rng = random.Random(20260929)
    lines = _corpus_lines()
    (tmp_path / "other.txt").write_text("requests\n-r requirements.txt\n")
    for round_ in range(300):
        picked = [_mutate(rng.choice(lines), rng) for _ in range(rng.randrange(1, 8))]
        data = "\n".join(picked)
        if rng.random() < 0.3:
            data = data.replace("\n", "\r\n")
        path = tmp_path / "requirements.txt"
        path.write_bytes(data.encode("utf-8", errors="surrogatepass"))
        parsed = parse_requirements(path)
        for mode in ("bundle", "index"):
            report = check_requirements(parsed, TARGET, corpus_constraints, mode=mode)
            for problem in report.problems:
                assert problem.message and problem.hint, (round_, data, problem)
                if problem.origin is not None:
                    assert problem.origin.line >= 1
        report.to_dict()
        if round_ % 3 == 0:  # the fix of any input never raises and is idempotent
            fixed = plan_fix(path, TARGET, corpus_constraints)
            apply_fix(fixed)
            again = plan_fix(path, TARGET, corpus_constraints)
            assert again.changes == (), (round_, data, fixed.diff(), again.diff())


def test_random_bytes_never_raise(tmp_path: Path, corpus_constraints: Constraints) -> None:
    rng = random.Random(7)
    for _ in range(100):
        path = tmp_path / "requirements.txt"
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(200))))
        check_requirements(parse_requirements(path), TARGET, corpus_constraints)
