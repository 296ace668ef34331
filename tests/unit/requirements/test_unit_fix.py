"""`mwaadeps fix`: each rewrite rule, what it keeps, idempotence, and the CLI."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import pytest

from mwaadeps.build.constraints import Constraints, parse_constraints
from mwaadeps.cli.app import main
from mwaadeps.errors import RequirementsError
from mwaadeps.requirements.fix import FixResult, apply_fix, plan_fix
from mwaadeps.targets import resolve_target

MWAA_DATA = Path(__file__).resolve().parents[3] / "src" / "mwaadeps" / "data" / "mwaa"
CONSTRAINTS_292 = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"
TARGET = resolve_target("2.9.2")
URL = "https://raw.githubusercontent.com/apache/airflow/constraints-{}/constraints-{}.txt"


@pytest.fixture(scope="module")
def constraints() -> Constraints:
    if not CONSTRAINTS_292.is_file():
        pytest.skip(f"the real 2.9.2 constraints are absent ({CONSTRAINTS_292})")
    return parse_constraints(CONSTRAINTS_292.read_text(encoding="utf-8"), TARGET, "2.9.2")


def fixed(tmp_path: Path, constraints: Constraints, text: str | bytes,
          name: str = "requirements.txt") -> tuple[FixResult, bytes]:  # fmt: skip
    """Plan and apply the fix of one file; (the plan, the file's bytes after it)."""
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    result = plan_fix(path, TARGET, constraints)
    apply_fix(result)
    return result, path.read_bytes()


def codes(result: FixResult) -> list[str]:
    return [p.code for p in result.remaining]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("pandas==2.2.0\n", "pandas==2.1.4\n"),  # an exact pin moves to the allowed version
        ("pandas>=2.2\n", "pandas\n"),  # a range loses the pin: the constraints choose
        ("Flask==3.0.0\n", "Flask==2.2.5\n"),  # MWAA's essential pin
        ("celery[sqs]>=5.5\n", "celery[sqs]\n"),  # extras stay
        ("pandas==2.2.0  # the analysts want this\n", "pandas==2.1.4  # the analysts want this\n"),
        ("pandas >= 2.2 ; python_version >= '3.9'\n", "pandas ; python_version >= '3.9'\n"),
        ("  pandas===2.2.0\n", "  pandas==2.1.4\n"),
        ("apache-airflow[celery]==2.9.3\nrequests\n", "requests\n"),  # removed: MWAA has it
        ("pkg-resources==0.0.0\nrequests\n", "requests\n"),
        (f"-c {URL.format('2.7.2', '3.8')}\nrequests\n",
         f"-c {URL.format('2.9.2', '3.11')}\nrequests\n"),
        (f'--constraint "{URL.format("2.8.1", "3.11")}"\n',
         f'--constraint "{URL.format("2.9.2", "3.11")}"\n'),
        ("acme @ file:///C:/Users/jo/dist/acme-0.4.0-py3-none-any.whl\n", "acme==0.4.0\n"),
        ("acme_utils @ file:///C:/Users/jo/Downloads/acme_utils-1.2.tar.gz\n", "acme_utils==1.2\n"),
        # conda's pip freeze: a build folder, no version in the name -> the constraints' pin
        ("certifi @ file:///C:/b/abs_35d7n66oz9/croot/certifi_1707229248467/work/certifi\n",
         "certifi==2024.6.2\n"),
        ("mkl-service @ file:///C:/b/abs_c8/croot/mkl-service_1719/work\n", "mkl-service\n"),
        # the wheel's version conflicts with the constraints -> the constraints' version
        ("numpy @ file:///C:/b/work/dist/numpy-2.0.1-cp311-cp311-win_amd64.whl\n",
         "numpy==1.26.4\n"),
        ('acme[s3] @ file:///tmp/acme-1.0-py3-none-any.whl ; python_version >= "3.9"\n',
         'acme[s3]==1.0 ; python_version >= "3.9"\n'),
        ("C:\\Users\\jo\\wheels\\acme_sftp-2.0-py3-none-any.whl\n", "acme-sftp==2.0\n"),
        ("numpy>=2\nC:\\w\\numpy-2.0.1-cp311-none-any.whl\n", "numpy\n"),  # listed already
        # duplicates: one line, at the first position, with the combined specifier
        ("requests>=2.28\nnumpy\nrequests<3\n", "requests<3,>=2.28\nnumpy\n"),
        ("pandas==2.1.4\nnumpy\nPandas==2.1.4\n", "pandas==2.1.4\nnumpy\n"),
        ("pandas>=2.2\npandas==2.2.0\n", "pandas==2.1.4\n"),
        ("boto3[crt]>=1.30\nboto3<2\n", "boto3[crt]<2,>=1.30\n"),
        ("requests\nnumpy\nrequests==2.31.0  # pinned\n", "requests==2.31.0\nnumpy\n"),
    ],
)  # fmt: skip
def test_rules(tmp_path: Path, constraints: Constraints, before: str, after: str) -> None:
    result, data = fixed(tmp_path, constraints, before)
    assert data.decode() == after
    assert result.changed
    assert result.ok, [p.message for p in result.remaining]
    again = plan_fix(tmp_path / "requirements.txt", TARGET, constraints)
    assert not again.changed and again.changes == ()


