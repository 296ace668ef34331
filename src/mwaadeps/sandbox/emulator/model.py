"""A pure-Python model of Airflow's dag processor and of a DAG run (no Airflow needed).

Parsing: each ``.py`` file under the dags folder that mentions both "airflow" and "dag"
(Airflow's safe mode) is compiled (a SyntaxError is an import error) and its top-level
imports are checked against what the environment can import: the standard library,
Airflow and the providers installed, the import names of MWAA's preinstalled packages,
the requirements.txt packages, the wheels and modules in plugins.zip, and the dags folder.
DAG ids come from the syntax tree: ``DAG("id")``, ``DAG(dag_id="id")``, ``with DAG(...)``,
and ``@dag`` functions called at module level. Running: a parsed DAG succeeds; the
discovery DAG (first line ``# mwaadeps: discovery-dag v1``) sets its Variable to the
model's installed set.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import sys
import traceback
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mwaadeps.sandbox.emulator.webserver import (
    DAGS_FOLDER,
    DagInfo,
    ImportErrorInfo,
    Installed,
    ParseResult,
    RunResult,
)

DISCOVERY_MARKER = "# mwaadeps: discovery-dag v1"
DISCOVERY_VARIABLE = "mwaadeps_discover"
_PROVIDERS = "apache-airflow-providers-"
_PIN_RE = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^]]*\])?\s*==\s*([^\s;#]+)")
_WHEEL_RE = re.compile(r"([^-/]+)-([^-/]+)(?:-[^-/]+)?-[^-/]+-[^-/]+-[^-/]+\.whl$")
# distributions whose import name is not their name (canonical name -> import names)
_IMPORT_NAMES = {
    "attrs": ("attr", "attrs"),
    "beautifulsoup4": ("bs4",),
    "dnspython": ("dns",),
    "google-re2": ("re2",),
    "opencv-python": ("cv2",),
    "opencv-python-headless": ("cv2",),
    "pillow": ("pil",),
    "protobuf": ("google",),
    "psycopg2-binary": ("psycopg2",),
    "pycryptodome": ("crypto",),
    "pyjwt": ("jwt",),
    "pyopenssl": ("openssl",),
    "python-daemon": ("daemon",),
    "python-dateutil": ("dateutil",),
    "python-slugify": ("slugify",),
    "pyyaml": ("yaml",),
    "scikit-learn": ("sklearn",),
    "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "snowflake-connector-python": ("snowflake",),
    "typing-extensions": ("typing_extensions",),
}


def canonical(name: str) -> str:
    """PEP 503 canonical name: lower-case, runs of -_. as "-"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def import_names(dist: str) -> set[str]:
    """Likely (lower-case) top-level import names of a distribution, by its name."""
    name = canonical(dist)
    out = {name.replace("-", "_"), name.split("-")[0]}
    out.update(_IMPORT_NAMES.get(name, ()))
    for prefix in ("python-", "py"):
        if name.startswith(prefix) and len(name) > len(prefix) + 2:
            out.add(name[len(prefix) :].replace("-", "_"))
    return out


@dataclass(frozen=True)
class Environment:
    """What a DAG file can import: distributions (canonical name -> version, "" unknown)
    and top-level module names (lower-case)."""

    dists: Mapping[str, str]
    modules: frozenset[str]

    def missing(self, module: str) -> str | None:
        """The module name Python would report missing for ``import module``, or None."""
        parts = module.split(".")
        if parts[:2] == ["airflow", "providers"] and len(parts) > 2:
            wanted = {_PROVIDERS + "-".join(parts[2 : i + 1]) for i in range(2, len(parts))}
            wanted = {canonical(w) for w in wanted}
            return None if wanted & set(self.dists) else ".".join(parts[:3])
        return None if parts[0].lower() in self.modules else parts[0]


def installed_set(installed: Installed) -> dict[str, str]:
    """The model's installed distributions: MWAA's preinstalled packages for the Airflow
    version, then the requirements.txt pins, then the wheels in plugins.zip."""
    from mwaadeps.build.shipped import shipped

    out: dict[str, str] = {}
    data = shipped(installed.airflow_version, "preinstalled")
    if data is not None:
        out.update(_pins(data.text().splitlines()))
    out.update(_requirements(installed.bundle / "requirements.txt"))
    for name, version, _ in _plugin_wheels(installed.bundle / "plugins.zip"):
        out[name] = version
    return out


