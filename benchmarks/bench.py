"""``nox -s bench``: the speed of each part, measured against its peers in one process.

Every figure is a median over rounds after a warm-up; in each round the candidates run side by
side (in rotating order) on identical float64 inputs, so a busy machine slows them alike and the
ratios stay meaningful. Libraries run single-threaded (the BLAS, torch, XLA): on a shared machine,
spinning BLAS threads cost far more than they gain, and one thread each makes the race fair.
Times are the process's CPU time by default (``--clock cpu``): with other jobs on the cores, wall
time measures the scheduler as much as the code; ``--clock wall`` gives wall time. The gate's
figure (5) is always wall time.

    python -m benchmarks.bench                # every measure, the gate's wall time last
    python -m benchmarks.bench --skip-gate    # measures 1–4 only

Prints one row per figure: what, the figure, its target, met or not.
"""

from __future__ import annotations

import os

# Before NumPy, torch or JAX load: one thread each (see the module docstring).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

from oracles import finite_diff  # noqa: E402
from reference import Architecture, Batch, Params, backprop, backprop_per_sample, cost  # noqa: E402
from reference import make_case as _make_case  # noqa: E402
from reference.forward import feedforward  # noqa: E402
from reference.types import Array  # noqa: E402

#: Each timed sample runs a candidate enough times to last at least this long.
MIN_SAMPLE_S = 0.02
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
CLOCK_NAME = "cpu"
clock = CLOCKS[CLOCK_NAME]
#: The gate as noxfile's GATE runs it, but for the worker count (appended).
GATE_OPTIONS = ["-p", "no:cacheprovider", "-p", "no:logging", "--dist", "loadgroup", "-n"]


@dataclass(frozen=True)
class Row:
    measure: str
    figure: str
    target: str
    met: bool | None  # None: printed for information, no target


