"""Python 2 files: recognize one that fails to load, and convert a temporary copy (``--2to3``).

Much course code (network.py among it) was written for Python 2: a ``print`` statement, ``xrange``,
``cPickle``. Loaded under Python 3 it fails with Python's own SyntaxError or ModuleNotFoundError;
:func:`load_hint` adds what it is and what to do. The file is only read and parsed here (with
``ast`` and fissix's Python 2 grammar), never run. :func:`converted` applies fissix's fixers
(the maintained fork of lib2to3's 2to3, pinned in pyproject.toml) to a temporary copy of the
file and of the ``.py`` files beside it, which it may import.
"""

from __future__ import annotations

import ast
import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from checker.load import split_spec

#: Files larger than this are not parsed (a network.py is a few kB).
MAX_BYTES = 1 << 20
#: At most this many sibling .py files are converted beside the named one.
MAX_SIBLINGS = 50
#: Modules of Python 2's standard library that Python 3 renamed or removed (2to3's fix_imports
#: and fix_urllib say where each went); a ModuleNotFoundError naming one means Python 2 code.
PY2_MODULES = {
    "cPickle": "pickle",
    "cStringIO": "io",
    "StringIO": "io",
    "urllib2": "urllib.request",
    "urlparse": "urllib.parse",
    "Tkinter": "tkinter",
    "ConfigParser": "configparser",
    "Queue": "queue",
    "__builtin__": "builtins",
    "cookielib": "http.cookiejar",
    "httplib": "http.client",
}
_WHERE = re.compile(r"\((?P<file>[^():]+\.py):(?P<line>\d+)\)")
_MISSING = re.compile(r"No module named '(?P<name>[\w.]+)'")


def load_hint(path: Path, message: str) -> str:
    """``"; this looks like Python 2 (…): convert it …"`` for a load failure of Python 2 code (a
    SyntaxError in the file or a sibling it imports, or a Python 2 module not found); else ``""``.
    """
    found = None
    missing = _MISSING.search(message)
    if missing and missing["name"].split(".")[0] in PY2_MODULES:
        name = missing["name"].split(".")[0]
        found = f"{name} is Python 2's {PY2_MODULES[name]}"
    elif "SyntaxError" in message or "TabError" in message:
        where = _WHERE.search(message)
        file = path.parent / where["file"] if where else path
        line = int(where["line"]) if where else 0
        what = python2_construct(file) if file.is_file() else None
        if what is not None:
            construct, at = what
            found = construct + ("" if at == line else f" at line {at}")
            if file.name != path.name:
                found += f" in {file.name}"
    if found is None:
        return ""
    return (
        f"; this looks like Python 2 ({found}): convert it with 2to3 or run "
        f"`python -m checker --2to3 {path}`"
    )


def python2_construct(file: Path) -> tuple[str, int] | None:
    """(what, line) of the first Python 2-only construct in a file that Python 3 cannot parse
    and Python 2's grammar can; None otherwise."""
    source = _source(file)
    if source is None:
        return None
    try:
        ast.parse(source)
    except SyntaxError as exc:
        py3_line = exc.lineno or 0
    else:
        return None
    tree = _parse2(source)
    if tree is None:
        return None
    return _first_construct(tree) or ("Python 2 syntax", py3_line)


def _source(file: Path) -> str | None:
    try:
        if file.stat().st_size > MAX_BYTES:
            return None
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _parse2(source: str) -> Any:
    from fissix import pygram, pytree
    from fissix.pgen2 import driver, parse, tokenize

    grammar = pygram.python_grammar  # Python 2's: print and exec are statements
    try:
        return driver.Driver(grammar, convert=pytree.convert).parse_string(source + "\n")
    except (parse.ParseError, tokenize.TokenError, IndentationError, SyntaxError):
        return None


def _first_construct(tree: Any) -> tuple[str, int] | None:
    from fissix import pygram
    from fissix.pgen2 import token

    syms = pygram.python_symbols
    for node in tree.pre_order():
        kind, line = node.type, node.get_lineno() or 0
        if kind == syms.print_stmt:
            return "print statement", line
        if kind == syms.exec_stmt:
            return "exec statement", line
        if kind == syms.except_clause and any(c.type == token.COMMA for c in node.children):
            return "`except E, name:`", line
        if kind == syms.raise_stmt and any(c.type == token.COMMA for c in node.children):
            return "`raise E, value`", line
        if kind == token.BACKQUOTE:
            return "backquotes", line
        if kind == token.NOTEQUAL and node.value == "<>":
            return "`<>`", line
        if kind == token.NUMBER and re.fullmatch(r"0\d+|\d+[lL]", node.value):
            return f"the number {node.value}", line
    return None


def fissix_version() -> str:
    try:
        return version("fissix")
    except PackageNotFoundError:
        return "?"


@contextlib.contextmanager
def converted(spec: str) -> Iterator[tuple[str, str]]:
    """The spec of a Python 3 copy of the file (and of the .py files beside it), in a temporary
    folder removed afterwards, and a line saying what was done. A file fissix cannot convert is
    copied as it is (the check then says why it does not load)."""
    path, name = split_spec(spec)
    if path.suffix != ".py" or not path.is_file():  # the check says what is wrong with the spec
        yield spec, f"--2to3: nothing converted ({path} is no Python file)"
        return
    with tempfile.TemporaryDirectory(prefix="checker-2to3-") as tmp:
        folder = Path(tmp)
        siblings = sorted(p for p in path.parent.glob("*.py") if p.name != path.name)
        changed = []
        for file in [path, *siblings[:MAX_SIBLINGS]]:
            if not file.is_file():
                continue
            new = _convert(file)
            target = folder / file.name
            if new is None:
                shutil.copyfile(file, target)
            else:
                target.write_text(new, encoding="utf-8")
                changed.append(file.name)
        main = path.name in changed
        others = len(changed) - main
        what = (path.name if main else f"not {path.name} (it needed no change)") + (
            f" and {others} .py file{'s' * (others > 1)} beside it" if others else ""
        )
        note = (
            f"--2to3: converted {what} with fissix {fissix_version()} (2to3's fixers) into a "
            f"temporary copy, and checked that; {path.name} itself is unchanged"
        )
        yield f"{folder / path.name}:{name}", note


def _convert(file: Path) -> str | None:
    """The file's source after 2to3's fixers, or None if it needs none or cannot be parsed."""
    from fissix.pgen2 import parse, tokenize
    from fissix.refactor import RefactoringTool, get_fixers_from_package

    source = _source(file)
    if source is None:
        return None
    tool = RefactoringTool(get_fixers_from_package("fissix.fixes"))
    try:
        tree = tool.refactor_string(source if source.endswith("\n") else source + "\n", file.name)
    except (parse.ParseError, tokenize.TokenError, IndentationError, SyntaxError):
        return None
    new = str(tree)
    return new if new != source else None
