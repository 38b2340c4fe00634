"""The gate's pytest plugin: its options, the results file, and the comparison count.

Loaded with ``-p harness.pytest_plugin`` (pyproject's addopts), so the options exist however
pytest is started. Tests hand result records to :class:`Recorder` (harness.recording), which writes
them once, also when the gate is one shard of a run split over machines (pytest-split).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pytest
from hypothesis import settings

from harness import results, strategies
from harness.architectures import CURATED, TAILS, TRUTH_SAMPLE, random_architectures
from harness.options import GROUP, add_case_options, check_case_options
from harness.recording import PROPERTY, RECORDER
from harness.records import read_records
from harness.report_batching import install_in_controller, install_in_worker
from harness.summary import summary_table
from oracles import ORACLES
from reference import Architecture

GATE_MARK = "gate"
#: xdist worker input naming the spool folder; worker output with its collection counts, and
#: with how many batches of messages it sent (harness.report_batching).
SPOOL, COUNTS, BATCHES = "crossval_spool", "crossval_counts", "crossval_batches"
#: How many tests the run collected before a shard was picked from them (pytest-split).
COLLECTED = pytest.StashKey[int]()
DTYPES = {"float64": np.float64, "float32": np.float32}
LONG_TRAINING_MARK = "long_training"
INSTALL_MARK = "install"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_case_options(parser)
    group = parser.getgroup(GROUP)
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
        "--wheel",
        action="store_true",
        help="also build the wheel and test it in a fresh venv (tests marked install; "
        "needs the package index; nox -s wheel)",
    )
    group.addoption(
        "--long-training",
        action="store_true",
        help="also run the long training runs (tests marked long_training; nox -s training)",
    )


def pytest_configure(config: pytest.Config) -> None:
    check_case_options(config)
    unknown = sorted(set(config.getoption("--oracle") or []) - set(ORACLES))
    if unknown:
        raise pytest.UsageError(f"unknown --oracle {unknown}; known: {sorted(ORACLES)}")
    if not config.getoption("hypothesis_profile", None):  # hypothesis loads one that is named
        settings.load_profile(strategies.DEFAULT_PROFILE)
    config.pluginmanager.register(Recorder(config), RECORDER)
    one_thread_each()


#: Cores below which ``-n auto`` runs in one process. Measured on 2 idle cores, with the gate's
#: groups whole on one worker (harness.scheduling) and reports sent in batches
#: (harness.report_batching): 300 random architectures (16,845 tests) took 34 s with ``-n 2``
#: against 41 s in one process; the default gate 16 s either way; the whole suite 155 s with
#: ``-n 2`` (248 s in one process, the same venv). The controller costs about 0.5 ms of CPU a test.
PARALLEL_CORES = 2


def auto_workers() -> int:
    """What ``-n auto`` means on this machine: one worker per core from PARALLEL_CORES cores up,
    else no workers (one process)."""
    cores = os.cpu_count() or 1
    return cores if cores >= PARALLEL_CORES else 0


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before xdist's own (a firstresult hook)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: :func:`auto_workers`."""
    return auto_workers()


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


@pytest.hookimpl(trylast=True)  # after -k/-m deselect, before pytest-split picks its shard
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[COLLECTED] = len(items)  # the whole run a shard is a part of
    opt_in = {  # mark: (the option that runs its tests, why they are skipped without it)
        LONG_TRAINING_MARK: (
            "--long-training",
            "long training run: pass --long-training (nox -s training)",
        ),
        INSTALL_MARK: ("--wheel", "builds and installs the wheel: pass --wheel (nox -s wheel)"),
    }
    for mark, (option, reason) in opt_in.items():
        if not config.getoption(option):
            skip = pytest.mark.skip(reason=reason)
            for item in items:
                if mark in item.keywords:
                    item.add_marker(skip)


def gate_architectures(config: pytest.Config) -> list[Architecture]:
    """The curated registry, the tails family and the seeded random architectures the options
    ask for."""
    return (
        CURATED
        + TAILS
        + random_architectures(
            config.getoption("--random-count"), config.getoption("--random-seed")
        )
    )


def truth_architectures(config: pytest.Config) -> list[Architecture]:
    """The nets the ground truth judges: the tails family and a fixed small sample of the random
    ones (harness.architectures.TRUTH_SAMPLE)."""
    return TAILS + TRUTH_SAMPLE


def gate_dtype(config: pytest.Config) -> Any:
    """The reference's floating type named by --dtype."""
    return DTYPES[config.getoption("--dtype")]


def gate_oracles(config: pytest.Config) -> list[str]:
    """The oracles named by --oracle, or all registered ones."""
    return config.getoption("--oracle") or list(ORACLES)


