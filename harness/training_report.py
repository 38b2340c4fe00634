"""The training curves as data, and their command line: every run of every case, JSON out.

A :class:`TrainingCase` is one run as a record: the book's sigmoid network (or ch. 3's, with a
softmax output) trained on scikit-learn's digits (:mod:`harness.digits`) with a cost, η, λ, a
mini-batch size, epochs and seeds. Every trainer starts from the same parameters and follows the
same mini-batch order; the parameters after each step form its trajectory (index t: after t
steps, 0 the start). The drift of a trajectory from the float64 reference is judged against
:mod:`harness.drift_model` (``allowed_drift``), which measures the model's inputs along the
reference's path.

``python -m harness.training_report --out reports/training.json`` (or ``nox -s training``) writes
every curve as data; :mod:`harness.training_plot` draws them. The JSON file's schema
(``"schema": 1``):

    {"schema": 1, "environment": {python, numpy, torch, jax, optax, sklearn, git_commit, …},
     "cases": [{
        "id": "digits_64-30-10_quadratic_eta3_lmbda0_mb10_e5",   # the TrainingCase, as data:
        "sizes", "activation", "output", "cost", "eta", "lmbda", "mini_batch_size", "epochs",
        "seed", "shuffle_seed", "n_train", "n_test", "steps", "steps_per_epoch",
        "expansion": [g_1, …, g_k],                     # the drift model's measured growth
        "allowed": {"float64": [E_0, …, E_k], "float32": [...]},   # allowed ‖Δθ_t‖₂, t = 0…k
        "runs": [{
            "trainer": "reference" | "per_sample" | "torch" | "jax",  "dtype": "float64" | …,
            "loss": [...],        # t = 0…k: training cost (network2's total_cost, L2 term
                                  #   included), evaluated in float64 on the run's parameters
            "accuracy": [...],    # t = 0…k: held-out fraction classified right (argmax)
            "drift": {            # t = 0…k, against the float64 reference's parameters θ_t:
                "max_abs": [...], #   max |Δθ| over every weight and bias
                "max_rel": [...], #   max_abs / max |θ_t|
                "l2": [...],      #   ‖Δθ‖₂, the quantity the model bounds
                "l2_rel": [...],  #   l2 / ‖θ_t‖₂
                "ratio": [...]},  #   l2 / allowed[dtype] (≤ 1 passes)
            "final": {"loss", "accuracy", "max_rel", "l2_rel", "worst_ratio"}}]}]}

Arrays are per step, index = step number. The float64 reference's own run has drift all 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.drift_metrics import drift
from harness.drift_model import allowed_drift, expansion
from harness.training_cases import CASES, LONG_CASES, TrainingCase
from harness.training_runs import COMPARED, DTYPES, REFERENCE, reference_run, run
from reference import Params, cost
from reference.forward import feedforward
from reference.types import Array

SCHEMA = 1


def training_loss(case: TrainingCase, params: Params) -> float:
    """network2's total_cost on the training set: mean C_x + (λ/2n) Σ‖w‖², in float64."""
    data, params = case.data(), params.astype(np.float64)
    l2 = sum(float(np.sum(w * w)) for w in params.weights)
    return cost(case.arch, params, data.x, data.y) + 0.5 * case.lmbda / data.n * l2


def accuracy(case: TrainingCase, params: Params) -> float:
    """The held-out fraction whose most active output neuron is the right digit."""
    data = case.data()
    out = feedforward(params.astype(np.float64), case.arch.sigmas, data.x_test)
    return float(np.mean(out.activations[-1].argmax(axis=0) == data.labels_test))


