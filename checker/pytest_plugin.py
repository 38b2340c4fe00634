"""``pytest --impl path/to/file.py:ClassName``: check an implementation, one test per case.

Loaded with ``-p checker.pytest_plugin`` (pyproject's addopts). With ``--impl`` only the tests
marked ``impl`` run (tests/test_implementation.py: one per architecture × cost, ids such as
``network.py:Network-5-5-5-5_sigmoid_quadratic_m4_s0``); the rest are deselected. Without it,
those tests check this project's own correct implementations. Each implementation is loaded
once, in a worker process of its own (:mod:`checker.sandbox`), shared by its tests and ended when
pytest ends; a case not run (after a HANG or a crash ended that process) is skipped, not failed.
"""

from __future__ import annotations

import pytest

from checker.adapter import Implementation
from checker.mutants import CORRECT
from checker.sandbox import Limits

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


def implementations(config: pytest.Config) -> list[str]:
    """The specs named by --impl, or this project's correct implementations."""
    return config.getoption("--impl") or [m.spec for m in CORRECT]


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
    if not config.getoption("--impl"):
        return
    keep = [item for item in items if item.get_closest_marker(MARK)]
    dropped = [item for item in items if not item.get_closest_marker(MARK)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