def test_clean_file_is_left_alone(tmp_path: Path, constraints: Constraints) -> None:
    text = "# ours\napache-airflow-providers-snowflake==5.5.1\npandas\nrequests>=2.28\n"
    result, data = fixed(tmp_path, constraints, text)
    assert not result.changed and result.files == {} and result.diff() == ""
    assert data.decode() == text


def test_crlf_and_bom_stay(tmp_path: Path, constraints: Constraints) -> None:
    raw = codecs.BOM_UTF8 + b"# caf\xc3\xa9\r\npandas==2.2.0\r\nrequests\r\nnumpy>=2"
    _, data = fixed(tmp_path, constraints, raw)
    assert data == codecs.BOM_UTF8 + b"# caf\xc3\xa9\r\npandas==2.1.4\r\nrequests\r\nnumpy"


def test_utf16_file_is_written_back_in_utf16(tmp_path: Path, constraints: Constraints) -> None:
    raw = codecs.BOM_UTF16_LE + "pandas==2.2.0\r\nrequests\r\n".encode("utf-16-le")
    _, data = fixed(tmp_path, constraints, raw)
    assert data == codecs.BOM_UTF16_LE + "pandas==2.1.4\r\nrequests\r\n".encode("utf-16-le")


def test_non_utf8_file_is_not_rewritten_and_reported(
    tmp_path: Path, constraints: Constraints
) -> None:
    raw = b"# r\xe9sum\xe9\npandas==2.2.0\n"
    result, data = fixed(tmp_path, constraints, raw)
    assert data == raw and not result.changed
    assert codes(result) == ["encoding", "constraint-conflict"]
    assert not result.ok


def test_what_fix_cannot_repair_remains(tmp_path: Path, constraints: Constraints) -> None:
    text = (
        "-e git+https://github.com/acme/dq.git#egg=dq\n"
        "acme-utils==1.4.0\n"
        "acme-utils>=2.0\n"  # no version satisfies both and nothing says which: the user's call
        "./libs/dq\n"
        "pandas==2.2.0\n"
    )
    result, data = fixed(tmp_path, constraints, text)
    assert data.decode() == text.replace("pandas==2.2.0", "pandas==2.1.4")
    assert codes(result) == ["editable", "duplicate-conflict", "local-path"]
    assert [p.origin.line for p in result.remaining if p.origin] == [1, 3, 4]


def test_hashed_lines_keep_their_pins(tmp_path: Path, constraints: Constraints) -> None:
    """A new version would not match the hashes: the line stays and the conflict is listed."""
    text = "pandas==2.2.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    result, data = fixed(tmp_path, constraints, text)
    assert data.decode() == text
    assert codes(result) == ["constraint-conflict"]


def test_nested_files_are_fixed_too(tmp_path: Path, constraints: Constraints) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "common.txt").write_text("requests==2.32.3\nnumpy\n")
    result, data = fixed(tmp_path, constraints, "-r base/common.txt\npandas==2.2.0\n")
    assert data.decode() == "-r base/common.txt\npandas==2.1.4\n"
    assert (tmp_path / "base" / "common.txt").read_text() == "requests==2.31.0\nnumpy\n"
    assert sorted(p.name for p in result.files) == ["common.txt", "requirements.txt"]
    assert [(c.file.name, c.line, c.before, c.after) for c in result.changes] == [
        ("requirements.txt", 2, "pandas==2.2.0", "pandas==2.1.4"),
        ("common.txt", 1, "requests==2.32.3", "requests==2.31.0"),
    ]


def test_changes_and_diff(tmp_path: Path, constraints: Constraints) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("apache-airflow==2.8.1\npandas==2.2.0\nrequests\n")
    result = plan_fix(path, TARGET, constraints)
    assert path.read_text() == "apache-airflow==2.8.1\npandas==2.2.0\nrequests\n"  # planned only
    assert [(c.line, c.after) for c in result.changes] == [(1, None), (2, "pandas==2.1.4")]
    assert "2.9.2" in result.changes[0].reason
    assert result.diff() == (
        f"--- {path}\n+++ {path}\n@@ -1,3 +1,2 @@\n"
        "-apache-airflow==2.8.1\n-pandas==2.2.0\n+pandas==2.1.4\n requests\n"
    )


