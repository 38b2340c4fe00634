"""Measures 5–7 of ``nox -s bench``: whole runs in fresh processes, timed from outside (wall
clock, with CPU time beside it): the default gate, the checker on the book's two networks, and
the gate's throughput in one process against one xdist worker per core."""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from benchmarks.rows import Row

#: The gate as noxfile's GATE runs it, but for the worker count (appended).
GATE_OPTIONS = ["-p", "no:cacheprovider", "-p", "no:logging", "-n"]


def default_gate(rounds: int = 3) -> Iterator[Row]:
    """5. The default gate (tests/test_gate.py, default options) in fresh processes, one process
    (``-n 0``) and ``-n auto`` side by side in alternating order, the median wall time of each over
    ``rounds``, and their ratio: once compiling every JAX program afresh (``--jax-cache off``, as
    a fresh clone's first run does) and once with JAX's compilation cache warm (a later run)."""
    from harness.gate_plugin import auto_workers

    # Python's default, bytecode caching, even where this shell turned it off; a collection run
    # writes the caches first, as any earlier run would have.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base = [sys.executable, "-m", "pytest", "tests/test_gate.py", "-q", *GATE_OPTIONS]
    subprocess.run([*base, "0", "--collect-only"], capture_output=True, env=env, check=False)
    with tempfile.TemporaryDirectory(prefix="bench-jax-cache-") as cache:
        subprocess.run(
            [*base, "0", "--jax-cache", cache], capture_output=True, env=env, check=False
        )
        for label, option in (("JAX compiling afresh", "off"), ("JAX's cache warm", cache)):
            times: dict[str, list[float]] = {"0": [], "auto": []}
            count, load_before, failed = 0, os.getloadavg()[0], set()
            for r in range(rounds):
                for workers in ("0", "auto") if r % 2 == 0 else ("auto", "0"):
                    start = time.perf_counter()
                    command = [*base, workers, "--jax-cache", option]
                    proc = subprocess.run(
                        command, capture_output=True, text=True, env=env, check=False
                    )
                    times[workers].append(time.perf_counter() - start)
                    found = re.search(r"cross-validation gate: (\d+) comparisons", proc.stdout)
                    count = int(found.group(1)) if found else 0
                    if proc.returncode != 0:
                        failed.add(f"-n {workers} exit {proc.returncode}")
            one, many = (statistics.median(times[w]) for w in ("0", "auto"))
            load = (
                f"load avg {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )
            status = f"; {', '.join(sorted(failed))}" if failed else ""
            yield Row(
                f"5. default gate, {label}: one process / -n auto ({auto_workers()} workers)",
                f"{one / many:.2f}x ({one:.1f} s / {many:.1f} s wall, {count} comparisons, "
                f"median of {rounds}; {load}{status})",
                "> 1 (parallel faster); each <= 30 s",
                one / many > 1 and max(one, many) <= 30 and not failed,
            )


#: The checker's targets (issue 11): the book's two implementations through all their cases,
#: each in its worker process, wall-clock seconds on 2 cores.
CHECKER_TARGETS = {
    "checker/mutants/book_network.py:Network": 3.0,
    "checker/mutants/book_network2.py:Network2": 10.0,
}


def checker_runs() -> Iterator[Row]:
    """6. ``python -m checker`` on the book's network.py and network2.py in a fresh process:
    wall time, and CPU time of the checker and its worker together."""
    for spec, target in CHECKER_TARGETS.items():
        load_before = os.getloadavg()[0]
        before = os.times()
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "checker", spec], capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        after = os.times()
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        load = f"load avg {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        status = "" if proc.stdout.startswith("PASS ") else f", exit {proc.returncode}"
        yield Row(
            f"6. checker, {spec.split('/')[-1]}",
            f"{wall:.1f} s wall, {cpu:.1f} s CPU with its worker ({load}{status})",
            f"<= {target:g} s on 2 cores",
            wall <= target and proc.returncode == 0,
        )


#: The isolation's cost per implementation checked (issue 22), wall-clock seconds.
ISOLATION_TARGET_S = 0.5
ISOLATION_SPEC = "checker/mutants/book_network.py:Network"


