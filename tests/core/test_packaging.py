"""What the production image is made of, checked without a container engine (issue 12).

The Dockerfile installs the wheel of this project (`pip install .`) without extras and copies
alembic.ini and migrations/ (DXPLAN_MIGRATIONS_DIR) from a build context that .dockerignore
narrows. So: the wheel holds every module and data file the app reads, its runtime
dependencies cover every third-party module the app imports and leave out the embedded
PostgreSQL (pgserver, an extra), the app starts without pgserver installed and says what to
do when the embedded server is asked for, and the build context holds what the Dockerfile
copies and nothing of .venv, .data or .git. hadolint (make lint) checks the Dockerfile itself.
"""

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
EMBEDDED = {"pgserver", "psutil"}  # the `embedded` extra, imported lazily by app/core/embedded


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The project's wheel, built offline from a copy of the sources (setuptools in .[dev])."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--no-index", "--quiet", "--wheel-dir", str(work / "out"), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = (work / "out").glob("dxplan-*.whl")
    return zipfile.ZipFile(path)


def _metadata(wheel: zipfile.ZipFile) -> tuple[list[Requirement], str]:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    message = Parser().parsestr(wheel.read(name).decode())
    entry_points = wheel.read(name.replace("METADATA", "entry_points.txt")).decode()
    return [Requirement(r) for r in message.get_all("Requires-Dist") or []], entry_points


def test_wheel_holds_every_module_and_data_file(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "app").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".json")
    }
    assert "app/main.py" in sources and "app/data/plan_2358.json" in sources
    assert sources - names == set()
    _, entry_points = _metadata(wheel)
    assert re.search(r"^dxplan = app\.cli:main$", entry_points, re.M)


def _runtime(requirements: list[Requirement], extras: set[str]) -> list[Requirement]:
    return [
        r
        for r in requirements
        if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in extras | {""})
    ]


def _closure(requirements: list[Requirement]) -> set[str]:
    """Distributions installed by these requirements, their own dependencies included."""
    seen: set[str] = set()
    pending = [(r.name, set(r.extras)) for r in requirements]
    while pending:
        name, extras = pending.pop()
        key = _normal(name) + "[" + ",".join(sorted(extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            below = [Requirement(r) for r in requires(name) or []]
        except PackageNotFoundError:
            continue
        pending += [(r.name, set(r.extras)) for r in _runtime(below, extras)]
    return {k.split("[")[0] for k in seen}


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """Top-level modules imported at module level, and inside functions."""
    tree = ast.parse(path.read_text(), str(path))
    top: set[str] = set()
    lazy: set[str] = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inside = {id(n) for f in functions for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = {node.module.split(".")[0]}
        else:
            continue
        (lazy if id(node) in inside else top).update(names)
    return top, lazy


def test_runtime_dependencies_cover_the_imports_and_leave_out_pgserver(
    wheel: zipfile.ZipFile,
) -> None:
    requirements, _ = _metadata(wheel)
    runtime = _runtime(requirements, set())
    assert not {_normal(r.name) for r in runtime} & EMBEDDED
    embedded = {_normal(r.name) for r in _runtime(requirements, {"embedded"})} - {
        _normal(r.name) for r in runtime
    }
    assert embedded == EMBEDDED
    installed = _closure(runtime)
    providers = packages_distributions()
    missing: dict[str, list[str]] = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        top, lazy = _imports(path)
        where = path.relative_to(ROOT).as_posix()
        for module in sorted(top | lazy):
            if module in sys.stdlib_module_names or module == "app":
                continue
            if module in EMBEDDED:
                # Only the embedded server's module, and only inside its functions.
                assert where == "app/core/embedded.py" and module not in top, (where, module)
                continue
            dists = {_normal(d) for d in providers.get(module, [])}
            if not dists & installed:
                missing.setdefault(module, []).append(where)
    assert missing == {}, f"imported but not a runtime dependency: {missing}"


def test_the_app_runs_without_pgserver_and_says_what_to_install(tmp_path: Path) -> None:
    """pgserver and psutil made unimportable, as in the production image."""
    script = f"""
import os, sys
sys.modules["pgserver"] = None
sys.modules["psutil"] = None
from app.core.config import Settings
from app.main import create_app
create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
from app.core.embedded import EmbeddedUnavailableError, start_embedded
try:
    start_embedded(__import__("pathlib").Path({str(tmp_path)!r}))
except EmbeddedUnavailableError as exc:
    print("ERROR:", exc)
os.environ.pop("DATABASE_URL", None)
os.environ["DXPLAN_DATA_DIR"] = {str(tmp_path)!r}
from app.cli import main
main(["migrate"])
"""
    env = {k: v for k, v in __import__("os").environ.items() if k != "DATABASE_URL"}
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**env, "APP_ENV": "development"},
    )
    assert "ERROR: DATABASE_URL is unset and the embedded PostgreSQL is not installed" in (
        run.stdout
    ), run.stdout + run.stderr
    assert run.returncode == 1
    assert run.stderr.strip().endswith(
        "set DATABASE_URL to a PostgreSQL server, or install the embedded one with "
        "pip install 'dxplan[embedded]' (make run does)"
    ), run.stderr
    assert "Traceback" not in run.stderr


def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Go's filepath.Match with `**` (any folders) reads it."""
    out = ""
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


def _excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its folders wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for negated, pattern in rules:
        if any(pattern.fullmatch(c) for c in candidates):
            verdict = not negated
    return verdict


def test_build_context_holds_what_the_dockerfile_copies_and_nothing_else() -> None:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), _pattern(line.removeprefix("!").rstrip("/"))))
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = [
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]
    assert {"pyproject.toml", "README.md", "app", "alembic.ini", "migrations"} <= set(copied)
    for source in copied:
        files = [ROOT / source] if (ROOT / source).is_file() else (ROOT / source).rglob("*")
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if file.is_file() and "__pycache__" not in relative:
                assert not _excluded(relative, rules), relative
    for kept_out in (
        ".venv/bin/python",
        ".data/pg/postgresql.conf",
        ".git/HEAD",
        "tests/conftest.py",
        ".pytest_cache/README.md",
        "app/__pycache__/main.cpython-311.pyc",
        "dxplan.egg-info/PKG-INFO",
        "build/lib/app/main.py",
    ):
        assert _excluded(kept_out, rules), kept_out
    # The image finds its migrations where the Dockerfile puts them.
    assert "DXPLAN_MIGRATIONS_DIR=/app/migrations" in dockerfile
    assert "WORKDIR /app" in dockerfile and "COPY migrations ./migrations" in dockerfile
    assert (ROOT / "migrations" / "env.py").is_file()
