"""Import ``path/to/file.py:ClassName`` from a file, turning every failure into a one-line finding.

Whatever goes wrong — the file is missing, it does not import (Python 2's ``print x`` included),
the class is missing or is not a class, ``backprop`` is missing — the answer is an
:class:`ImplementationError` whose finding names what was expected; nothing else escapes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import sys
import traceback
import warnings
from collections.abc import Collection, Iterator
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


def load_class(spec: str) -> type:
    """The class named by ``spec``, imported from its file, or ImplementationError (LOAD)."""
    path, name = split_spec(spec)
    if path.suffix != ".py":
        fail(f"expected path/to/file.py:ClassName, got {spec!r}")
    if not path.is_file():
        fail(f"no such file {str(path)!r} (expected path/to/file.py:ClassName)")
    module = import_file(path)
    cls = getattr(module, name, None)
    if cls is None:
        classes = sorted(k for k, v in vars(module).items() if isinstance(v, type))
        fail(f"{path.name} has no class {name!r} (classes found: {', '.join(classes) or 'none'})")
    if not isinstance(cls, type):
        fail(f"{path.name}: {name!r} is a {type(cls).__name__}, expected a class")
    if not callable(getattr(cls, "backprop", None)):  # update_mini_batch, total_cost: optional
        fail(f"{name} has no method backprop(x, y) returning (nabla_b, nabla_w)")
    return cls


def import_file(path: Path) -> object:
    """Run ``path`` as a fresh module; its folder is on sys.path meanwhile (for its own imports)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"checked_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        fail(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with on_sys_path(path.parent), quiet():
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        fail(f"{path.name} does not import: {describe(exc, [path])}")
    return module


def describe(exc: BaseException, files: Collection[Path]) -> str:
    """``ValueError: shapes … (network.py:57)``: the exception, and the innermost line of the
    traceback that lies in one of ``files`` (the implementation's own source)."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        return f"{text} ({Path(exc.filename or '?').name}:{exc.lineno})"
    own = {p.resolve() for p in files}
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() in own
    ]
    return f"{text} ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else text


def source_files(cls: type) -> list[Path]:
    """The files that define ``cls`` and the classes it inherits from."""
    files = []
    for c in cls.__mro__:
        with contextlib.suppress(TypeError, OSError):
            files.append(Path(inspect.getfile(c)))
    return files


@contextlib.contextmanager
def on_sys_path(folder: Path) -> Iterator[None]:
    entry = str(folder.resolve())
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run a learner's code with its warnings silenced and NumPy's floating-point errors ignored:
    overflow in ``exp`` is not the answer; non-finite results are, and they are checked after."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def fail(message: str) -> NoReturn:
    raise ImplementationError(Finding("LOAD", message))