def median_times(candidates: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each candidate, timed side by side after a warm-up."""
    calls = {}
    for name, fn in candidates.items():
        fn()  # warm-up: caches, compiled code, first-touch memory
        n = 1
        while _seconds(fn, n) < MIN_SAMPLE_S:
            n *= 2
        calls[name] = n
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(_seconds(candidates[name], calls[name]) / calls[name])
    return {name: float(np.median(s)) for name, s in samples.items()}


def _seconds(fn: Callable[[], object], n: int) -> float:
    start = clock()
    for _ in range(n):
        fn()
    return clock() - start


def make_case(sizes: tuple[int, ...], m: int) -> tuple[Architecture, Params, Batch]:
    arch = Architecture(sizes, "sigmoid", "quadratic", batch=m)
    params, batch = _make_case(arch)
    return arch, params, batch


def name(sizes: tuple[int, ...], m: int) -> str:
    return f"[{','.join(map(str, sizes))}] m={m}"


def matrix_vs_loop(rounds: int) -> Iterator[Row]:
    """1. Matrix-form backprop against network.py's one-sample-at-a-time loop."""
    sizes, m = (784, 30, 10), 100
    arch, params, batch = make_case(sizes, m)
    t = median_times(
        {
            "matrix": lambda: backprop(arch, params, batch.x, batch.y),
            "loop": lambda: backprop_per_sample(arch, params, batch.x, batch.y),
        },
        rounds,
    )
    ratio = t["loop"] / t["matrix"]
    yield Row(
        f"1. matrix backprop vs per-sample loop, {name(sizes, m)}",
        f"{ratio:.1f}x faster ({t['matrix'] * 1e3:.2f} vs {t['loop'] * 1e3:.1f} ms)",
        ">= 30x",
        ratio >= 30,
    )


def backward_cost(rounds: int) -> Iterator[Row]:
    """2. Forward + backward against the forward pass alone."""
    sizes, m = (784, 100, 100, 10), 100
    arch, params, batch = make_case(sizes, m)
    sigmas = arch.layer_activations
    t = median_times(
        {
            "forward": lambda: feedforward(params, sigmas, batch.x),
            "backprop": lambda: backprop(arch, params, batch.x, batch.y),
        },
        rounds,
    )
    ratio = t["backprop"] / t["forward"]
    yield Row(
        f"2. forward+backward / forward, {name(sizes, m)}",
        f"{ratio:.2f} ({t['backprop'] * 1e3:.2f} / {t['forward'] * 1e3:.2f} ms)",
        "<= 2.2",
        ratio <= 2.2,
    )


def against_autograd(rounds: int) -> Iterator[Row]:
    """3. The reference against torch autograd and jax.jit(jax.grad), compiled beforehand."""
    import torch

    from oracles import jax_grad, torch_autograd

    torch.set_num_threads(1)
    for sizes in ((784, 30, 10), (784, 100, 100, 10)):
        for m in (10, 100):
            arch, params, batch = make_case(sizes, m)
            start = clock()
            jax_grad.gradients(arch, params, batch)  # the first call traces and compiles
            first = clock() - start
            t = median_times(
                {
                    "reference": partial(backprop, arch, params, batch.x, batch.y),
                    "torch": partial(torch_autograd.gradients, arch, params, batch),
                    "jax": partial(jax_grad.gradients, arch, params, batch),
                },
                rounds,
            )
            for other in ("torch", "jax"):
                ratio = t[other] / t["reference"]
                yield Row(
                    f"3. reference vs {other}, {name(sizes, m)}",
                    f"{other} {ratio:.2f}x the reference's time "
                    f"({t['reference'] * 1e3:.3f} vs {t[other] * 1e3:.3f} ms)",
                    "reference never slower (>= 1x)",
                    ratio >= 1,
                )
            yield Row(
                f"3. JAX one-off trace+compile, {name(sizes, m)}",
                f"{(first - t['jax']) * 1e3:.0f} ms",
                "-",
                None,
            )


def jax_modes(count: int) -> Iterator[Row]:
    """3b. JAX on small nets like the gate's: a compile per net, or one shared padded program."""
    from harness.architectures import random_architectures
    from oracles import jax_grad

    cases = [(a, *_make_case(a)) for a in random_architectures(count, seed=1)]
    took = {}
    for mode, fn in (("per net", jax_grad._per_shape), ("padded", jax_grad._padded)):
        start = clock()
        for arch, params, batch in cases:
            fn(arch, params, batch)
        took[mode] = clock() - start
    yield Row(
        f"3b. JAX first calls on {count} random gate nets (seed 1)",
        f"compiled per net {took['per net']:.1f} s, one shared padded program "
        f"{took['padded']:.1f} s: the oracle pads nets that fit {jax_grad.SMALL}",
        "fastest mode used",
        took["padded"] <= took["per net"],
    )


def naive_central_differences(arch: Architecture, params: Params, batch: Batch) -> list[Array]:
    """One parameter at a time: w ± h in place, the full forward pass and the mean cost, twice."""
    h = finite_diff.STEP
    out = []
    for p in (*params.weights, *params.biases):
        slopes = np.empty_like(p)
        for index in np.ndindex(p.shape):
            kept = p[index]
            p[index] = kept + h
            plus = cost(arch, params, batch.x, batch.y)
            p[index] = kept - h
            minus = cost(arch, params, batch.x, batch.y)
            p[index] = kept
            slopes[index] = (plus - minus) / (2 * h)
        out.append(slopes)
    return out


def fd_oracle(rounds: int) -> Iterator[Row]:
    """4. The batched FD oracle against a naive one-parameter-at-a-time central difference."""
    sizes, m = (784, 30, 10), 10
    arch, params, batch = make_case(sizes, m)
    n_params = sum(w.size + b.size for w, b in zip(params.weights, params.biases, strict=True))
    naive = naive_central_differences(arch, params, batch)
    fd = finite_diff.gradients(arch, params, batch)
    agree = max(
        float(np.abs(a - b).max() / np.abs(b).max())
        for a, b in zip(naive, (*fd.nabla_w, *fd.nabla_b), strict=True)
    )
    t = median_times(
        {
            "oracle": lambda: finite_diff.gradients(arch, params, batch),
            "naive": lambda: naive_central_differences(arch, params, batch),
        },
        max(3, rounds // 5),  # the naive one takes seconds a call
    )
    tracemalloc.start()
    finite_diff.gradients(arch, params, batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ratio = t["naive"] / t["oracle"]
    where = f"{n_params} params of {name(sizes, m)}"
    yield Row(
        f"4. FD oracle vs naive central difference, {where}",
        f"{ratio:.0f}x faster ({t['oracle']:.3f} vs {t['naive']:.2f} s; "
        f"the two agree to {agree:.1e} of the largest)",
        ">= 35x",
        ratio >= 35,
    )
    yield Row(
        f"4. FD oracle time ({CLOCK_NAME}), {where}",
        f"{t['oracle']:.3f} s",
        "<= 0.1 s",
        t["oracle"] <= 0.1,
    )
    yield Row(
        f"4. FD oracle peak memory (tracemalloc), {where}",
        f"{peak / 2**20:.1f} MiB",
        "<= 1 GiB",
        peak <= 2**30,
    )


def gate(workers: str) -> Row:
    """5. The default gate (tests/test_gate.py, default options) in a fresh process."""
    # Python's default, bytecode caching, even where this shell turned it off; a collection run
    # writes the caches first, as any earlier run would have.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-m", "pytest", "tests/test_gate.py", "-q", *GATE_OPTIONS, workers]
    subprocess.run([*command, "--collect-only"], capture_output=True, env=env, check=False)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    found = re.search(r"cross-validation gate: (\d+) comparisons, (\d+) passed", proc.stdout)
    count = int(found.group(1)) if found else 0
    load = f"load avg {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    status = "" if proc.returncode == 0 else f", exit {proc.returncode}"
    return Row(
        f"5. default gate, -n {workers}",
        f"{wall:.1f} s wall, {count} comparisons, {count / wall:.0f}/s ({load}{status})",
        "<= 30 s on 2 cores",
        wall <= 30 and proc.returncode == 0,
    )


def table(rows: list[Row]) -> str:
    head = ("measure", "figure", "target", "met")
    cells = [head] + [
        (r.measure, r.figure, r.target, "-" if r.met is None else "met" if r.met else "NOT MET")
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(3)) + "  " + c[3] for c in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per figure")
    parser.add_argument("--skip-gate", action="store_true", help="leave out measure 5")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="default: cpu")
    args = parser.parse_args(argv)
    global clock, CLOCK_NAME
    CLOCK_NAME, clock = args.clock, CLOCKS[args.clock]
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    rows: list[Row] = []
    for measure in (matrix_vs_loop, backward_cost, against_autograd, jax_modes, fd_oracle):
        for row in measure(20 if measure is jax_modes else args.rounds):
            rows.append(row)
            print(f"{row.measure}: {row.figure}", file=sys.stderr, flush=True)
    if not args.skip_gate:
        for workers in ("1", "auto"):
            rows.append(gate(workers))
            print(f"{rows[-1].measure}: {rows[-1].figure}", file=sys.stderr, flush=True)
    print(table(rows))
    print(
        f"(float64; medians of side-by-side rounds after warm-up; {args.clock} time; "
        "single-threaded libraries; 5 is wall time)"
    )
    print(gate_power())
    return 0


def gate_power() -> str:
    """The gate's power (not a speed): the smallest planted relative error each oracle flags."""
    from benchmarks import sensitivity

    return sensitivity.table(sensitivity.smallest_flagged())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
