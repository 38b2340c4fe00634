"""``pytest --impl path/to/file.py:ClassName``: check an implementation, one test per case.

Registered through the ``pytest11`` entry point of the installed package (under the name
``checker.impl_plugin``, the module's own, so pyproject's ``-p checker.impl_plugin`` finds it
registered already and it never loads twice), so it works in any repository, without this
project's pyproject or conftest. It costs nothing until used: loading it imports only pytest and
the standard library (no NumPy, no reference), and without ``--impl`` it only adds its options.
With ``--impl`` the session's one collector is the package's implementation tests
(:mod:`checker.pytest_cases`: one per architecture × cost, ids such as
``network.py:Network-5-5-5-5_sigmoid_quadratic_m4_s0``), whatever else lies around: nothing of
the repository's own tests is collected or imported. The limits are ``python -m checker``'s, under
an ``--impl-`` name (:data:`checker.usage.OPTIONS`, parsed by the same types: an invalid one is
pytest's usage error, exit 4); the isolation level is in the header and in every verdict record,
and ``--require-isolation`` without the kernel's isolation is a usage error too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from checker.cost_classes import COST_CLASSES
from checker.isolation import NAMESPACES, level
from checker.usage import OPTIONS, limits

MARK = "impl"
GROUP = "backprop cross-validation"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP)
    group.addoption(
        "--impl",
        action="append",
        default=None,
        metavar="FILE.py:CLASS",
        help="check this network.py/network2.py-style class equation by equation (repeatable); "
        "runs only the implementation tests",
    )
    group.addoption(
        "--impl-cost",
        action="append",
        default=None,
        choices=sorted(COST_CLASSES),
        help="with --impl: check with this cost (repeatable) instead of those the class offers "
        "(python -m checker's --cost)",
    )
    for option in OPTIONS:  # --impl-timeout, --impl-total-timeout, --impl-memory, --impl-isolation
        kwargs = option.kwargs | {
            "help": f"{option.kwargs['help']} (python -m checker's {option.cli})"
        }
        group.addoption(option.pytest, **kwargs)
    group.addoption(
        "--require-isolation",
        action="store_true",
        help="with --impl: a usage error (exit 4) unless the kernel's isolation (bubblewrap's "
        "namespaces) is available (python -m checker's --require-isolation)",
    )
    from suite.options import add_case_options

    add_case_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARK}: one case of an implementation under test (pytest --impl FILE.py:CLASS)"
    )
    if not config.getoption("--impl"):
        return
    from suite.options import check_case_options

    check_case_options(config)
    isolated = level(config.getoption("--impl-isolation"))
    if isolated.name != NAMESPACES:
        if config.getoption("--require-isolation"):
            raise pytest.UsageError(isolated.line())
        sys.stderr.write(isolated.line() + "\n")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """With --impl: the isolation level (and why) and the limits each implementation runs under."""
    if not config.getoption("--impl"):
        return []
    given = limits(lambda option: config.getoption(option.pytest))
    return [
        f"checker {level(given.isolation).line()}",
        f"checker limits: {given.call_s:g} s per call, {given.total_s:g} s per implementation, "
        f"{given.memory_mb} MiB of address space",
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport | None:
    """With --impl, the session's one child is the module :mod:`checker.pytest_cases` (the
    arguments and the files around are not collected). Each implementation is loaded here, so a
    configuration its worker cannot start under (``--impl-memory 1``) is a usage error."""
    if not isinstance(collector, pytest.Session) or not collector.config.getoption("--impl"):
        return None
    from checker import pytest_cases

    pytest_cases.open_all(collector.config)
    path = Path(pytest_cases.__file__)
    # the same test ids wherever the package lies (a site-packages outside the rootdir included)
    nodeid = f"{path.parent.name}/{path.name}"
    module = pytest.Module.from_parent(collector, path=path, nodeid=nodeid)
    return pytest.CollectReport(collector.nodeid, "passed", None, [module])
