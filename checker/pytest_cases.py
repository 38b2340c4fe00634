"""An implementation under test, one test per case: ``pytest --impl path/to/file.py:ClassName``.

This module ships with the package, so the tests exist wherever the checker is installed: the
plugin (:mod:`checker.impl_plugin`) collects it when ``--impl`` is given, and this project's
``tests/test_implementation.py`` re-exports it (without ``--impl`` the cases check the project's
own correct implementations: every one must pass, zero false alarms). Each implementation is
loaded once, in a worker process of its own (:mod:`checker.sandbox`) under the ``--impl-…``
limits, shared by its tests and ended when pytest ends. A file that cannot be loaded is one
failing test naming why; a case not run (its implementation's process was ended by an earlier
HANG or crash) is skipped. Each case's verdict is recorded (kind "verdict", with the isolation
level it ran under).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker.adapter import Implementation
from checker.isolation import level
from checker.load import split_spec
from checker.run import cases_for, check_case
from checker.usage import PYTEST_FLAGS, ConfigurationError, Limits, limits
from checker.verdict import ImplementationError
from reference import Architecture
from suite import results
from suite.recording import record

_OPEN = pytest.StashKey[dict[str, Implementation | ImplementationError]]()


def implementations(config: pytest.Config) -> list[str]:
    """The specs named by --impl, or this project's correct implementations."""
    from checker.mutants import CORRECT

    return config.getoption("--impl") or [m.spec for m in CORRECT]


def impl_costs(config: pytest.Config) -> tuple[str, ...] | None:
    """The costs named by --impl-cost, each once, or None (those the class offers)."""
    costs = config.getoption("--impl-cost")
    return tuple(dict.fromkeys(costs)) if costs else None


def impl_limits(config: pytest.Config) -> Limits:
    """The limits the ``--impl-…`` options give (:data:`checker.usage.OPTIONS`)."""
    return limits(lambda option: config.getoption(option.pytest))


def implementation(config: pytest.Config, spec: str) -> Implementation | ImplementationError:
    """``spec`` loaded in its worker once per pytest process and closed when pytest ends, or
    why it does not load (LOAD, HANG, CRASH: kept, not retried). A worker that cannot start as
    configured (``--impl-memory 1``) is a usage error (pytest.UsageError)."""
    opened = config.stash.setdefault(_OPEN, {})
    if spec not in opened:
        try:
            impl = Implementation.open(spec, impl_limits(config))
        except ImplementationError as exc:
            opened[spec] = exc
        except ConfigurationError as exc:
            raise pytest.UsageError(exc.said(PYTEST_FLAGS)) from None
        else:
            opened[spec] = impl
            config.add_cleanup(impl.close)
    return opened[spec]


def open_all(config: pytest.Config) -> None:
    """Load every implementation to check (before collection: a usage error stops the run)."""
    for spec in implementations(config):
        implementation(config, spec)


def isolation(config: pytest.Config) -> dict[str, str]:
    """The isolation level the workers run under, as a verdict record's fields."""
    isolated = level(impl_limits(config).isolation)
    return {"isolation": isolated.name, "isolation_detail": isolated.detail}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One parameter per (implementation, case); a load failure is one parameter naming it."""
    if "impl_case" not in metafunc.fixturenames:
        return
    config = metafunc.config
    params = []
    for spec in implementations(config):
        path, name = split_spec(spec)
        short = f"{path.name}:{name}"
        impl = implementation(config, spec)
        if isinstance(impl, ImplementationError):
            params.append(pytest.param((spec, impl, None), id=f"{short}-load"))
            continue
        count, seed = config.getoption("--random-count"), config.getoption("--random-seed")
        params += [
            pytest.param((spec, impl, arch), id=f"{short}-{arch.id}")
            for arch in cases_for(impl, count, seed, impl_costs(config))
        ]
    metafunc.parametrize("impl_case", params)


@pytest.mark.impl
def test_implementation_agrees_with_reference(
    impl_case: tuple[str, Implementation | ImplementationError, Architecture | None],
    request: pytest.FixtureRequest,
) -> None:
    """Every check of one case (BP1–BP4, SGD, COST): its verdict must be PASS."""
    spec, impl, arch = impl_case
    jail = isolation(request.config)
    if isinstance(impl, ImplementationError):
        rec: dict[str, Any] = {"label": "LOAD", "layer": None, "message": str(impl)}
        record(request.node, results.verdict_record(spec, rec | {"passed": False} | jail))
        pytest.fail(f"FAIL {impl}", pytrace=False)
    assert arch is not None  # a loaded implementation always comes with its case
    verdict = check_case(impl, arch)
    record(request.node, results.verdict_record(spec, verdict.as_dict() | jail, arch))
    if not verdict.ran:
        pytest.skip(verdict.line())
    if not verdict.passed:
        pytest.fail(f"{Path(spec).name}: {verdict.line()}", pytrace=False)
