"""Resolvers: turn requirements + constraints into pinned artifacts for the target.

Each implementation translates its tool's failures into ResolutionError. uv resolves for
any platform; pip-tools only for the platform it runs on.
"""

from __future__ import annotations

from mwaadeps.build.resolvers.interface import Resolver
from mwaadeps.build.resolvers.pip_tools import PipToolsResolver
from mwaadeps.build.resolvers.uv import UvResolver

RESOLVERS: dict[str, type[Resolver]] = {"uv": UvResolver, "pip-tools": PipToolsResolver}
