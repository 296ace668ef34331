"""The "compiles on MWAA" rule's pure parts: build logs, MWAA's library table, ELF reading."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mwaadeps.build.sdist import elf_needed, foreign_libraries, library_for, missing_from_log

GCC_LOG = """\
building 'x._ext' extension
src/ext.c:2:10: fatal error: gdal.h: No such file or directory
    2 | #include <gdal.h>
/usr/bin/ld: cannot find -lgeos_c: No such file or directory
Package libxml-2.0 was not found in the pkg-config search path.
No package 'mariadb' found
/bin/sh: 1: mysql_config: not found
"""


def test_missing_from_log_finds_every_kind() -> None:
    assert missing_from_log(GCC_LOG) == [
        ("header", "gdal.h"),
        ("link", "geos_c"),
        ("pkg_config", "libxml-2.0"),
        ("pkg_config", "mariadb"),
        ("scripts", "mysql_config"),
    ]


@pytest.mark.parametrize(
    ("kind", "name", "library"),
    [
        ("header", "mariadb/mysql.h", "MariaDB client (mysqlclient)"),
        ("header", "mysql.h", "MariaDB client (mysqlclient)"),
        ("pkg_config", "mysqlclient", "MariaDB client (mysqlclient)"),
        ("scripts", "mysql_config", "MariaDB client (mysqlclient)"),
        ("link", "pq", "PostgreSQL client (libpq)"),
        ("header", "libpq-fe.h", "PostgreSQL client (libpq)"),
        ("header", "curl/curl.h", "libcurl"),
        ("scripts", "curl-config", "libcurl"),
        ("header", "Python.h", "Python headers"),
        ("header", "openssl/ssl.h", "OpenSSL"),
        ("soname", "libmariadb.so.3", "MariaDB client (mysqlclient)"),
        ("header", "gdal.h", None),
        ("link", "geos_c", None),
        ("pkg_config", "libxml-2.0", None),
        ("soname", "libgdal.so.32", None),
    ],
)
def test_library_for_maps_to_mwaas_table(kind: str, name: str, library: str | None) -> None:
    found = library_for(kind, name)
    assert (found.name if found else None) == library


def _an_extension() -> Path:
    """A compiled extension module of this interpreter (an ELF file on Linux)."""
    import _ctypes  # a C extension in every CPython build with ctypes

    path = Path(_ctypes.__file__)
    if path.suffix != ".so":
        pytest.skip("this interpreter has no shared-object extensions")
    return path


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs binutils' readelf")
def test_elf_needed_reads_dt_needed_as_readelf_does() -> None:
    ext = _an_extension()
    out = subprocess.run(["readelf", "-d", str(ext)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    expected = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    assert elf_needed(ext.read_bytes()) == expected


def test_elf_needed_rejects_what_is_not_elf() -> None:
    assert elf_needed(b"PK\x03\x04 not an elf") is None
    assert elf_needed(b"\x7fELF\x01\x01") is None  # 32-bit


@pytest.mark.skipif(sys.platform != "linux", reason="ELF files are Linux's")
def test_foreign_libraries_of_a_wheel(tmp_path: Path) -> None:
    ext = _an_extension()
    wheel = tmp_path / "x-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("x/_ctypes" + str(sysconfig.get_config_var("EXT_SUFFIX")), ext.read_bytes())
    assert elf_needed(ext.read_bytes())  # it links something (libffi, glibc)
    # ... all of which MWAA's image has.
    assert foreign_libraries(wheel) == []