class Recorder:
    """Gathers the run's result records; writes the results file; prints the summary.

    A test hands its record to the recorder of its own process (:func:`harness.recording.record`).
    An xdist worker appends each record as one line to its spool file (in a folder the controller
    made and named in the worker's input); the controller reads the spools once, after the workers
    are done, and keeps the records of tests whose call it saw reported. So test reports carry no
    records, and the controller does nothing per record while tests run (issue 14: it competed
    with the workers for the cores).
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.lines: list[tuple[str, str]] = []  # (test id, record as JSON) made in this process
        self.called: set[str] = set()  # tests whose call phase was reported here
        self.gate_count = self.gate_failed = self.gate_passed = self.gate_skipped = 0
        self.gate_known = 0  # strict xfail: a known upstream bug (oracles/known_upstream.toml)
        self.counts: dict[str, int] = {}  # tests collected (before a shard is picked), selected
        self.spool_dir: Path | None = None  # the controller's: where the workers spool
        self.spool: TextIO | None = None  # a worker's own spool file
        self.batcher = install_in_worker(config)  # a worker's messages, batched
        self.batches = 0  # the controller's count of batches its workers sent
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and workerinput.get(SPOOL):
            path = Path(workerinput[SPOOL]) / f"{workerinput['workerid']}.jsonl"
            self.spool = path.open("a", encoding="utf-8", buffering=1)  # a line at a time

    def add(self, nodeid: str, line: str) -> None:
        """One record of test ``nodeid``, as JSON text (:func:`harness.recording.record`)."""
        if self.spool is not None:
            self.spool.write(f"{json.dumps(nodeid)}\t{line}\n")
        else:
            self.lines.append((nodeid, line))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist (controller): name the spool folder in each worker's input."""
        if self.spool_dir is None:
            self.spool_dir = Path(tempfile.mkdtemp(prefix="crossval-spool-"))
        node.workerinput[SPOOL] = str(self.spool_dir)
        if self.config.getvalue("dist") == "loadgroup":  # our scheduler names crashed tests
            install_in_controller(node, str(self.spool_dir))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist (controller): a worker's collection counts (all workers collect alike)."""
        output = getattr(node, "workeroutput", {})
        self.counts = output.get(COUNTS, self.counts)
        self.batches += output.get(BATCHES, 0)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.counts = {
            "collected": self.config.stash.get(COLLECTED, len(session.items)),
            "selected": len(session.items),
        }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or self.spool is not None:
            return
        self.called.add(report.nodeid)
        if GATE_MARK in report.keywords:
            self.gate_count += 1
            self.gate_failed += report.failed
            self.gate_passed += report.passed
            known = hasattr(report, "wasxfail")
            self.gate_known += known
            self.gate_skipped += report.skipped and not known  # an oracle not applicable to a net
        for name, value in report.user_properties:  # left there by a plugin-less recording
            if name == PROPERTY:
                self.lines.append((report.nodeid, str(value)))

    def gather(self) -> None:
        """The records of every test whose call was reported, from this process and the spools."""
        lines = list(self.lines)
        if self.spool_dir is not None:
            for path in sorted(self.spool_dir.glob("*.jsonl")):
                for text in path.read_text(encoding="utf-8").splitlines():
                    nodeid, _, line = text.partition("\t")
                    lines.append((json.loads(nodeid), line))
            shutil.rmtree(self.spool_dir, ignore_errors=True)
            self.spool_dir = None
        self.records = [(n, json.loads(line)) for n, line in lines if n in self.called]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: its records are spooled already
            workeroutput[COUNTS] = self.counts
            if self.batcher is not None:
                self.batcher.close()
                workeroutput[BATCHES] = self.batcher.batches
            if self.spool is not None:
                self.spool.close()
            return
        self.gather()
        path = self.config.getoption("--results")
        if path:
            env = results.environment(
                self.config.getoption("--random-seed"), self.config.getoption("--random-count")
            )
            shard = self.shard()
            if shard:
                env["shard"] = shard
            results.write(Path(path), self.records, env)

    def shard(self) -> dict[str, int] | None:
        """Which pytest-split group this run is (``--splits N --group k``), and of what."""
        splits = self.config.getoption("splits", None)
        if not splits:
            return None
        group = int(self.config.getoption("group"))
        return {"group": group, "splits": int(splits), **self.counts}

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.gate_count:
            return
        terminalreporter.write_line(
            f"cross-validation gate: {self.gate_count} comparisons, {self.gate_passed} passed, "
            f"{self.gate_failed} failed, {self.gate_skipped} not applicable"
            + (f", {self.gate_known} known upstream bugs (strict xfail)" if self.gate_known else "")
            + (
                f"; xdist workers sent their reports in {self.batches} batches"
                if self.batches
                else ""
            )
        )
        results = self.config.getoption("results", None)
        if results:  # nox -s report prints the table once, from the file, by harness.summary
            terminalreporter.write_line(f"per-oracle table: python -m harness.summary {results}")
        elif self.records:
            terminalreporter.write_line(summary_table(read_records(r for _, r in self.records)))
