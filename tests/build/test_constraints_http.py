"""load_constraints over real HTTP on 127.0.0.1: download, disk cache, clear errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from buildkit import MWAA_DATA
from fakeworld import serve

from mwaadeps.build.constraints import load_constraints, parse_constraints
from mwaadeps.config import load_settings
from mwaadeps.errors import ConstraintsError
from mwaadeps.progress import RecordingReporter
from mwaadeps.targets import resolve_target

REAL_292 = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"
URL_PATH = "constraints-2.9.2/constraints-3.11.txt"


@pytest.fixture
def served_root(tmp_path: Path) -> Path:
    if not REAL_292.is_file():
        pytest.skip(f"the real 2.9.2 constraints are absent ({REAL_292})")
    root = tmp_path / "www"
    (root / "constraints-2.9.2").mkdir(parents=True)
    (root / URL_PATH).write_bytes(REAL_292.read_bytes())
    return root


def _settings(tmp_path: Path, url: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {"airflow_version": "2.9.2", "constraints": url},
        env={"MWAADEPS_CACHE_DIR": str(tmp_path / "cache")},
        cwd=tmp_path,
    )


def test_downloads_then_serves_from_cache_when_offline(served_root: Path, tmp_path: Path) -> None:
    expected = parse_constraints(REAL_292.read_text(), resolve_target("2.9.2"), "x")
    with serve(served_root) as server:
        url = f"{server.url}/{URL_PATH}"
        first = load_constraints(_settings(tmp_path, url))
        assert server.paths == [f"/{URL_PATH}"]
    assert dict(first.pins) == dict(expected.pins)
    assert first.pins["pandas"] == "2.1.4"
    assert first.essential["apache-airflow"] == "2.9.2"
    assert first.source == url
    assert len(list((tmp_path / "cache" / "constraints").glob("*.txt"))) == 1
    # The server is gone: the cached copy answers.
    second = load_constraints(_settings(tmp_path, url))
    assert second.sha256 == first.sha256
    assert dict(second.pins) == dict(first.pins)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{URL_PATH}"
    with pytest.raises(ConstraintsError) as info:
        load_constraints(_settings(tmp_path, url))
    assert "Cannot reach" in info.value.message
    assert url in info.value.message
    assert info.value.hint and "--constraints" in info.value.hint
    assert not (tmp_path / "cache" / "constraints").exists()


def test_missing_file_is_a_clear_404(served_root: Path, tmp_path: Path) -> None:
    with serve(served_root) as server:
        url = f"{server.url}/constraints-9.9.9/constraints-3.11.txt"
        with pytest.raises(ConstraintsError) as info:
            load_constraints(_settings(tmp_path, url))
    assert "HTTP 404" in info.value.message
    assert "constraints-9.9.9" in info.value.message
    assert not (tmp_path / "cache" / "constraints").exists()


def test_credentials_in_the_url_are_redacted_in_errors(served_root: Path, tmp_path: Path) -> None:
    with serve(served_root) as server:
        url = server.url.replace("http://", "http://nexus-user:Pa55-word-77@")
        with pytest.raises(ConstraintsError) as info:
            load_constraints(_settings(tmp_path, f"{url}/nope.txt"))
    assert "Pa55-word-77" not in info.value.message
    assert "****@127.0.0.1" in info.value.message


def test_not_a_constraints_file(served_root: Path, tmp_path: Path) -> None:
    (served_root / "page.html").write_text("<html><body>login</body></html>\n")
    with serve(served_root) as server, pytest.raises(ConstraintsError) as info:
        load_constraints(_settings(tmp_path, f"{server.url}/page.html"))
    assert "not" in info.value.message


def test_a_mirror_that_differs_from_the_shipped_copy_is_reported(
    served_root: Path, tmp_path: Path
) -> None:
    """A mirror of the canonical file (a Nexus raw proxy) is used, and a difference said."""
    from mwaadeps.progress import RecordingReporter

    edited = REAL_292.read_text() + "simplejson==3.19.2\n"
    (served_root / URL_PATH).write_text(edited)
    with serve(served_root) as server:
        url = f"{server.url}/{URL_PATH}"
        reporter = RecordingReporter()
        loaded = load_constraints(_settings(tmp_path, url), reporter)
    assert loaded.pin("simplejson") == "3.19.2"
    assert any("differs from the copy shipped with mwaadeps" in w for w in reporter.warnings)


def test_a_mirror_equal_to_the_shipped_copy_says_nothing(served_root: Path, tmp_path: Path) -> None:
    from mwaadeps.progress import RecordingReporter

    with serve(served_root) as server:
        reporter = RecordingReporter()
        load_constraints(_settings(tmp_path, f"{server.url}/{URL_PATH}"), reporter)
    assert reporter.warnings == []


@pytest.mark.parametrize("damage", ["truncated", "edited", "digest missing"])
def test_a_damaged_cache_entry_is_fetched_again_never_used(
    served_root: Path, tmp_path: Path, damage: str
) -> None:
    with serve(served_root) as server:
        url = f"{server.url}/{URL_PATH}"
        first = load_constraints(_settings(tmp_path, url))
        (cached,) = (tmp_path / "cache" / "constraints").glob("*.txt")
        if damage == "truncated":
            cached.write_bytes(cached.read_bytes()[:100])
        elif damage == "edited":
            cached.write_text(cached.read_text().replace("pandas==2.1.4", "pandas==9.9.9"))
        else:
            cached.with_suffix(".sha256").unlink()
        reporter = RecordingReporter()
        again = load_constraints(_settings(tmp_path, url), reporter)
        assert server.paths == [f"/{URL_PATH}", f"/{URL_PATH}"]
    assert again.sha256 == first.sha256
    assert again.pins["pandas"] == "2.1.4"
    assert any("damaged or unverified" in w for w in reporter.warnings)


def test_a_damaged_cache_entry_offline_is_an_error_not_its_content(
    served_root: Path, tmp_path: Path
) -> None:
    with serve(served_root) as server:
        url = f"{server.url}/{URL_PATH}"
        load_constraints(_settings(tmp_path, url))
    (cached,) = (tmp_path / "cache" / "constraints").glob("*.txt")
    cached.write_text(cached.read_text().replace("pandas==2.1.4", "pandas==9.9.9"))
    with pytest.raises(ConstraintsError) as info:
        load_constraints(_settings(tmp_path, url))
    assert "Cannot reach" in info.value.message
