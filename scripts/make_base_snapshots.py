"""Regenerate src/mwaadeps/data/base/<airflow>.json: MWAA's base install per known version.

Each snapshot is mwaadeps' own resolution of what the MWAA image installs (see
targets.Target.base_requirements) under that version's Apache constraints. mwaadeps uses a
snapshot only when the constraints file it loaded has the same sha256, so a cold build
skips resolving ~190 packages it will not bundle. Run from the repo root:

    python scripts/make_base_snapshots.py   # after scripts/refresh_mwaa_data.py
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mwaadeps.build.base import resolve_base  # noqa: E402
from mwaadeps.build.constraints import load_constraints  # noqa: E402
from mwaadeps.build.shipped import DATA_DIR  # noqa: E402
from mwaadeps.config import load_settings  # noqa: E402
from mwaadeps.targets import known_version  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    out_dir = ROOT / "src" / "mwaadeps" / "data" / "base"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as cache:
        for folder in sorted(DATA_DIR.iterdir()):
            constraints_file = folder / "airflow-constraints.txt"
            if not constraints_file.is_file() or known_version(folder.name) is None:
                continue
            settings = load_settings(
                {"airflow_version": folder.name, "constraints": str(constraints_file),
                 "cache_dir": cache},
                env={},
            )
            target = settings.target
            constraints = load_constraints(settings)
            resolved = resolve_base(settings, constraints)
            snapshot = {
                "airflow_version": target.airflow_version,
                "python_full": target.python_full,
                "constraints_sha256": constraints.sha256,
                "base_requirements": target.base_requirements(),
                "packages": {n: r.version for n, r in sorted(resolved.items())},
            }
            path = out_dir / f"{target.airflow_version}.json"
            path.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
            print(f"{path.relative_to(ROOT)}: {len(resolved)} packages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
