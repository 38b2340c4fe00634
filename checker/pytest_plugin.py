"""``pytest --impl path/to/file.py:ClassName``: check an implementation, one test per case.

Registered through the ``pytest11`` entry point of the installed package (under the name
``checker.pytest_plugin``, the module's own, so pyproject's ``-p checker.pytest_plugin`` finds it
registered already and it never loads twice), so it works in any repository, without this
project's pyproject or conftest. With ``--impl`` the session runs only the package's
implementation tests (:mod:`checker.pytest_cases`: one per architecture × cost, ids such as
``network.py:Network-5-5-5-5_sigmoid_quadratic_m4_s0``), whatever else lies around. Without it,
nothing changes, and this project's own tests check its correct implementations. Each
implementation is loaded once, in a worker process of its own (:mod:`checker.sandbox`), shared by
its tests and ended when pytest ends; a case not run (after a HANG or a crash ended that process)
is skipped, not failed.
"""

from __future__ import annotations

import sys

import pytest

from checker.adapter import Implementation
from checker.isolation import NAMESPACES, level
from checker.sandbox import Limits
from harness.options import add_case_options, check_case_options
from reference.costs import COSTS

MARK = "impl"
_OPEN = pytest.StashKey[dict[str, Implementation]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("backprop cross-validation").addoption(
        "--impl",
        action="append",
        default=None,
        metavar="FILE.py:CLASS",
        help="check this network.py/network2.py-style class equation by equation (repeatable); "
        "runs only the implementation tests",
    )
    parser.getgroup("backprop cross-validation").addoption(
        "--impl-cost",
        action="append",
        default=None,
        choices=sorted(COSTS),
        help="with --impl: check with this cost (repeatable) instead of those the class offers "
        "(python -m checker's --cost)",
    )
    parser.getgroup("backprop cross-validation").addoption(
        "--require-isolation",
        action="store_true",
        help="with --impl: exit 2 unless the kernel's isolation (bubblewrap's namespaces) is "
        "available (python -m checker's --require-isolation)",
    )
    add_case_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARK}: one case of an implementation under test (pytest --impl FILE.py:CLASS)"
    )
    if not config.getoption("--impl"):
        return
    check_case_options(config)
    isolated = level()
    if isolated.name != NAMESPACES:
        sys.stderr.write(isolated.line() + "\n")
        if config.getoption("--require-isolation"):
            pytest.exit(isolated.line(), returncode=2)
    # Collect the package's own implementation tests, wherever pytest was started.
    from checker import pytest_cases

    config.args = [str(pytest_cases.__file__)]


def implementations(config: pytest.Config) -> list[str]:
    """The specs named by --impl, or this project's correct implementations."""
    from checker.mutants import CORRECT

    return config.getoption("--impl") or [m.spec for m in CORRECT]


def impl_costs(config: pytest.Config) -> tuple[str, ...] | None:
    """The costs named by --impl-cost, each once, or None (those the class offers)."""
    costs = config.getoption("--impl-cost")
    return tuple(dict.fromkeys(costs)) if costs else None


def implementation(config: pytest.Config, spec: str) -> Implementation:
    """``spec`` loaded in its worker, once per pytest process (ImplementationError: LOAD)."""
    opened = config.stash.setdefault(_OPEN, {})
    if spec not in opened:
        opened[spec] = Implementation.open(spec, Limits())
    return opened[spec]


def pytest_unconfigure(config: pytest.Config) -> None:
    for impl in config.stash.get(_OPEN, {}).values():
        impl.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --impl, only the implementation tests run (anything else given is deselected)."""
    if not config.getoption("--impl"):
        return
    keep = [item for item in items if item.get_closest_marker(MARK)]
    dropped = [item for item in items if not item.get_closest_marker(MARK)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
