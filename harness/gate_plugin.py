"""The gate's pytest plugin: its options, the results file, and the comparison count.

Loaded with ``-p harness.gate_plugin`` (pyproject's addopts), so the options exist however
pytest is started. Tests hand result records to :class:`Recorder` (suite.recording), which
appends each finished test's records to its process's JSON Lines file (harness.parts) and, when
the run ends, writes the results file from those files, also when the gate is one shard of a run
split over machines (pytest-split). It uses only pytest's and pytest-xdist's public hooks.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

from harness import parts, strategies
from harness.summary import summary_table
from oracles import ORACLES
from reference import Architecture
from suite import results
from suite.architectures import (
    CURATED,
    MAPS,
    TAILS,
    TRUTH_SAMPLE,
    random_architectures,
    random_map_architectures,
)
from suite.options import GROUP, add_case_options, check_case_options
from suite.recording import RECORDER
from suite.results import Record, Tally, by_dtype_and_oracle

GATE_MARK = "gate"
#: The gate test's parameter: an architecture and its planned comparisons (tests/test_gate.py).
GATE_PARAM = "gate_arch"
#: How many records the run's tests would make before a shard was picked from them (pytest-split).
COLLECTED = pytest.StashKey[int]()
#: The workerinput key that names the parts folder's results path to an xdist worker.
WORKER_RESULTS = "gate_results"
DTYPES = {"float64": np.float64, "float32": np.float32}
#: JAX's persistent compilation cache (harness.gate_plugin.jax_compilation_cache), in the rootdir.
JAX_CACHE = ".jax_cache"
#: Its size limit: the default gate's programs take about 10 MB.
JAX_CACHE_BYTES = 512 * 2**20
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
        "--random-maps",
        type=int,
        default=0,
        metavar="N",
        help="also N seeded random feature-map nets (convolutions and pools; seed "
        "--random-seed; default 0)",
    )
    group.addoption(
        "--results",
        default=None,
        metavar="PATH",
        help="write every comparison the gate makes to this JSON file",
    )
    group.addoption(
        "--jax-cache",
        default=None,
        metavar="DIR",
        help="JAX's persistent compilation cache, shared by every worker and later run "
        f"(default: {JAX_CACHE} in the rootdir; 'off' compiles afresh)",
    )
    group.addoption(
        "--margins",
        action="store_true",
        help="also print each oracle's margins (harness.margins' table) from the run's records, "
        "without reading the results file again (nox -s soak)",
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
    if config.getoption("--random-maps") < 0:
        raise pytest.UsageError(
            f"--random-maps must be >= 0, got {config.getoption('--random-maps')}"
        )
    unknown = sorted(set(config.getoption("--oracle") or []) - set(ORACLES))
    if unknown:
        raise pytest.UsageError(f"unknown --oracle {unknown}; known: {sorted(ORACLES)}")
    if not config.getoption("hypothesis_profile", None):  # hypothesis loads one that is named
        settings.load_profile(strategies.DEFAULT_PROFILE)
    config.pluginmanager.register(Recorder(config), RECORDER)
    one_thread_each()
    jax_compilation_cache(config)


#: Cores below which ``-n auto`` runs in one process. Measured on 2 cores (benchmarks.runs,
#: measure 7, with one test per architecture): ``-n 2`` beats one process from 2 cores up.
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


def jax_compilation_cache(config: pytest.Config) -> None:
    """Point JAX's persistent compilation cache at ``--jax-cache`` (by its environment variables,
    read when jax is imported: in this process, each xdist worker and each gate run a test
    starts), so a program XLA compiled once is loaded, not compiled again. Compiling is most of
    the JAX oracle's cost: the feature-map nets and the larger dense nets compile one program
    each. A size limit turns on JAX's file lock (``filelock``), so that two workers never read
    an entry half written."""
    given = config.getoption("--jax-cache")
    if given == "off":
        os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)
        return
    if given:  # named: this folder, whatever a run that started this one chose
        os.environ["JAX_COMPILATION_CACHE_DIR"] = str(Path(given).resolve())
    else:  # a gate run started by a test shares the cache of the run around it
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(config.rootpath / JAX_CACHE))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(JAX_CACHE_BYTES))


@pytest.hookimpl(trylast=True)  # after -k/-m deselect, before pytest-split picks its shard
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[COLLECTED] = sum(map(planned_records, items))  # the run a shard is part of
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
    """The curated registry, the tails family, the feature-map nets and the seeded random
    architectures the options ask for."""
    return (
        CURATED
        + TAILS
        + MAPS
        + random_architectures(
            config.getoption("--random-count"), config.getoption("--random-seed")
        )
        + random_map_architectures(
            config.getoption("--random-maps"), config.getoption("--random-seed")
        )
    )


def truth_architectures(config: pytest.Config) -> list[Architecture]:
    """The nets the ground truth judges: the tails family, a fixed small sample of the random
    dense ones (suite.architectures.TRUTH_SAMPLE), the feature-map nets and the random map nets
    the options ask for."""
    return (
        TAILS
        + TRUTH_SAMPLE
        + MAPS
        + random_map_architectures(
            config.getoption("--random-maps"), config.getoption("--random-seed")
        )
    )


def gate_dtype(config: pytest.Config) -> Any:
    """The reference's floating type named by --dtype."""
    return DTYPES[config.getoption("--dtype")]


