"""``nox -s bench``: the speed of each part, measured against its peers in one process.

Every figure is a median over rounds after a warm-up; in each round the candidates run side by
side (in rotating order) on identical float64 inputs, so a busy machine slows them alike, and each
ratio is the median of the ratios within a round (times are medians over rounds). Libraries run
single-threaded (the BLAS, torch, XLA): on a shared machine, spinning BLAS threads cost far more
than they gain, and one thread each makes the race fair.
Times are the process's CPU time by default (``--clock cpu``): with other jobs on the cores, wall
time measures the scheduler as much as the code; ``--clock wall`` gives wall time. The gate's
figure (5) and the checker's (6: a fresh process, with its worker) are wall time, with CPU time
beside them.

    python -m benchmarks.bench                # every measure, the gate's wall time last
    python -m benchmarks.bench --skip-gate --throughput 0   # measures 1–4 and 6 only
    python -m benchmarks.bench --only-gate   # measure 5: the default gate, one process and -n auto
    python -m benchmarks.bench --only-throughput --throughput 1000   # measure 7 alone
    python -m benchmarks.bench --only-isolation   # measure 8: the checker with and without its jail
    python -m benchmarks.bench --only-conv   # measure 9: LeNet-like forward+backward vs torch

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
import itertools  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import conv  # noqa: E402
from benchmarks.plain import plain_backprop, plain_central_differences  # noqa: E402
from benchmarks.rows import Row, table  # noqa: E402
from benchmarks.runs import checker_runs, default_gate, isolation_overhead, throughput  # noqa: E402
from oracles import finite_diff  # noqa: E402
from reference import Architecture, Batch, Params, backprop  # noqa: E402
from reference import make_case as _make_case  # noqa: E402
from reference.forward import feedforward  # noqa: E402
from reference.types import Array  # noqa: E402

#: Each timed sample runs a candidate enough times to last at least this long.
MIN_SAMPLE_S = 0.02
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
CLOCK_NAME = "cpu"
clock = CLOCKS[CLOCK_NAME]
#: The book's larger net (ch. 2's exercises use it too): three layers of weights.
BIG = (784, 100, 100, 10)
#: The side of the square matrix product whose speed stands for the machine's limit.
DGEMM_N = 1000


def median_times(candidates: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each candidate, timed side by side after a warm-up."""
    return {name: float(np.median(s)) for name, s in round_times(candidates, rounds).items()}


def median_ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """The median over rounds of a's time / b's in the same round: two candidates timed one after
    the other share the machine's load of the moment, so a busy machine moves their ratio less
    than the ratio of their medians."""
    return float(np.median(np.divide(times[a], times[b])))


