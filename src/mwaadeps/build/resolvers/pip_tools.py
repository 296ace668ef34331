"""The pip-tools resolver: pip-compile on the host's platform; uv fetches the target's artifacts."""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name

from mwaadeps.build.isolation import clean_env, pip_index_env
from mwaadeps.build.resolvers.interface import Resolved, ResolveJob, Resolver, write_roots
from mwaadeps.build.resolvers.uv import UvResolver, explain_uv_error
from mwaadeps.errors import ResolutionError
from mwaadeps.targets import Target


class PipToolsResolver(Resolver):
    """pip-compile on the host: only valid when the host is the target platform."""

    name = "pip-tools"

    def check_host(self, target: Target) -> None:
        host_py = f"{sys.version_info.major}.{sys.version_info.minor}"
        machine = platform.machine().lower()
        if (
            sys.platform != "linux"
            or machine not in ("x86_64", "amd64")
            or host_py != target.python_version
        ):
            raise ResolutionError(
                f"pip-tools resolves for the machine it runs on (Python {host_py}, "
                f"{sys.platform} {machine}), not for MWAA {target.airflow_version} "
                f"(Python {target.python_version}, Linux x86_64).",
                hint="Use the default resolver (--resolver uv), which resolves for the target, "
                f"or run on Linux x86_64 with Python {target.python_version}.",
            )

    def resolve(self, job: ResolveJob) -> dict[str, Resolved]:
        self.check_host(job.target)
        with tempfile.TemporaryDirectory(prefix="mwaadeps-resolve-") as tmp:
            work = Path(tmp)
            inputs = write_roots(job, work)
            (work / "constraints.txt").write_text(job.constraints_text, encoding="utf-8")
            (work / "essential.txt").write_text(job.essential_text, encoding="utf-8")
            merged = work / "all.in"
            merged.write_text(
                "".join(Path(i).read_text() for i in inputs)
                + f"-c {work / 'constraints.txt'}\n-c {work / 'essential.txt'}\n",
                encoding="utf-8",
            )
            cmd = [
                sys.executable,
                "-m",
                "piptools",
                "compile",
                "--quiet",
                "--no-header",
                "--no-annotate",
                "--strip-extras",
                "--allow-unsafe",
                "--no-emit-index-url",
                "--output-file",
                str(work / "out.txt"),
                str(merged),
            ]
            for link in job.find_links:
                cmd += ["--find-links", link]
            # The index URLs (and their credentials) go in pip's environment, not argv.
            env = clean_env(pip_index_env(job.index_urls))
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                raise ResolutionError(
                    "pip-compile failed:\n" + explain_uv_error(proc.stderr, job.secrets)
                )
            pins = [
                line.strip()
                for line in (work / "out.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#")
            ]
        excluded = {canonicalize_name(e) for e in job.excludes}
        pins = [p for p in pins if canonicalize_name(p.split("==")[0]) not in excluded]
        # The pins are pip-tools' answer; uv, held to them, fetches the target's artifacts.
        fixed = ResolveJob(
            job.target,
            job.roots,
            job.constraints_text + "\n".join(pins) + "\n",
            job.essential_text,
            job.excludes,
            job.index_urls,
            job.find_links,
            job.cache_dir,
            job.secrets,
        )
        return UvResolver().resolve(fixed)