def isolation_overhead(rounds: int = 5) -> Iterator[Row]:
    """8. ``python -m checker`` on network.py with bubblewrap's namespaces (``--isolation auto``)
    and without (``--isolation none``), side by side in alternating order: the median over
    rounds of the within-round difference and ratio of wall times."""
    times: dict[str, list[float]] = {"auto": [], "none": []}
    levels = set()
    for r in range(rounds):
        for mode in ("auto", "none") if r % 2 == 0 else ("none", "auto"):
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "checker", ISOLATION_SPEC, "--isolation", mode],
                capture_output=True,
                text=True,
                check=False,
            )
            times[mode].append(time.perf_counter() - start)
            if not proc.stdout.startswith("PASS "):
                times[mode][-1] = float("inf")
            levels.add(proc.stderr.split(",")[0] if proc.stderr else "isolation: namespaces")
    diffs = sorted(a - b for a, b in zip(times["auto"], times["none"], strict=True))
    ratios = sorted(a / b for a, b in zip(times["auto"], times["none"], strict=True))
    diff, ratio = diffs[len(diffs) // 2], ratios[len(ratios) // 2]
    jailed, bare = (sorted(t)[len(t) // 2] for t in (times["auto"], times["none"]))
    yield Row(
        "8. isolation, network.py",
        f"+{diff:.2f} s wall ({jailed:.2f} s jailed / {bare:.2f} s rlimits-only = {ratio:.2f}x, "
        f"median of {rounds} rounds; {' / '.join(sorted(levels))})",
        f"<= {ISOLATION_TARGET_S:g} s per implementation",
        diff <= ISOLATION_TARGET_S,
    )


#: The soak (nox -s soak: 10,000 random architectures besides the curated ones) and its target.
SOAK_ARCHITECTURES, SOAK_TARGET_S = 10_000, 300
#: Runs pytest in-process and prints the controller's own CPU time (its workers are children).
_CONTROLLER = (
    "import resource, sys, pytest; rc = pytest.main(sys.argv[1:]); "
    "r = resource.getrusage(resource.RUSAGE_SELF); "
    "print(f'@controller-cpu {r.ru_utime + r.ru_stime}'); sys.exit(rc)"
)


@dataclass(frozen=True)
class GateRun:
    """One timed gate run: comparisons, wall time, CPU time of all its processes and of the
    controller alone (the process xdist's workers report to), and the load around it."""

    comparisons: int
    wall: float
    cpu: float
    controller_cpu: float
    load: str
    status: int


def timed_gate(workers: str, count: int, cwd: str = ".") -> GateRun:
    """The gate with ``count`` random architectures (seed 1) at ``-n workers``, as nox runs it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    args = ["tests/test_gate.py", "-q", *GATE_OPTIONS, workers]
    args += ["--random-count", str(count), "--random-seed", "1"]
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, "-c", _CONTROLLER, *args]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.search(r"cross-validation gate: (\d+) comparisons", proc.stdout)
    controller = re.search(r"@controller-cpu ([\d.]+)", proc.stdout)
    return GateRun(
        int(found.group(1)) if found else 0,
        wall,
        cpu,
        float(controller.group(1)) if controller else float("nan"),
        f"load avg {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        proc.returncode,
    )


def throughput(count: int) -> Iterator[Row]:
    """7. Comparisons per second in one process and with one xdist worker per core, run side by
    side on ``count`` random architectures, and where a comparison's time goes. Wall time is
    what a user waits, but on shared cores it measures the other jobs too; CPU time (all
    processes, and the controller alone) is what the run costs, and on C idle cores a run needs
    at least CPU/C seconds. The gate's own work (benchmarks.floor, no pytest) on C cores is the
    floor no test runner can go below.

    Each mode also runs with no random architectures (the curated, tails and truth nets alone):
    what that costs is the run's fixed part (start-ups, imports, JAX's compiles, the truth
    comparisons), and the difference to the full run, per comparison, is its marginal cost. The
    soak is estimated as the fixed part plus the marginal cost of its comparisons, since a fixed
    cost spread over ``count`` nets would be charged again to every one of the soak's 10,000.
    """
    from benchmarks import floor
    from harness.gate_plugin import auto_workers

    cores = os.cpu_count() or 1
    auto = auto_workers()  # what -n auto means here
    one0, many0 = timed_gate("0", 0), timed_gate("auto", 0)
    one, many = timed_gate("0", count), timed_gate("auto", count)
    work = floor.own_work(count)
    for name, run in (("one process (-n 0)", one), (f"-n auto ({auto} workers)", many)):
        status = "" if run.status == 0 else f", exit {run.status}"
        yield Row(
            f"7. gate throughput, {count} random architectures, {name}",
            f"{run.comparisons / run.wall:.0f}/s wall ({run.wall:.0f} s, {run.comparisons} "
            f"comparisons); {run.comparisons / run.cpu:.0f} per CPU-s ({run.cpu:.0f} CPU-s, "
            f"controller {run.controller_cpu:.0f}); {run.load}{status}",
            "-",
            None,
        )
    wall_ratio = (many.comparisons / many.wall) / (one.comparisons / one.wall)
    yield Row(
        "7. gate throughput, -n auto / one process (wall)",
        f"{wall_ratio:.2f}x",
        "> 1 (parallel faster)",
        wall_ratio > 1,
    )
    own_ms = 1e3 * work.total / work.comparisons
    floor_rate = work.comparisons / work.total  # comparisons per CPU-second, no pytest
    for name, run, used in (("one process", one, 1), (f"-n auto ({auto} workers)", many, auto)):
        fraction = (run.comparisons / run.wall) / (floor_rate * max(used, 1))
        yield Row(
            f"7. gate throughput as a fraction of the arithmetic floor, {name}",
            f"{fraction:.2f} ({run.comparisons / run.wall:.0f}/s wall against the floor's "
            f"{floor_rate * max(used, 1):.0f}/s on {max(used, 1)} core(s))",
            "-",
            None,
        )
    added = max(one.comparisons - one0.comparisons, 1)  # the random nets' comparisons

    def marginal(full: GateRun, fixed: GateRun, cpu: float, fixed_cpu: float) -> float:
        return 1e3 * (cpu - fixed_cpu) / max(full.comparisons - fixed.comparisons, 1)

    one_ms = marginal(one, one0, one.cpu, one0.cpu)
    many_ms = marginal(many, many0, many.cpu, many0.cpu)
    controller_ms = marginal(many, many0, many.controller_cpu, many0.controller_cpu)
    yield Row(
        "7. a comparison's CPU time: the gate's own work (no pytest)",
        f"{own_ms:.2f} ms ({floor.describe(work)}; {work.architectures} nets)",
        "-",
        None,
    )
    yield Row(
        "7. a comparison's CPU time: pytest, one process (marginal)",
        f"{one_ms - own_ms:.2f} ms more ({one_ms:.2f} ms in all; the run's fixed part "
        f"{one0.cpu:.0f} CPU-s: start-up, imports, the {one0.comparisons} fixed comparisons)",
        "-",
        None,
    )
    yield Row(
        f"7. a comparison's CPU time: xdist, -n auto ({auto} workers, marginal)",
        f"{many_ms - one_ms:.2f} ms more ({many_ms:.2f} ms in all; the controller "
        f"{controller_ms:.2f} ms; fixed part {many0.cpu:.0f} CPU-s)",
        "-",
        None,
    )
    soak = one0.comparisons + added / count * SOAK_ARCHITECTURES
    extra = soak - one0.comparisons
    one_s = one0.cpu + one_ms / 1e3 * extra  # one process: its CPU time is its idle wall time
    many_s = (many0.cpu + many_ms / 1e3 * extra) / cores
    best = min(one_s, many_s)
    floor_s = work.total / work.comparisons * soak / cores
    yield Row(
        f"7. soak ({SOAK_ARCHITECTURES:,} architectures, ~{soak:,.0f} comparisons) on {cores} "
        "idle cores",
        f"about {best / 60:.1f} min by CPU time (-n 0 {one_s / 60:.1f}, -n auto "
        f"{many_s / 60:.1f}); floor {floor_s / 60:.1f} min (the gate's own work alone, spread "
        f"over {cores} cores)",
        f"<= {SOAK_TARGET_S // 60} min",
        best <= SOAK_TARGET_S,
    )