def environment(installed: Installed, dags_dir: Path) -> Environment:
    """What DAG files under ``dags_dir`` can import in ``installed``."""
    dists = installed_set(installed)
    modules = {m.lower() for m in sys.stdlib_module_names} | {"airflow"}
    for dist in dists:
        modules |= import_names(dist)
    plugins = installed.bundle / "plugins.zip"
    for _, _, tops in _plugin_wheels(plugins):
        modules |= tops
    modules |= _zip_modules(plugins)
    if dags_dir.is_dir():
        modules |= {
            (p.stem if p.suffix == ".py" else p.name).lower()
            for p in dags_dir.iterdir()
            if p.is_dir() or p.suffix == ".py"
        }
    return Environment(dists, frozenset(modules))


def _pins(lines: Iterable[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        match = re.match(
            r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^]]*\])?\s*==\s*([^\s;#]+)", line
        )
        if match:
            out[canonical(match.group(1))] = match.group(2)
    return out


def _requirements(path: Path) -> dict[str, str]:
    """Every requirement of requirements.txt: its pinned version, or "" if not pinned."""
    if not path.is_file():
        return {}
    from mwaadeps.errors import MwaadepsError
    from mwaadeps.requirements.parser import parse_requirements

    try:
        parsed = parse_requirements(path)
    except MwaadepsError:
        return {}
    out = {}
    for item in parsed.requirements:
        pins = [s.version for s in item.requirement.specifier if s.operator in ("==", "===")]
        out[canonical(item.requirement.name)] = pins[0] if pins else ""
    return out


def _plugin_wheels(path: Path) -> list[tuple[str, str, set[str]]]:
    """(canonical name, version, import names) of the wheels in plugins.zip."""
    if not path.is_file():
        return []
    out = []
    try:
        with zipfile.ZipFile(path) as outer:
            for member in outer.namelist():
                match = _WHEEL_RE.search(member)
                if match:
                    name, version = canonical(match.group(1)), match.group(2)
                    tops = import_names(name) | _wheel_tops(outer.read(member))
                    out.append((name, version, tops))
    except (OSError, zipfile.BadZipFile):
        return []
    return out


def _wheel_tops(data: bytes) -> set[str]:
    """Top-level import names of a wheel: top_level.txt, else the RECORD's paths."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            names = wheel.namelist()
            top = [n for n in names if n.endswith(".dist-info/top_level.txt")]
            if top:
                text = wheel.read(top[0]).decode("utf-8", "replace")
                return {t.strip().lower() for t in text.splitlines() if t.strip()}
    except (OSError, zipfile.BadZipFile):
        return set()
    tops = set()
    for name in names:
        first = name.split("/", 1)[0]
        if not first.endswith((".dist-info", ".data")):
            tops.add(first.removesuffix(".py").lower())
    return tops


def _zip_modules(path: Path) -> set[str]:
    """Top-level modules and packages in plugins.zip (on sys.path in MWAA)."""
    if not path.is_file():
        return set()
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return set()
    out = set()
    for name in names:
        first, sep, _ = name.partition("/")
        if sep or first.endswith(".py"):
            out.add(first.removesuffix(".py").lower())
    return out


# -- one DAG file ----------------------------------------------------------------------------


def might_contain_dag(source: bytes) -> bool:
    """Airflow's safe mode: only files mentioning both "airflow" and "dag" are parsed."""
    lower = source.lower()
    return b"airflow" in lower and b"dag" in lower


_Frame = tuple[str, int, str, str | None]
_IMPORTLIB: _Frame = ("<frozen importlib._bootstrap>", 488, "_call_with_frames_removed", None)


def _trace(frames: list[_Frame], last: str) -> str:
    lines = ["Traceback (most recent call last):"]
    for filename, line, where, code in frames:
        lines.append(f'  File "{filename}", line {line}, in {where}')
        if code:
            lines.append(f"    {code}")
    return "\n".join(lines) + "\n" + last


def check_file(rel: str, source: bytes, env: Environment) -> tuple[list[DagInfo], str | None]:
    """The DAGs of one file, or its import error's stack trace."""
    filename = f"{DAGS_FOLDER}/{rel}"
    text = source.decode("utf-8", "replace")
    try:
        compile(text, filename, "exec", dont_inherit=True)  # what importing it would raise
        tree = ast.parse(text, filename)
    except SyntaxError as exc:
        lines = text.splitlines()
        if exc.text is None and exc.lineno and 0 < exc.lineno <= len(lines):
            exc.text = lines[exc.lineno - 1] + "\n"  # Python reads it from the file
        last = "".join(traceback.format_exception_only(SyntaxError, exc))
        return [], _trace([_IMPORTLIB], last)
    lines = text.splitlines()
    for node, module in _top_imports(tree.body):
        missing = env.missing(module)
        if missing is not None:
            code = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else None
            frames = [_IMPORTLIB, (filename, node.lineno, "<module>", code)]
            return [], _trace(frames, f"ModuleNotFoundError: No module named '{missing}'\n")
    return dags_in(tree, rel), None


def _top_imports(body: list[ast.stmt]) -> Iterable[tuple[ast.stmt, str]]:
    """Imports executed at import time: module level and inside ``with`` blocks (not in
    ``try``/``if``, which may guard them)."""
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module
        elif isinstance(node, ast.With):
            yield from _top_imports(node.body)


def _literal(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _is_named(node: ast.AST, name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id == name) or (
        isinstance(node, ast.Attribute) and node.attr == name
    )


def dags_in(tree: ast.Module, rel: str) -> list[DagInfo]:
    """The DAGs a parsed file defines, in source order (literal ids only)."""
    assigned = {
        t.id: n.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    called = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    found: list[tuple[int, DagInfo]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_named(node.func, "DAG"):
            first = node.args[0] if node.args else None
            dag_id = _literal(first) if first is not None else _kw_literal(node, "dag_id")
            if isinstance(dag_id, str):
                found.append((node.lineno, _info(dag_id, rel, node, assigned)))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in called:
            for deco in node.decorator_list:
                call = deco if isinstance(deco, ast.Call) else None
                if _is_named(call.func if call else deco, "dag"):
                    dag_id = _kw_literal(call, "dag_id") if call else None
                    dag_id = dag_id if isinstance(dag_id, str) else node.name
                    found.append((node.lineno, _info(dag_id, rel, call, assigned)))
    out, seen = [], set()
    for _, info in sorted(found, key=lambda x: x[0]):
        if info.dag_id not in seen:
            seen.add(info.dag_id)
            out.append(info)
    return out


def _kw(call: ast.Call | None, name: str) -> ast.expr | None:
    if call is None:
        return None
    return next((k.value for k in call.keywords if k.arg == name), None)


def _kw_literal(call: ast.Call | None, name: str) -> Any:
    return _literal(_kw(call, name))


def _info(
    dag_id: str, rel: str, call: ast.Call | None, assigned: Mapping[str, ast.expr]
) -> DagInfo:
    tags = _kw_literal(call, "tags")
    tags = tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list | tuple) else ()
    args = _kw(call, "default_args")
    if isinstance(args, ast.Name):
        args = assigned.get(args.id)
    owner = _literal(args).get("owner") if isinstance(_literal(args), dict) else None
    owners = (owner,) if isinstance(owner, str) and owner else ("airflow",)
    return DagInfo(dag_id, rel, tags, owners)


# -- the backend -----------------------------------------------------------------------------


def dag_files(dags_dir: Path) -> list[tuple[str, Path]]:
    """(relative "/" path, path) of the .py files the dag processor looks at: not hidden,
    not matched by an ``.airflowignore`` regexp (of its folder or a parent, matched against
    the path relative to that folder)."""
    if not dags_dir.is_dir():
        return []
    out = []
    rules: dict[Path, list[tuple[Path, re.Pattern[str]]]] = {}
    for folder, subdirs, files in os.walk(dags_dir):
        here = Path(folder)
        inherited = rules.get(here, [])
        mine = list(inherited) + _ignore_rules(here)

        def ignored(path: Path, rules: list[tuple[Path, re.Pattern[str]]] = mine) -> bool:
            return path.name.startswith(".") or any(
                pattern.search(path.relative_to(base).as_posix()) for base, pattern in rules
            )

        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__" and not ignored(here / d))
        for d in subdirs:
            rules[here / d] = mine
        for name in sorted(files):
            path = here / name
            if name.endswith(".py") and not ignored(path):
                out.append((path.relative_to(dags_dir).as_posix(), path))
    return sorted(out)


def _ignore_rules(folder: Path) -> list[tuple[Path, re.Pattern[str]]]:
    path = folder / ".airflowignore"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text("utf-8", "replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                out.append((folder, re.compile(line)))
            except re.error:
                continue  # Airflow skips an invalid pattern too
    return out


class ModelBackend:
    """The pure-Python AirflowBackend. ``drift`` gives the ``installed_drift`` fault:
    packages whose version the discovery DAG reports differently (None: absent)."""

    name = "model"

    def __init__(self, drift: Callable[[], Mapping[str, str | None] | None] | None = None) -> None:
        self.drift = drift

    def parse(self, installed: Installed, dags_dir: Path) -> ParseResult:
        """Check every candidate DAG file; duplicate DAG ids are import errors, as in Airflow."""
        env = environment(installed, dags_dir)
        dags: list[DagInfo] = []
        errors: list[ImportErrorInfo] = []
        owner: dict[str, str] = {}
        for rel, path in dag_files(dags_dir):
            source = path.read_bytes()
            if not might_contain_dag(source):
                continue
            found, trace = check_file(rel, source, env)
            if trace is not None:
                errors.append(ImportErrorInfo(rel, trace))
                continue
            for info in found:
                if info.dag_id in owner:
                    errors.append(ImportErrorInfo(rel, _duplicate(info, owner[info.dag_id])))
                    break
            else:
                for info in found:
                    owner[info.dag_id] = rel
                dags += found
        return ParseResult(tuple(dags), tuple(errors))

    def run(
        self,
        installed: Installed,
        dags_dir: Path,
        dag_id: str,
        conf: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> RunResult:
        """Success for a parsed DAG; the discovery DAG also sets its Variable."""
        result = self.parse(installed, dags_dir)
        info = next((d for d in result.dags if d.dag_id == dag_id), None)
        if info is None:
            return RunResult("failed", {}, (f"model: no DAG {dag_id} in the dags folder",))
        first = (dags_dir / info.fileloc).read_text("utf-8", "replace").split("\n", 1)[0]
        if first.strip() != DISCOVERY_MARKER:
            return RunResult("success", {}, (f"model: {dag_id} ran (no tasks executed)",))
        packages = installed_set(installed)
        for name, version in ((self.drift() if self.drift else None) or {}).items():
            if version is None:
                packages.pop(canonical(name), None)
            else:
                packages[canonical(name)] = version
        value = {
            "format": 1,
            "python": installed.python_version,
            "airflow": installed.airflow_version,
            "packages": dict(sorted((k, v) for k, v in packages.items() if v)),
        }
        key = str(conf.get("variable") or DISCOVERY_VARIABLE)
        return RunResult(
            "success", {key: json.dumps(value, sort_keys=True)}, (f"model: set {key}",)
        )


def _duplicate(info: DagInfo, first: str) -> str:
    return _trace(
        [_IMPORTLIB],
        "airflow.exceptions.AirflowDagDuplicatedIdException: Ignoring DAG "
        f"{info.dag_id} from {DAGS_FOLDER}/{info.fileloc} - also found in {DAGS_FOLDER}/{first}\n",
    )


__all__ = [
    "DISCOVERY_MARKER",
    "DISCOVERY_VARIABLE",
    "Environment",
    "ModelBackend",
    "canonical",
    "check_file",
    "dag_files",
    "dags_in",
    "environment",
    "import_names",
    "installed_set",
    "might_contain_dag",
]
