"""lockfile round-trip; bundle.write_zip reproducibility; redact."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mwaadeps.build import lockfile
from mwaadeps.build.dist import write_zip
from mwaadeps.build.lockfile import Artifact, Lock, LockedPackage
from mwaadeps.errors import BundleError, ConfigError
from mwaadeps.redact import has_credentials, redact_text, redact_url
from mwaadeps.targets import resolve_target


def _lock(packages: tuple[LockedPackage, ...]) -> Lock:
    return Lock(
        target=resolve_target("2.9.2").to_dict(),
        inputs_sha256="ab" * 32,
        constraints_sha256="cd" * 32,
        constraints_source="constraints.txt",
        resolver="uv",
        packages=packages,
        provided_by_image=("psycopg2", "pycurl"),
    )


PACKAGES = (
    LockedPackage("apache-airflow", "2.9.2", "provided",
                  wheel=Artifact("apache_airflow-2.9.2-py3-none-any.whl",
                                 "https://files.example/a.whl", "11" * 32, 123),
                  via=("-r base",)),
    LockedPackage("dsai-common", "1.2.0", "bundle",
                  wheel=Artifact("dsai_common-1.2.0-py3-none-any.whl", None, "22" * 32, None,
                                 "local:dsai_common-1.2.0-py3-none-any.whl"),
                  top_level=True, via=("-r user",)),
    LockedPackage("puresdist", "1.0", "bundle",
                  sdist=Artifact("puresdist-1.0.tar.gz", "https://files.example/p.tar.gz",
                                 "33" * 32), top_level=True),
    LockedPackage("boto3-stubs", "1.34.0", "fallback", wheel=Artifact(
        'odd"name-1.0-py3-none-any.whl', "https://files.example/b.whl", "44" * 32, 7),
        via=("celery", "stubs-user")),
)  # fmt: skip


def test_lock_round_trip(tmp_path: Path) -> None:
    lock = _lock(PACKAGES)
    path = tmp_path / "mwaadeps.lock"
    lockfile.write(lock, path)
    back = lockfile.read(path)
    assert back.target == lock.target
    assert (back.inputs_sha256, back.constraints_sha256, back.constraints_source,
            back.resolver, back.provided_by_image) == (
        lock.inputs_sha256, lock.constraints_sha256, lock.constraints_source, lock.resolver,
        lock.provided_by_image)  # fmt: skip
    assert sorted(back.packages, key=lambda p: p.name) == sorted(PACKAGES, key=lambda p: p.name)
    assert lockfile.dumps(back) == path.read_text()
    assert back.versions()["apache-airflow"] == "2.9.2"
    assert [p.name for p in back.by_role("bundle")] == ["dsai-common", "puresdist"]


def test_lock_text_is_deterministic() -> None:
    assert lockfile.dumps(_lock(PACKAGES)) == lockfile.dumps(_lock(PACKAGES[::-1]))
    text = lockfile.dumps(_lock(PACKAGES))
    assert text.startswith("# mwaadeps.lock")
    assert "# Target: MWAA Airflow 2.9.2, Python 3.11, manylinux_2_34_x86_64" in text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not [toml", "not a readable mwaadeps lock"),
        ("lock-version = 99\n", "another mwaadeps lock format"),
        ("lock-version = 1\n", "missing"),
    ],
)
def test_bad_lock_is_a_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "mwaadeps.lock"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        lockfile.read(path)
    assert fragment in info.value.message
    assert info.value.hint


def test_write_zip_is_reproducible(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "w.whl").write_bytes(b"PK fake wheel")
    entries: list[tuple[str, Path | bytes]] = [
        ("sub/deep/a.py", tmp_path / "a.py"), ("w-1.0-py3-none-any.whl", tmp_path / "w.whl"),
        ("constraints.txt", b"x==1\n"),
    ]  # fmt: skip
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    write_zip(tmp_path / "one" / "p.zip", entries)
    (tmp_path / "a.py").touch()  # a new mtime must not matter
    write_zip(tmp_path / "two" / "p.zip", entries[::-1])
    one = (tmp_path / "one" / "p.zip").read_bytes()
    assert one == (tmp_path / "two" / "p.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one" / "p.zip") as zf:
        assert zf.namelist() == ["constraints.txt", "sub/deep/a.py", "w-1.0-py3-none-any.whl"]
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100755
        assert zf.getinfo("w-1.0-py3-none-any.whl").compress_type == zipfile.ZIP_STORED
        assert zf.read("sub/deep/a.py") == b"A = 1\n"
    assert not list((tmp_path / "one").glob(".plugins-*"))


def test_write_zip_refuses_duplicates(tmp_path: Path) -> None:
    dest = tmp_path / "p.zip"
    with pytest.raises(BundleError) as info:
        write_zip(dest, [("constraints.txt", b"a"), ("x.py", b""), ("constraints.txt", b"b")])
    assert "constraints.txt twice" in info.value.message
    assert info.value.hint
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@nexus.example:8443/simple", "https://****@nexus.example:8443/simple"),
        ("https://token@nexus.example/simple", "https://****@nexus.example/simple"),
        ("https://nexus.example/simple", "https://nexus.example/simple"),
        ("/local/path/constraints.txt", "/local/path/constraints.txt"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_has_credentials() -> None:
    assert has_credentials("https://u:p@host/simple")
    assert has_credentials("--index-url https://tok@host/simple")
    assert not has_credentials("https://${USER}:${PASS}@host/simple")
    assert not has_credentials("https://$USER:$PASS@host/simple")
    assert not has_credentials("https://host/simple")


def test_redact_text() -> None:
    text = "failed: https://bob:hunter2xyz@host/simple and the token hunter2xyz again"
    out = redact_text(text, ("hunter2xyz",))
    assert "hunter2xyz" not in out
    assert "bob" not in out
    assert "https://****@host/simple" in out
    assert redact_text("ab and xy", ("ab",)) == "ab and xy"  # too short to mask safely
