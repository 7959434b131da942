"""`make run` is quiet and informative; `make clean` removes what installing and building made.

The set-up steps of `dxplan serve --setup-log FILE` (what `make run` runs) print one line
each; what they and their subprocesses write (initdb, alembic) goes to FILE, and is shown in
full when a step fails. Run in a child process: the steps redirect file descriptors 1 and 2.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, subprocess, sys
from pathlib import Path
from app.core.steps import Steps
logging.basicConfig(level=logging.INFO)
steps = Steps(Path(sys.argv[1]))
with steps.step("starting PostgreSQL"):
    subprocess.run(["sh", "-c", "echo initdb-noise; echo pg-ctl-noise >&2"], check=True)
    print("python-noise")
    logging.getLogger("alembic").info("alembic-noise")
with steps.step("migrating"):
    print("the details of what went wrong")
    raise RuntimeError("migration 0042 failed")
"""


def test_steps_print_one_line_each_and_the_whole_output_of_a_failure(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "run.log"
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert lines[0].startswith("dxplan: starting PostgreSQL ... done (")
    assert lines[1] == "dxplan: migrating ... failed:"
    assert "the details of what went wrong" in lines
    assert "noise" not in run.stderr  # the successful step's output stays in the log
    assert f"dxplan: (the whole log is in {log})" in lines
    assert "RuntimeError: migration 0042 failed" in run.stderr  # the error itself, in full
    written = log.read_text()
    for noise in ("initdb-noise", "pg-ctl-noise", "python-noise", "alembic-noise"):
        assert noise in written
    assert "==> migrating" in written and "the details of what went wrong" in written


def test_steps_without_a_log_change_nothing(tmp_path: Path) -> None:
    script = (
        "from app.core.steps import Steps\n"
        "with Steps(None).step('migrating'):\n"
        "    print('as always')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "as always\n", "")


def test_make_run_is_quiet_and_clean_removes_what_the_build_made(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        raise AssertionError("make is required (README: the two commands)")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {k: v for k, v in os.environ.items() if k != "DXPLAN_DATA_DIR"}
    dry = subprocess.run(
        ["make", "-n", "run"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    assert dry.returncode == 0, dry.stderr
    assert "pip install -e '.[dev]' >> .data/logs/install.log 2>&1" in dry.stdout
    assert "dxplan serve --setup-log .data/logs/run.log" in dry.stdout
    made = [
        ".venv/bin/python",
        "build/lib/app/main.py",
        "dist/dxplan-0.1.0-py3-none-any.whl",
        "dxplan.egg-info/PKG-INFO",
        ".pytest_cache/README.md",
        ".mypy_cache/x",
        ".ruff_cache/x",
        ".hypothesis/x",
        "app/__pycache__/main.cpython-311.pyc",
        "tests/__pycache__/conftest.cpython-311.pyc",
    ]
    kept = [".data/pg/PG_VERSION", ".data/logs/run.log", "app/main.py"]
    for name in made + kept:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    clean = subprocess.run(
        ["make", "clean"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert clean.returncode == 0, clean.stderr
    assert [
        n for n in made if (tmp_path / n.split("/")[0]).exists() and (tmp_path / n).exists()
    ] == []
    assert not (tmp_path / "app" / "__pycache__").exists()
    assert all((tmp_path / n).exists() for n in kept)
    distclean = subprocess.run(
        ["make", "distclean"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert distclean.returncode == 0, distclean.stderr
    assert not (tmp_path / ".data").exists() and (tmp_path / "app" / "main.py").exists()
