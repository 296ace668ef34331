"""Resolvers: turn requirements + constraints into pinned artifacts for the target.

Each implementation translates its tool's failures into ResolutionError. uv resolves for
any platform; pip-tools only for the platform it runs on.
"""

from __future__ import annotations

from mwaadeps.build.resolvers.interface import Resolver
from mwaadeps.build.resolvers.pip_tools import PipToolsResolver
from mwaadeps.build.resolvers.uv import UvResolver
from mwaadeps.choices import ResolverName

RESOLVERS: dict[str, type[Resolver]] = {  # keyed by ResolverName (its values)
    ResolverName.UV: UvResolver,
    ResolverName.PIP_TOOLS: PipToolsResolver,
}
