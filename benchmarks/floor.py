"""Measure 7's profile: where a gate comparison's time goes, and so the soak's floor.

The gate's own work on an architecture, timed in this process without pytest (CPU time, after a
warm-up that loads torch and JAX and compiles JAX's shared program): building the case (the
reference and its error model), each oracle, and the comparisons with their result records.
Set beside the whole runs of :func:`benchmarks.runs.throughput`, what is left is pytest's cost
per test (one process) and xdist's (its messages and its controller, with workers).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass

from harness.cases import build_case, compare_all, oracle_output
from oracles import ORACLES, NotApplicable
from reference import Architecture
from suite import results
from suite.architectures import random_architectures

#: The parts of the gate's own work, in the order they run.
PARTS = ("case", *ORACLES, "compare+record")


@dataclass(frozen=True)
class OwnWork:
    """CPU seconds per part over ``architectures`` nets, and the comparisons they make."""

    seconds: dict[str, float]
    architectures: int
    comparisons: int

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def own_work(count: int, seed: int = 1) -> OwnWork:
    """The gate's work on ``count`` random architectures (the throughput run's), part by part."""
    import torch

    torch.set_num_threads(1)  # as in the gate's processes (harness.gate_plugin.one_thread_each)
    archs = random_architectures(count, seed)
    _one_architecture(archs[0], defaultdict(float))  # warm-up: imports, JAX compiles
    build_case.cache_clear()
    oracle_output.cache_clear()
    seconds: defaultdict[str, float] = defaultdict(float)
    comparisons = sum(_one_architecture(arch, seconds) for arch in archs)
    return OwnWork({p: seconds[p] for p in PARTS}, len(archs), comparisons)


def _one_architecture(arch: Architecture, seconds: defaultdict[str, float]) -> int:
    """Run the gate's work on ``arch``, adding CPU seconds per part; return its comparisons."""
    start = time.process_time()
    case = build_case(arch)
    seconds["case"] += time.process_time() - start
    made = 0
    for oracle in ORACLES:
        start = time.process_time()
        try:
            output = oracle_output(arch, oracle)
        except NotApplicable:
            seconds[oracle] += time.process_time() - start
            made += sum(1 for _ in case.reference.items())  # recorded as not applicable
            continue
        seconds[oracle] += time.process_time() - start
        start = time.process_time()
        for comparison in compare_all(case, output, oracle):
            q, layer = comparison.quantity, comparison.layer
            arrays = (case.reference.get(q, layer), output.gradients.get(q, layer))
            json.dumps(results.comparison_record(arch, comparison, "float64", arrays))
            made += 1
        seconds["compare+record"] += time.process_time() - start
    return made


def per_comparison_ms(work: OwnWork) -> dict[str, float]:
    """Each part's CPU milliseconds per comparison."""
    return {p: 1e3 * s / work.comparisons for p, s in work.seconds.items()}


def describe(work: OwnWork) -> str:
    """``case 0.09, torch 0.01, ... ms`` per comparison, largest first."""
    ms = per_comparison_ms(work)
    return ", ".join(f"{p} {v:.2f}" for p, v in sorted(ms.items(), key=lambda kv: -kv[1]))
