"""The checker stays fair in the tails (issue 21, item 7).

On the tails family (:func:`checker.architectures.tail_architectures`: |z| = 20…745 in sigmoid
layers, saturated outputs, y ∈ {0, 1}) the book's σ(z)(1 − σ(z)) and a − y lose their digits,
while the reference is accurate (tests/test_accuracy.py). A learner that writes the book's
formulas is right by the book and must pass: the error model's bound carries what those formulas
lose. A learner with a real BP1–BP4 (or SGD) bug must still fail there, with its label.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from checker.architectures import TailArchitecture, case_data, tail_architectures
from checker.diagnosis import diagnose_sample
from checker.mutants import CORRECT, list_mutants
from checker.mutants.book_network import Network
from checker.mutants.book_network2 import CrossEntropyCost, Network2, QuadraticCost
from checker.run import TAILS_COST_NOTE, Options, check_spec
from reference import backprop
from reference.forward import feedforward

MATRIX_NETWORK = str(Path(__file__).parent / "data" / "matrix_network.py") + ":MatrixNetwork"
COSTS = ("quadratic", "cross_entropy", "log_likelihood")
TAILS = tail_architectures(COSTS)


def test_the_tails_reach_the_range_saturate_and_are_confident_right_and_wrong():
    zs, hits = [], {"right": 0, "wrong": 0}
    for arch in TAILS:
        params, batch = case_data(arch)
        fwd = feedforward(params, arch.sigmas, batch.x)
        sigmoid_layers = [
            z for z, s in zip(fwd.zs, arch.sigmas, strict=True) if s.name == "sigmoid"
        ]
        zs.append(np.concatenate([np.abs(z).ravel() for z in sigmoid_layers]))
        assert set(np.unique(batch.y)) <= {0.0, 1.0}, arch.id
        a, y = fwd.activations[-1], batch.y
        saturated = (a < 1e-12) | (a > 1 - 1e-12)
        hits["right"] += int(np.sum(saturated & (np.round(a) == y)))
        hits["wrong"] += int(np.sum(saturated & (np.round(a) != y)))
    z = np.concatenate(zs)
    for low, high in ((20, 37.43), (37.43, 100), (100, 400), (400, 700), (700, 746)):
        assert np.any((z >= low) & (z < high)), f"no sigmoid |z| in [{low}, {high})"
    assert hits["right"] >= 10 and hits["wrong"] >= 10, hits


def _book_gradients(arch, params, x, y):
    cost = {"quadratic": QuadraticCost, "cross_entropy": CrossEntropyCost}[arch.cost]
    net = Network(arch.sizes) if arch.cost == "quadratic" else Network2(arch.sizes, cost=cost)
    net.weights, net.biases = [w.copy() for w in params.weights], [b.copy() for b in params.biases]
    with np.errstate(all="ignore"):  # the book's σ overflows for z < −709.78, as it may
        return net.backprop(x, y)


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy"])
def test_the_books_formulas_lose_digits_there_and_the_bound_carries_it(cost):
    """In process: the book's gradients differ from the accurate reference in their leading
    digits (σ' or a − y rounded to 0), and diagnose_sample still finds nothing wrong."""
    lost = 0
    for arch in tail_architectures((cost,)):
        params, batch = case_data(arch)
        one = dataclasses.replace(arch, batch=1)
        for s in range(arch.batch):
            x, y = batch.x[:, s : s + 1], batch.y[:, s : s + 1]
            nabla_b, nabla_w = _book_gradients(arch, params, x, y)
            assert diagnose_sample(one, params, x, y, nabla_b, nabla_w) is None, (arch.id, s)
            ref = backprop(one, params, x, y)
            for got, want in zip(nabla_b, ref.nabla_b, strict=True):
                lost += int(np.sum(np.abs(got - want) > 1e-3 * np.abs(want)))
    assert lost >= 10, f"only {lost} elements where the book's formulas lose digits"


@pytest.mark.parametrize(
    "spec",
    [m.spec for m in CORRECT] + [MATRIX_NETWORK],
    ids=lambda s: s.rsplit(":", 1)[-1],
)
def test_a_book_style_learner_passes_the_tails(spec):
    verdict = check_spec(spec, 0, 0, Options(tails=True))
    assert verdict.passed, verdict.line()
    assert all(isinstance(c.arch, TailArchitecture) for c in verdict.cases)
    assert len(verdict.cases) >= 9
    if "Network2" in spec or "Matrix" in spec:  # the classes with total_cost
        assert TAILS_COST_NOTE in verdict.line()


@pytest.mark.parametrize(
    "mutant",
    [m for m in list_mutants() if m.expected in ("BP1", "BP2", "BP3", "BP4", "SGD")],
    ids=lambda m: f"{m.name}-{m.expected}",
)
def test_a_real_bug_still_fails_on_the_tails_with_its_label(mutant):
    verdict = check_spec(mutant.spec, 0, 0, Options(tails=True), name=mutant.name)
    assert verdict.label == mutant.expected, verdict.line()
    assert verdict.failures and all(c.arch.id.endswith("_tails") for c in verdict.cases)
