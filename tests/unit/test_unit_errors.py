"""errors: the JSON error object, and which OSErrors become a plain message naming the file."""

from __future__ import annotations

import errno
import os

import pytest

from mwaadeps.errors import ConfigError, MwaadepsError, UsageError, from_os_error
from mwaadeps.targets import KNOWN_VERSIONS, check_python_version, mwaa_pythons, resolve_target


def test_to_dict_is_the_json_error_object() -> None:
    assert ConfigError("bad", hint="fix it").to_dict() == {
        "code": "config",
        "message": "bad",
        "hint": "fix it",
    }
    assert MwaadepsError("x").to_dict() == {"code": "error", "message": "x", "hint": None}
    assert (UsageError.code, UsageError.exit_code) == ("usage", 2)


@pytest.mark.parametrize("text", ["3.8", "3.11", " 3.12.1 ", "3.13", "3.20"])
def test_valid_target_pythons(text: str) -> None:
    assert check_python_version(text) == text.strip()


@pytest.mark.parametrize("text", ["3.1", "3.7.9", "2.7", "3", "4.0", "3.x", "", "3.11.1.1"])
def test_invalid_target_pythons_say_which_are_valid(text: str) -> None:
    with pytest.raises(MwaadepsError) as info:
        check_python_version(text)
    assert "3.8 and newer" in info.value.message
    assert ", ".join(mwaa_pythons()) in info.value.message
    assert info.value.hint


def test_mwaa_pythons_come_from_the_version_table() -> None:
    pythons = mwaa_pythons()
    assert {resolve_target(v.airflow).python_version for v in KNOWN_VERSIONS} == set(pythons)
    assert pythons == sorted(pythons, key=lambda v: int(v.split(".")[1]))  # 3.10 after 3.9
    assert len(pythons) == len(set(pythons))


@pytest.mark.parametrize(
    ("code", "fragments"),
    [
        (errno.EACCES, ["Cannot access /x/y.whl", "permission denied", "permissions"]),
        (errno.EPERM, ["Cannot access /x/y.whl", "not permitted"]),
        (errno.ENOSPC, ["Cannot write /x/y.whl", "no space left", "Free some disk space"]),
        (errno.EDQUOT, ["Cannot write /x/y.whl", "quota"]),
        (errno.EROFS, ["Cannot write /x/y.whl", "read-only", "writable file system"]),
    ],
)
def test_os_errors_a_user_can_fix(code: int, fragments: list[str]) -> None:
    err = from_os_error(OSError(code, os.strerror(code), "/x/y.whl"))
    assert err is not None and err.code == "filesystem" and err.hint
    text = f"{err.message} {err.hint}"
    for fragment in fragments:
        assert fragment in text, text


def test_os_error_without_a_file_name_takes_the_given_one() -> None:
    err = from_os_error(OSError(errno.ENOSPC, "No space left on device"), "dist/plugins.zip")
    assert err is not None and err.message.startswith("Cannot write dist/plugins.zip:")
    bare = from_os_error(OSError(errno.ENOSPC, "No space left on device"))
    assert bare is not None and "a file" in bare.message


def test_other_os_errors_stay_internal() -> None:
    """Only what the user can fix is mapped; anything else is a bug report."""
    assert from_os_error(OSError(errno.EBADF, "Bad file descriptor", "/x")) is None
    assert from_os_error(OSError("no errno")) is None