def gate_oracles(config: pytest.Config) -> list[str]:
    """The oracles named by --oracle, or all registered ones."""
    return config.getoption("--oracle") or list(ORACLES)


def planned_records(item: pytest.Item) -> int:
    """How many records a test will make: a gate test's planned comparisons, else one."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and GATE_PARAM in callspec.params:
        return len(callspec.params[GATE_PARAM])
    return 1


#: The young generation's threshold while tests run (Python's default: 700 allocations).
YOUNG_COLLECTION = 50_000


def calm_collector() -> tuple[tuple[int, ...], bool]:
    """Fewer collections while the tests run: what was imported and collected (torch, jax, every
    planned comparison: over a million objects) moves to the permanent generation, never walked
    again, and the young generation is collected every YOUNG_COLLECTION allocations, 20 of
    those per older one. On 1,000 random nets in one process: 3.0 s of 50 s in the collector
    with Python's defaults, 1.2 s so, the peak memory unchanged (1.05 GB). Returns the state
    to restore (:func:`restore_collector`)."""
    state = (gc.get_threshold(), gc.isenabled())
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, 20, 20)
    return state


def restore_collector(state: tuple[tuple[int, ...], bool] | None) -> None:
    """The collector as :func:`calm_collector` found it (a run started in-process by a test)."""
    if state is None:
        return
    (young, *older), enabled = state
    gc.unfreeze()
    gc.set_threshold(young, *older)
    if enabled:
        gc.enable()


class Recorder:
    """Keeps each test's records and appends them, when the test ends, to this process's JSON
    Lines file (:mod:`harness.parts`); the controller (or the one process) writes the results
    file from all of them when the run ends and prints the gate's counts.

    With ``--results PATH`` the controller empties ``PATH.parts`` and writes the environment
    there at configure time, before xdist starts its workers; each process that runs tests
    writes its plan when collected, and each test's records with its ``done`` line when it ends
    (``pytest_runtest_logfinish``), flushed. Nothing rides on test reports, and the controller
    does nothing per record while tests run. A run that is killed leaves the parts, which the
    readers assemble into a report of what finished, marked incomplete.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.buffer: dict[str, list[tuple[str, str]]] = {}  # test (node id): (record id, JSON)
        self.env: dict[str, Any] = {}  # the run's environment, assembled at the end
        self.counts: GateCounts | None = None  # its records counted, at the end
        path = config.getoption("--results")
        self.given = bool(path)  # else the parts go to a temporary folder, for the summary only
        workerinput = getattr(config, "workerinput", {})
        self.worker = workerinput.get("workerid")
        if self.worker is not None:
            path = path or workerinput.get(WORKER_RESULTS)
        elif not path:
            path = Path(tempfile.mkdtemp(prefix="gate-results-")) / "results.json"
        self.path = Path(path) if path else None
        self.part: parts.Part | None = None
        self.collector: tuple[tuple[int, ...], bool] | None = None  # calm_collector's state
        if self.path is not None and self.worker is None:  # the controller, or the one process
            env = results.run_environment(
                config.getoption("--random-seed"), config.getoption("--random-count")
            )
            parts.start(self.path, env)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist's hook: tell a worker where the parts go when no --results was given."""
        node.workerinput[WORKER_RESULTS] = str(self.path)

    def add(self, nodeid: str, test: str, line: str) -> None:
        """One record of test ``nodeid`` under the id ``test``, as JSON text."""
        self.buffer.setdefault(nodeid, []).append((test, line))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collector = calm_collector()
        if self.path is None:
            return
        name = self.worker or "main"
        self.part = parts.Part(parts.folder(self.path) / f"{name}.jsonl")
        counts = {"selected": sum(map(planned_records, session.items))}
        counts["collected"] = self.config.stash.get(COLLECTED, counts["selected"])
        self.part.plan([item.nodeid for item in session.items], **counts)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        records = self.buffer.pop(nodeid, [])
        if self.part is not None:
            self.part.done(nodeid, records)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.part is not None:
            self.part.close()
        if self.worker is not None:  # an xdist worker: its records are in its part already
            return
        if self.path is None:
            return
        folder = parts.folder(self.path)
        env, lines = parts.assemble_text(folder)
        counts = env.pop("counts", {})
        shard = self.shard(counts)
        if shard:
            env["shard"] = shard
        self.env = env
        if self.given:
            results.write_lines(self.path, lines, env)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            shutil.rmtree(self.path.parent, ignore_errors=True)
        # Counted as read, each record dropped once counted (kept only for the per-oracle table
        # of a run without --results), with no collection walking them meanwhile.
        enabled = gc.isenabled()
        gc.disable()
        self.counts = GateCounts(keep=not self.given)
        for _, text in lines:
            self.counts.add(Record.from_dict(json.loads(text)))
        if enabled:
            gc.enable()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        restore_collector(self.collector)

    def shard(self, counts: dict[str, int]) -> dict[str, int] | None:
        """Which pytest-split group this run is (``--splits N --group k``), and of what: how many
        records the whole run's tests make (collected) and this shard's (selected)."""
        splits = self.config.getoption("splits", None)
        if not splits:
            return None
        group = int(self.config.getoption("group"))
        return {"group": group, "splits": int(splits), **counts}

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        counted = self.counts
        if counted is None or not counted.comparisons:
            return
        terminalreporter.write_line(counted.line())
        if self.config.getoption("--margins"):
            from harness.margins import margin_table_of

            terminalreporter.write_line(margin_table_of(counted.tallies))
        incomplete = parts.incomplete_line(self.env)
        if incomplete:
            terminalreporter.write_line(incomplete)
        if self.given:  # nox -s report prints the table once, by harness.summary
            terminalreporter.write_line(f"per-oracle table: python -m harness.summary {self.path}")
        else:
            terminalreporter.write_line(summary_table(counted.records))


