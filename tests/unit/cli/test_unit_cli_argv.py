"""cli._prescan: --debug and --json count wherever they are (a usage error needs --json early)."""

from __future__ import annotations

import pytest

from mwaadeps.cli.app import _prescan


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["build"], (["build"], False, False)),
        (["build", "--debug"], (["build"], True, False)),
        (["--debug", "build", "--json"], (["build", "--json"], True, True)),
        (["--json", "check", "-a", "2.9.2"], (["check", "-a", "2.9.2", "--json"], False, True)),
        (["--json", "runner", "build"], (["runner", "build", "--json"], False, True)),
        (["check", "--bogus", "--json"], (["check", "--bogus", "--json"], False, True)),
        # After `--`, nothing is an option of ours.
        (
            ["check", "--", "--debug", "--json"],
            (["check", "--", "--debug", "--json"], False, False),
        ),
        (["--version"], (["--version"], False, False)),
    ],
)
def test_prescan(argv: list[str], expected: tuple[list[str], bool, bool]) -> None:
    assert _prescan(argv) == expected
