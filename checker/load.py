"""Name an implementation: ``path/to/file.py:ClassName``, checked for form before anything runs.

A spec that names no Python file is a one-line LOAD finding. The file itself is imported only in
the worker process (:mod:`checker.worker`), never here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from checker.verdict import Finding, ImplementationError

#: The class name a spec without ``:ClassName`` means: the book's.
DEFAULT_CLASS = "Network"


def split_spec(spec: str) -> tuple[Path, str]:
    """``"dir/network.py:Network"`` → (path, class name); the class defaults to ``Network``."""
    path, sep, name = spec.rpartition(":")
    if not sep or not name.isidentifier():
        path, name = spec, DEFAULT_CLASS
    return Path(path), name


def check_spec_form(spec: str, path: Path) -> None:
    """ImplementationError (LOAD) unless ``path`` is an existing ``.py`` file."""
    if path.suffix != ".py":
        fail(f"expected path/to/file.py:ClassName, got {spec!r}")
    if not path.is_file():
        fail(f"no such file {str(path)!r} (expected path/to/file.py:ClassName)")


def fail(message: str) -> NoReturn:
    raise ImplementationError(Finding("LOAD", message))