def run_record(
    case: TrainingCase, name: str, dtype_name: str, trajectory: Sequence[Params], allowed: Array
) -> dict[str, Any]:
    """One run's curves (see the module schema).

    BLAS runs on one thread for the curves: their products are small, and on a shared machine
    OpenBLAS's waiting threads made each 40× slower (31 ms against 0.7 ms for 30×64 @ 64×1300).
    """
    from threadpoolctl import threadpool_limits

    d = drift(reference_run(case), trajectory)
    with threadpool_limits(limits=1, user_api="blas"):
        loss = [training_loss(case, p) for p in trajectory]
        acc = [accuracy(case, p) for p in trajectory]
    ratio = np.divide(d.l2, allowed, out=np.where(d.l2 > 0, np.inf, 0.0), where=allowed > 0)
    return {
        "trainer": name,
        "dtype": dtype_name,
        "loss": loss,
        "accuracy": acc,
        "drift": {
            "max_abs": d.max_abs.tolist(),
            "max_rel": d.max_rel.tolist(),
            "l2": d.l2.tolist(),
            "l2_rel": d.l2_rel.tolist(),
            "ratio": ratio.tolist(),
        },
        "final": {
            "loss": loss[-1],
            "accuracy": acc[-1],
            "max_rel": float(d.max_rel[-1]),
            "l2_rel": float(d.l2_rel[-1]),
            "worst_ratio": float(ratio.max()),
        },
    }


def case_record(case: TrainingCase, dtypes: Sequence[str] = tuple(DTYPES)) -> dict[str, Any]:
    """Every run of one case, in every dtype, with the model's allowed drift."""
    allowed = {name: allowed_drift(case, DTYPES[name]) for name in dtypes}
    runs = []
    for dtype_name in dtypes:
        for name in (REFERENCE, *COMPARED):
            trajectory = (
                reference_run(case)
                if (name, dtype_name) == (REFERENCE, "float64")
                else run(case, name, DTYPES[dtype_name])
            )
            runs.append(run_record(case, name, dtype_name, trajectory, allowed[dtype_name]))
    data = case.data()
    return {
        "id": case.id,
        "sizes": list(case.sizes),
        "activation": "sigmoid",
        "output": case.output,
        "cost": case.cost,
        "eta": case.eta,
        "lmbda": case.lmbda,
        "mini_batch_size": case.mini_batch_size,
        "epochs": case.epochs,
        "seed": case.seed,
        "shuffle_seed": case.shuffle_seed,
        "n_train": data.n,
        "n_test": int(data.x_test.shape[1]),
        "steps": len(case.order()),
        "steps_per_epoch": -(-data.n // case.mini_batch_size),
        "expansion": expansion(case).tolist(),
        "allowed": {name: a.tolist() for name, a in allowed.items()},
        "runs": runs,
    }


def training_environment() -> dict[str, Any]:
    """Versions and commit (suite.results' record) plus optax and scikit-learn."""
    from suite.results import run_environment

    env = run_environment(seed=0, random_count=0)
    for key in ("random_seed", "random_count"):
        env.pop(key)
    for name in ("optax", "sklearn"):
        try:
            env[name] = __import__(name).__version__
        except ImportError:
            env[name] = None
    return env


def report(cases: Sequence[TrainingCase]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "environment": training_environment(),
        "cases": [case_record(c) for c in cases],
    }


def summary(data: dict[str, Any]) -> str:
    """One line per run: final loss, accuracy, drift and the worst drift/allowed."""
    lines = [
        f"{'case':<46} {'trainer':<10} {'dtype':<8} {'loss':>8} {'acc':>6} "
        f"{'max_rel':>9} {'l2_rel':>9} {'worst/allowed':>13}"
    ]
    for case in data["cases"]:
        for r in case["runs"]:
            f = r["final"]
            lines.append(
                f"{case['id']:<46} {r['trainer']:<10} {r['dtype']:<8} {f['loss']:>8.4f} "
                f"{f['accuracy']:>6.3f} {f['max_rel']:>9.2e} {f['l2_rel']:>9.2e} "
                f"{f['worst_ratio']:>13.3g}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/training.json"))
    parser.add_argument("--long", action="store_true", help="30-epoch runs instead of 5")
    args = parser.parse_args(argv)
    data = report(LONG_CASES if args.long else CASES)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(summary(data))
    print(f"wrote {args.out}")
    worst = max(r["final"]["worst_ratio"] for c in data["cases"] for r in c["runs"])
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
