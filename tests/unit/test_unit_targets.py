"""targets: the MWAA version table, did-you-mean, unknown versions, wheel tag acceptance."""

from __future__ import annotations

import pytest
from packaging.tags import parse_tag
from packaging.utils import parse_wheel_filename

from mwaadeps.build.wheels import check_wheel_for_target
from mwaadeps.errors import TargetError, WheelError
from mwaadeps.targets import KNOWN_VERSIONS, resolve_target

TABLE = {
    "3.3.1": ("3.12.13", "cp312", (2, 34), False),
    "3.2.1": ("3.12.13", "cp312", (2, 34), False),
    "3.0.6": ("3.12.10", "cp312", (2, 34), False),
    "2.11.2": ("3.12.10", "cp312", (2, 34), False),
    "2.11.0": ("3.12.10", "cp312", (2, 34), False),
    "2.10.3": ("3.11.9", "cp311", (2, 34), False),
    "2.10.1": ("3.11.9", "cp311", (2, 34), False),
    "2.9.2": ("3.11.9", "cp311", (2, 34), False),
    "2.8.1": ("3.11.7", "cp311", (2, 34), False),
    "2.7.2": ("3.11.6", "cp311", (2, 34), False),
    "2.6.3": ("3.10.13", "cp310", (2, 26), True),
    "2.5.1": ("3.10.13", "cp310", (2, 26), True),
    "2.4.3": ("3.10.13", "cp310", (2, 26), True),
}


def test_table_matches_mwaa() -> None:
    assert {row.airflow for row in KNOWN_VERSIONS} == set(TABLE)
    for version, (python, abi, glibc, deprecated) in TABLE.items():
        target = resolve_target(version)
        assert (target.python_full, target.abi, target.glibc, target.deprecated) == (
            python,
            abi,
            glibc,
            deprecated,
        ), version
        assert target.known
        assert target.uv_platform == f"x86_64-manylinux_{glibc[0]}_{glibc[1]}"
        assert target.constraints_url.endswith(
            f"constraints-{version}/constraints-{python.rsplit('.', 1)[0]}.txt"
        )


def test_base_install_per_major() -> None:
    base2 = resolve_target("2.9.2").base_requirements()
    assert base2[0] == "apache-airflow[celery,statsd]==2.9.2"
    assert "apache-airflow-providers-amazon[aiobotocore]" in base2
    assert not [r for r in base2 if "psycopg2" in r or "pycurl" in r]
    base3 = resolve_target("3.0.6").base_requirements()
    assert {"apache-airflow-providers-fab", "apache-airflow-providers-standard"} <= set(base3)
    assert "apache-airflow-providers-fab" not in base2


def test_typo_gets_did_you_mean() -> None:
    with pytest.raises(TargetError) as info:
        resolve_target("2.9.3")
    assert "2.9.3" in info.value.message
    assert info.value.hint and "Did you mean 2.9.2?" in info.value.hint
    assert "--python-version" in info.value.hint


def test_unknown_version_with_python_version() -> None:
    target = resolve_target("3.4.0", "3.13")
    assert not target.known
    assert (target.python_version, target.python_full, target.abi) == ("3.13", "3.13.0", "cp313")
    assert target.glibc == (2, 34)
    assert resolve_target("3.4.0", "3.12.7").python_full == "3.12.7"


@pytest.mark.parametrize(
    ("airflow", "python", "fragment"),
    [
        (None, None, "No Airflow version"),
        ("two", None, "not a version number"),
        ("3.4.0", "4", "not a valid target Python"),
        ("2.9.2", "3.12", "runs Python 3.11.9"),
    ],
)
def test_target_errors(airflow: str | None, python: str | None, fragment: str) -> None:
    with pytest.raises(TargetError) as info:
        resolve_target(airflow, python)
    assert fragment in info.value.message


def test_known_version_accepts_its_own_python() -> None:
    assert resolve_target("2.9.2", "3.11").python_full == "3.11.9"


def test_platform_tags_respect_the_glibc_ceiling() -> None:
    al2023 = resolve_target("2.9.2").platform_tags
    assert al2023[0] == "manylinux_2_34_x86_64"
    assert "manylinux_2_35_x86_64" not in al2023
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(al2023)
    al2 = resolve_target("2.6.3").platform_tags
    assert al2[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_27_x86_64" not in al2
    assert "manylinux_2_28_x86_64" not in al2
    assert "manylinux2014_x86_64" in al2
    assert all(t.endswith("_x86_64") for t in al2023 + al2)


@pytest.mark.parametrize(
    ("version", "tag", "ok"),
    [
        ("2.9.2", "cp311-cp311-manylinux2014_x86_64", True),
        ("2.9.2", "cp311-cp311-manylinux_2_17_x86_64", True),
        ("2.9.2", "cp311-cp311-manylinux_2_34_x86_64", True),
        ("2.9.2", "cp311-cp311-manylinux_2_35_x86_64", False),
        ("2.9.2", "cp311-cp311-manylinux_2_39_x86_64", False),
        ("2.9.2", "cp311-cp311-macosx_11_0_arm64", False),
        ("2.9.2", "cp311-cp311-macosx_10_9_x86_64", False),
        ("2.9.2", "cp311-cp311-win_amd64", False),
        ("2.9.2", "cp311-cp311-manylinux_2_17_aarch64", False),
        ("2.9.2", "cp311-cp311-musllinux_1_2_x86_64", False),
        ("2.9.2", "cp311-cp311-linux_x86_64", False),
        ("2.9.2", "cp312-cp312-manylinux_2_17_x86_64", False),
        ("2.9.2", "cp310-cp310-manylinux_2_17_x86_64", False),
        ("2.9.2", "cp38-abi3-manylinux_2_17_x86_64", True),
        ("2.9.2", "cp312-abi3-manylinux_2_17_x86_64", False),
        ("2.9.2", "py3-none-any", True),
        ("2.9.2", "py2.py3-none-any", True),
        ("2.9.2", "py3-none-manylinux_2_17_x86_64", True),
        ("2.6.3", "cp310-cp310-manylinux2014_x86_64", True),
        ("2.6.3", "cp310-cp310-manylinux_2_26_x86_64", True),
        ("2.6.3", "cp310-cp310-manylinux_2_28_x86_64", False),
        ("2.6.3", "cp311-cp311-manylinux2014_x86_64", False),
        ("3.0.6", "cp312-cp312-manylinux_2_28_x86_64", True),
        ("3.0.6", "cp311-cp311-manylinux_2_28_x86_64", False),
    ],
)
def test_accepts(version: str, tag: str, ok: bool) -> None:
    assert resolve_target(version).accepts(parse_tag(tag)) is ok


def test_accepts_compressed_tag_sets() -> None:
    name = "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert resolve_target("2.9.2").accepts(parse_wheel_filename(name)[3])
    mac_or_win = parse_tag("cp311-cp311-macosx_11_0_arm64.win_amd64")
    assert not resolve_target("2.9.2").accepts(mac_or_win)


def test_check_wheel_for_target_names_package_and_ceiling() -> None:
    target = resolve_target("2.9.2")
    check_wheel_for_target("x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", target, "x")
    with pytest.raises(WheelError) as info:
        check_wheel_for_target("x-1.0-cp311-cp311-macosx_11_0_arm64.whl", target, "x")
    assert info.value.message.startswith("x: x-1.0-cp311-cp311-macosx_11_0_arm64.whl")
    assert "glibc <= 2.34" in info.value.message
    assert info.value.hint
    with pytest.raises(WheelError, match="not a valid wheel"):
        check_wheel_for_target("nonsense.whl", target)