@dataclass
class GateCounts:
    """The gate's line and the margins' tallies, counted record by record as the results are
    read back (checker verdicts are not comparisons: left out); the records themselves are kept
    only with ``keep``."""

    keep: bool
    comparisons: int = 0
    failed: int = 0
    known: int = 0  # failing by a known upstream bug, as expected (strict xfail)
    declined: int = 0  # not applicable
    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)  # per (dtype, oracle)
    records: list[Record] = field(default_factory=list)

    def add(self, rec: Record) -> None:
        if rec.kind == "verdict":
            return
        self.comparisons += 1
        failed = rec.failed()
        self.failed += failed
        self.known += rec.known_bug is not None and not failed
        self.declined += rec.kind == "not_applicable"
        self.tallies.setdefault(by_dtype_and_oracle(rec), Tally()).add(rec)
        if self.keep:
            self.records.append(rec)

    def line(self) -> str:
        """``cross-validation gate: N comparisons, P passed, F failed, …``."""
        passed = self.comparisons - self.failed - self.known - self.declined
        return (
            f"cross-validation gate: {self.comparisons} comparisons, {passed} passed, "
            f"{self.failed} failed, {self.declined} not applicable"
            + (f", {self.known} known upstream bugs (strict xfail)" if self.known else "")
        )