def round_times(candidates: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each candidate in each round, timed side by side after a warm-up."""
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
    return samples


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


def flops(sizes: tuple[int, ...], m: int) -> int:
    """Multiply-adds ×2 of one backprop: z = w a (forward), w^T δ (BP2, not into the input layer)
    and δ a^T (BP4), each 2·n_l·n_{l−1}·m; the elementwise work is left out."""
    products = [n * n_prev for n_prev, n in itertools.pairwise(sizes)]
    return 2 * m * (2 * sum(products) + sum(products[1:]))


def against_plain(rounds: int) -> Iterator[Row]:
    """1. The reference against a plain 25-line matrix backprop (benchmarks/plain.py)."""
    for sizes, m in (((784, 30, 10), 10), ((784, 30, 10), 100), (BIG, 100), (BIG, 1000)):
        arch, params, batch = make_case(sizes, m)
        times = round_times(
            {
                "reference": partial(backprop, arch, params, batch.x, batch.y),
                "plain": partial(plain_backprop, params.weights, params.biases, batch.x, batch.y),
            },
            rounds,
        )
        t = {name: float(np.median(s)) for name, s in times.items()}
        ratio, limit = median_ratio(times, "reference", "plain"), 1.3 if m < 100 else 1.1
        yield Row(
            f"1. reference / plain matrix backprop, {name(sizes, m)}",
            f"{ratio:.3f} ({t['reference'] * 1e3:.3f} / {t['plain'] * 1e3:.3f} ms)",
            f"<= {limit}",
            ratio <= limit,
        )


def backward_cost(rounds: int) -> Iterator[Row]:
    """2. Forward + backward against the forward pass alone."""
    sizes, m = BIG, 100
    arch, params, batch = make_case(sizes, m)
    sigmas = arch.sigmas
    times = round_times(
        {
            "forward": lambda: feedforward(params, sigmas, batch.x),
            "backprop": lambda: backprop(arch, params, batch.x, batch.y),
        },
        rounds,
    )
    t = {name: float(np.median(s)) for name, s in times.items()}
    ratio = median_ratio(times, "backprop", "forward")
    yield Row(
        f"2. forward+backward / forward, {name(sizes, m)}",
        f"{ratio:.2f} ({t['backprop'] * 1e3:.2f} / {t['forward'] * 1e3:.2f} ms)",
        "<= 2.2",
        ratio <= 2.2,
    )


def square_dgemm() -> Callable[[], object]:
    """A square float64 matrix product, n = :data:`DGEMM_N`: the machine's single-thread limit."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((DGEMM_N, DGEMM_N)), rng.standard_normal((DGEMM_N, DGEMM_N))
    return partial(np.matmul, a, b)


def blas_name() -> str:
    """The BLAS NumPy calls and the kernel it picked for this processor (threadpoolctl)."""
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            kernel, threads = lib.get("architecture") or "?", lib["num_threads"]
            return f"{lib['internal_api']} {lib['version']}, {kernel} kernel, {threads} thread(s)"
    return "BLAS unknown"


def against_autograd(rounds: int) -> Iterator[Row]:
    """3. The reference against the machine (single-thread dgemm), torch autograd and
    jax.jit(jax.grad) (compiled beforehand), at m from 10 to 1000."""
    import torch

    from oracles import jax_grad, torch_autograd

    torch.set_num_threads(1)
    for sizes in ((784, 30, 10), BIG):
        for m in (10, 100, 1000):
            arch, params, batch = make_case(sizes, m)
            start = clock()
            jax_grad.gradients(arch, params, batch)  # the first call traces and compiles
            first = clock() - start
            candidates: dict[str, Callable[[], object]] = {
                "reference": partial(backprop, arch, params, batch.x, batch.y),
                "torch": partial(torch_autograd.gradients, arch, params, batch),
                "jax": partial(jax_grad.gradients, arch, params, batch),
            }
            limit = sizes == BIG and m == 1000
            if limit:
                candidates["dgemm"] = square_dgemm()
            times = round_times(candidates, rounds)
            t = {name: float(np.median(s)) for name, s in times.items()}
            gflops = flops(sizes, m) / t["reference"] / 1e9
            if limit:
                peak = 2 * DGEMM_N**3 / t["dgemm"] / 1e9
                share = (
                    flops(sizes, m) / (2 * DGEMM_N**3) * median_ratio(times, "dgemm", "reference")
                )
                yield Row(
                    f"3. reference GFLOP/s / single-thread dgemm's, {name(sizes, m)}",
                    f"{share:.1%} ({gflops:.1f} / {peak:.1f} GFLOP/s; dgemm n={DGEMM_N}, "
                    f"{blas_name()})",
                    ">= 65%",
                    share >= 0.65,
                )
            for other in ("torch", "jax"):
                ratio = median_ratio(times, other, "reference")
                yield Row(
                    f"3. reference vs {other}, {name(sizes, m)}",
                    f"{other} {ratio:.2f}x the reference's time "
                    f"({t['reference'] * 1e3:.3f} vs {t[other] * 1e3:.3f} ms; "
                    f"reference {gflops:.1f} GFLOP/s)",
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
    from oracles import jax_grad
    from suite.architectures import random_architectures

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


def fd_oracle(rounds: int) -> Iterator[Row]:
    """4. The batched FD oracle against a plain one-parameter-at-a-time central difference."""
    sizes, m = (784, 30, 10), 10
    arch, params, batch = make_case(sizes, m)
    n_params = sum(w.size + b.size for w, b in zip(params.weights, params.biases, strict=True))
    moved = [p.copy() for p in (*params.weights, *params.biases)]  # the plain one moves them
    ws, bs = moved[: len(params.weights)], moved[len(params.weights) :]

    def plain() -> list[Array]:
        return plain_central_differences(ws, bs, batch.x, batch.y, finite_diff.FD_STEP)

    naive = plain()
    fd = finite_diff.gradients(arch, params, batch)
    agree = max(
        float(np.abs(a - b).max() / np.abs(b).max())
        for a, b in zip(naive, (*fd.nabla_w, *fd.nabla_b), strict=True)
    )
    times = round_times(
        {"oracle": lambda: finite_diff.gradients(arch, params, batch), "naive": plain},
        max(3, rounds // 5),  # the plain one takes seconds a call
    )
    t = {name: float(np.median(s)) for name, s in times.items()}
    tracemalloc.start()
    finite_diff.gradients(arch, params, batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ratio = median_ratio(times, "naive", "oracle")
    where = f"{n_params} params of {name(sizes, m)}"
    yield Row(
        f"4. FD oracle vs plain central difference, {where}",
        f"{ratio:.1f}x faster ({t['oracle']:.3f} vs {t['naive']:.2f} s; "
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per figure")
    parser.add_argument("--skip-gate", action="store_true", help="leave out measure 5")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="default: cpu")
    parser.add_argument(
        "--throughput",
        type=int,
        default=300,
        metavar="N",
        help="random architectures of measure 7: one process, then a worker per core "
        "(default 300; 0 skips)",
    )
    parser.add_argument(
        "--only-throughput", action="store_true", help="run measure 7 alone (issue 14)"
    )
    parser.add_argument(
        "--only-isolation", action="store_true", help="run measure 8 alone (issue 22)"
    )
    parser.add_argument(
        "--only-gate",
        action="store_true",
        help="run measure 5 alone (issue 24: the default gate, one process against -n auto)",
    )
    parser.add_argument(
        "--only-conv", action="store_true", help="run measure 9 alone (issue 25: conv vs torch)"
    )
    args = parser.parse_args(argv)
    global clock, CLOCK_NAME
    CLOCK_NAME, clock = args.clock, CLOCKS[args.clock]
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    rows: list[Row] = []
    if args.only_isolation:
        print(table(list(isolation_overhead())))
        return 0
    if args.only_gate:
        print(table(list(default_gate())))
        return 0
    if args.only_conv:
        print(table(list(conv.against_torch(args.rounds, round_times))))
        return 0
    if args.only_throughput:
        rows += list(throughput(args.throughput))
        print(table(rows))
        return 0
    for measure in (against_plain, backward_cost, against_autograd, jax_modes, fd_oracle):
        for row in measure(20 if measure is jax_modes else args.rounds):
            rows.append(row)
            print(f"{row.measure}: {row.figure}", file=sys.stderr, flush=True)
    for row in itertools.chain(
        checker_runs(), isolation_overhead(), conv.against_torch(args.rounds, round_times)
    ):
        rows.append(row)
        print(f"{row.measure}: {row.figure}", file=sys.stderr, flush=True)
    if not args.skip_gate:
        for row in default_gate():
            rows.append(row)
            print(f"{row.measure}: {row.figure}", file=sys.stderr, flush=True)
    if args.throughput:
        for row in throughput(args.throughput):
            rows.append(row)
            print(f"{row.measure}: {row.figure}", file=sys.stderr, flush=True)
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
