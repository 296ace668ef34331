"""Refresh the per-version MWAA data shipped inside mwaadeps (src/mwaadeps/data/mwaa/).

For every version of the target table it stores the Apache Airflow constraints, MWAA's
essential pins and the list of packages AWS's image has installed, and writes index.json
with each file's sha256, size and source. Sources are a local folder laid out as
<folder>/<version>/{airflow-constraints.txt,mwaa-essential-constraints.txt,preinstalled.txt}
(--from), or the canonical constraints URL for the constraints (--fetch).

    python scripts/refresh_mwaa_data.py --from ../shared/mwaa
    python scripts/refresh_mwaa_data.py --fetch            # constraints from Apache's URLs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mwaadeps.build.constraints import fetch_text  # noqa: E402
from mwaadeps.build.shipped import DATA_DIR, FILES, INDEX  # noqa: E402
from mwaadeps.targets import KNOWN_VERSIONS, resolve_target  # noqa: E402

ESSENTIAL_SOURCE = "MWAA image code (aws/amazon-mwaa-docker-images), mwaa-essential-constraints.txt"
PREINSTALLED_SOURCE = "bill of materials AWS publishes with the MWAA image code"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--from", dest="source", type=Path, help="folder of <version>/ folders")
    group.add_argument("--fetch", action="store_true", help="constraints from Apache's URLs")
    args = parser.parse_args()
    index: dict[str, dict[str, dict[str, object]]] = {}
    if INDEX.is_file():
        index = json.loads(INDEX.read_text())
    for known in KNOWN_VERSIONS:
        version = known.airflow
        target = resolve_target(version)
        dest = DATA_DIR / version
        entry = index.get(version, {})
        for kind, name in FILES.items():
            if args.fetch:
                if kind != "constraints":
                    continue
                data = fetch_text(target.constraints_url).encode()
            else:
                src = args.source / version / name
                if not src.is_file():
                    continue
                data = src.read_bytes()
            dest.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(data)
            source = {
                "constraints": target.constraints_url,
                "essential": ESSENTIAL_SOURCE,
                "preinstalled": PREINSTALLED_SOURCE,
            }[kind]
            entry[kind] = {
                "file": f"{version}/{name}",
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "source": source,
            }
        if entry:
            index[version] = dict(sorted(entry.items()))
            print(f"{version}: {', '.join(sorted(entry))}")
        else:
            print(f"{version}: no data (left out)")
    INDEX.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    shutil.rmtree(DATA_DIR / "__pycache__", ignore_errors=True)
    raise SystemExit(main())
