"""Fixtures of the build tests (their code lives in buildkit.py, importable by the tests)."""

from buildkit import fake_index, happy_build, make_project, shared_cache  # noqa: F401
