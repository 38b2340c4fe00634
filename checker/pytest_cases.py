"""An implementation under test, one test per case: ``pytest --impl path/to/file.py:ClassName``.

This module ships with the package, so the tests exist wherever the checker is installed: the
plugin (:mod:`checker.pytest_plugin`) collects it when ``--impl`` is given, and this project's
``tests/test_implementation.py`` re-exports it (without ``--impl`` the cases check the project's
own correct implementations: every one must pass, zero false alarms). A file that cannot be
loaded is one failing test naming why; a case not run (its implementation's process was ended by
an earlier HANG or crash) is skipped. Each case's verdict is recorded (kind "verdict").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.adapter import Implementation
from checker.load import split_spec
from checker.pytest_plugin import impl_costs, implementation, implementations
from checker.run import cases_for, check_case
from checker.verdict import ImplementationError
from harness import results
from harness.recording import record
from reference import Architecture


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One parameter per (implementation, case); a load failure is one parameter naming it."""
    if "impl_case" not in metafunc.fixturenames:
        return
    config = metafunc.config
    params = []
    for spec in implementations(config):
        path, name = split_spec(spec)
        short = f"{path.name}:{name}"
        try:
            impl = implementation(config, spec)
        except ImplementationError as exc:
            params.append(pytest.param((spec, exc, None), id=f"{short}-load"))
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
    if isinstance(impl, ImplementationError):
        rec = {"label": "LOAD", "layer": None, "message": str(impl), "passed": False}
        record(request.node, results.verdict_record(spec, rec))
        pytest.fail(f"FAIL {impl}", pytrace=False)
    assert arch is not None  # a loaded implementation always comes with its case
    verdict = check_case(impl, arch)
    record(request.node, results.verdict_record(spec, verdict.as_dict(), arch))
    if not verdict.ran:
        pytest.skip(verdict.line())
    if not verdict.passed:
        pytest.fail(f"{Path(spec).name}: {verdict.line()}", pytrace=False)
