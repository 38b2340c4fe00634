"""The gate's pytest plugin: its options, the results file, and the comparison count.

Loaded with ``-p harness.pytest_plugin`` (pyproject's addopts), so the options exist however
pytest is started. Tests attach result records to their reports; :class:`Recorder` gathers them
on the controller (pytest-xdist carries ``user_properties`` there) and writes them once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

from harness import results, strategies
from harness.architectures import CURATED, random_architectures
from harness.summary import summary_table
from oracles import ORACLES
from reference import Architecture

GATE_MARK = "gate"
DTYPES = {"float64": np.float64, "float32": np.float32}
LONG_TRAINING_MARK = "long_training"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backprop cross-validation")
    group.addoption(
        "--random-count",
        type=int,
        default=60,
        help="how many seeded random architectures the gate adds (default 60)",
    )
    group.addoption(
        "--random-seed", type=int, default=0, help="seed of the random architectures (default 0)"
    )
    group.addoption(
        "--oracle",
        action="append",
        default=None,
        help=f"run only this oracle (repeatable; default: all of {sorted(ORACLES)})",
    )
    group.addoption(
        "--dtype",
        choices=sorted(DTYPES),
        default="float64",
        help="the reference's floating type; oracles always run in float64 (default float64)",
    )
    group.addoption(
        "--results",
        default=None,
        metavar="PATH",
        help="write every comparison the gate makes to this JSON file",
    )
    group.addoption(
        "--require-browser",
        action="store_true",
        help="fail, not skip, tests marked browser when Chromium or Playwright is missing",
    )
    group.addoption(
        "--long-training",
        action="store_true",
        help="also run the long training runs (tests marked long_training; nox -s training)",
    )


def pytest_configure(config: pytest.Config) -> None:
    count = config.getoption("--random-count")
    if count < 0:
        raise pytest.UsageError(f"--random-count must be >= 0, got {count}")
    unknown = sorted(set(config.getoption("--oracle") or []) - set(ORACLES))
    if unknown:
        raise pytest.UsageError(f"unknown --oracle {unknown}; known: {sorted(ORACLES)}")
    if not config.getoption("hypothesis_profile", None):  # hypothesis loads one that is named
        settings.load_profile(strategies.DEFAULT_PROFILE)
    config.pluginmanager.register(Recorder(config), "crossval-recorder")
    one_thread_each()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with linear bookkeeping (:mod:`harness.scheduling`)."""
    from harness.scheduling import make_scheduler

    return make_scheduler(config, log)


def one_thread_each() -> None:
    """Run NumPy's BLAS, torch and XLA single-threaded in this process (each xdist worker).

    The gate's matrices are tiny, so threads gain nothing; on shared cores, spinning BLAS threads
    made one backprop ~100x slower (``nox -s bench`` runs this way for the same reason).
    """
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # read by torch when it loads
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
    threadpool_limits(limits=1)  # NumPy's BLAS, loaded already


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--long-training"):
        return
    skip = pytest.mark.skip(reason="long training run: pass --long-training (nox -s training)")
    for item in items:
        if LONG_TRAINING_MARK in item.keywords:
            item.add_marker(skip)


def gate_architectures(config: pytest.Config) -> list[Architecture]:
    """The curated registry plus the seeded random architectures the options ask for."""
    return CURATED + random_architectures(
        config.getoption("--random-count"), config.getoption("--random-seed")
    )


def gate_dtype(config: pytest.Config) -> Any:
    """The reference's floating type named by --dtype."""
    return DTYPES[config.getoption("--dtype")]


def gate_oracles(config: pytest.Config) -> list[str]:
    """The oracles named by --oracle, or all registered ones."""
    return config.getoption("--oracle") or list(ORACLES)


def record(item: pytest.Item, rec: dict[str, Any]) -> None:
    """Attach one results record to a test's report."""
    item.user_properties.append((results.PROPERTY, json.dumps(rec)))


class Recorder:
    """Gathers result records from test reports; writes the results file; prints the summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.gate_reports: list[pytest.TestReport] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        if GATE_MARK in report.keywords:
            self.gate_reports.append(report)
        for name, value in report.user_properties:
            if name == results.PROPERTY:
                self.records.append((report.nodeid, json.loads(str(value))))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.getoption("--results")
        if path and not hasattr(self.config, "workerinput"):  # the controller, or a plain run
            env = results.environment(
                self.config.getoption("--random-seed"), self.config.getoption("--random-count")
            )
            results.write(Path(path), self.records, env)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.gate_reports:
            return
        failed = sum(r.failed for r in self.gate_reports)
        skipped = sum(r.skipped for r in self.gate_reports)  # an oracle not applicable to a net
        terminalreporter.write_line(
            f"cross-validation gate: {len(self.gate_reports)} comparisons, "
            f"{sum(r.passed for r in self.gate_reports)} passed, {failed} failed, "
            f"{skipped} not applicable"
        )
        if self.records:
            terminalreporter.write_line(summary_table([rec for _, rec in self.records]))
