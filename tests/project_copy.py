"""A copy of the project for the README's recipes (tests/test_new_activation.py,
tests/test_new_cost.py): its packages and tests copied, the recipe's edits made by anchor, and
Python run in the copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("reference", "errormodel", "oracles", "suite", "harness", "checker", "tests")
#: How a table of records ends: its last record's closing parenthesis, then the dict's brace.
TABLE_END = "    )\n}\n"


def copy_project(root: Path) -> Path:
    """The project's packages, tests and pyproject.toml copied to ``root``."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


def insert(path: Path, anchor: str, text: str) -> None:
    """Put ``text`` before the one occurrence of ``anchor`` in the file."""
    source = path.read_text()
    assert source.count(anchor) == 1, f"{path}: the anchor {anchor!r} is not there once"
    path.write_text(source.replace(anchor, text + anchor))


def append_record(path: Path, record: str) -> None:
    """Add ``record`` as the last entry of the table of records the file ends with."""
    source = path.read_text()
    assert source.endswith(TABLE_END), f"{path} no longer ends with its table of records"
    path.write_text(source[: -len(TABLE_END)] + record + TABLE_END)


def add_curated(root: Path, line: str) -> None:
    """Add ``line`` as CURATED's last lines in the copy's suite/architectures.py."""
    curated = root / "suite/architectures.py"
    source = curated.read_text()
    end = source.index("\n]\n", source.index("CURATED: list[Architecture] = [")) + 1
    curated.write_text(source[:end] + line + source[end:])


def run(root: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the copy, with the copy first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout
    )