def test_diff_marks_a_missing_final_newline(tmp_path: Path, constraints: Constraints) -> None:
    result, _ = fixed(tmp_path, constraints, "requests\npandas==2.2.0")
    assert result.diff().endswith(
        "-pandas==2.2.0\n\\ No newline at end of file\n"
        "+pandas==2.1.4\n\\ No newline at end of file\n"
    )


def test_apply_refuses_a_file_changed_since_the_plan(
    tmp_path: Path, constraints: Constraints
) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("pandas==2.2.0\n")
    result = plan_fix(path, TARGET, constraints)
    path.write_text("pandas==2.2.0\nnumpy\n")
    with pytest.raises(RequirementsError, match="changed since the fix was planned"):
        apply_fix(result)
    assert path.read_text() == "pandas==2.2.0\nnumpy\n"


def test_apply_keeps_the_file_mode(tmp_path: Path, constraints: Constraints) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("pandas==2.2.0\n")
    os.chmod(path, 0o640)
    apply_fix(plan_fix(path, TARGET, constraints))
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["requirements.txt"]  # no temporary left


def test_apply_rewrites_a_symlinked_file_where_it_lives(
    tmp_path: Path, constraints: Constraints
) -> None:
    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "requirements.txt"
    real.write_text("pandas==2.2.0\n")
    link = tmp_path / "requirements.txt"
    link.symlink_to(real)
    apply_fix(plan_fix(link, TARGET, constraints))
    assert link.is_symlink() and real.read_text() == "pandas==2.1.4\n"


# --- the CLI -----------------------------------------------------------------------------


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([*args, "-a", "2.9.2", "--constraints", str(CONSTRAINTS_292)])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, constraints: Constraints) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MWAADEPS_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("MWAADEPS_CONFIG", "MWAADEPS_CONSTRAINTS", "MWAADEPS_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "requirements.txt"
    path.write_text("# data team\npandas==2.2.0\nrequests\n")
    return path


def test_cli_dry_run_prints_the_diff_and_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(["fix", "-r", str(project), "--dry-run"], capsys)
    assert rc == 0
    assert "-pandas==2.2.0" in out and "+pandas==2.1.4" in out
    assert "Would change 1 line(s) in 1 file(s)." in out
    assert project.read_text() == "# data team\npandas==2.2.0\nrequests\n"


def test_cli_dry_run_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["fix", "-r", str(project), "--dry-run", "--json"], capsys)
    data = json.loads(out)
    assert rc == 0 and data["dry_run"] is True and data["changed"] is True and data["ok"] is True
    assert data["changes"] == [
        {
            "file": str(project),
            "line": 2,
            "before": "pandas==2.2.0",
            "after": "pandas==2.1.4",
            "reason": data["changes"][0]["reason"],
        }
    ]
    assert "+pandas==2.1.4" in data["diff"]
    assert project.read_text() == "# data team\npandas==2.2.0\nrequests\n"


def test_cli_fix_writes_and_exits_0_when_clean(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(["fix", "-r", str(project)], capsys)
    assert rc == 0
    assert project.read_text() == "# data team\npandas==2.1.4\nrequests\n"
    assert out.index("+pandas==2.1.4") < out.index("no errors left")
    rc, out, _ = run(["fix", "-r", str(project)], capsys)
    assert rc == 0 and "Nothing to fix." in out


def test_cli_fix_exits_1_and_lists_what_remains(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_text("pandas==2.2.0\n-e ./libs/dq\n")
    rc, out, _ = run(["fix", "-r", str(project), "--json"], capsys)
    data = json.loads(out)
    assert rc == 1 and data["ok"] is False
    assert [(p["code"], p["line"]) for p in data["remaining"]] == [("editable", 2)]
    assert project.read_text() == "pandas==2.1.4\n-e ./libs/dq\n"


def test_cli_check_fix_fixes_then_checks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project.write_text(f"-c {URL.format('2.7.2', '3.8')}\npandas>=2.2\n")
    rc, out, _ = run(["check", "--fix", "-r", str(project), "--json"], capsys)
    data = json.loads(out)
    assert rc == 0 and data["ok"] is True and data["problems"] == []
    assert len(data["fix"]["changes"]) == 2
    assert project.read_text() == f"-c {URL.format('2.9.2', '3.11')}\npandas\n"
