"""The cases an implementation is checked on: the gate's architectures, every layer sigmoid
(with the log-likelihood cost, every hidden layer: the output is its softmax).

network.py has only sigmoid neurons, so each curated and seeded random architecture of
:mod:`suite.architectures` is reused with its sizes, batch, seed and initialisation and its
activations forced to sigmoid, once per cost the implementation offers. Weight and input scales
are reset to 1: the gate's deliberately saturated cases (weights ×30, inputs ×1e8) test the
harness's error model, not a learner's backprop, whose book-style σ and cost overflow there by
design. This is the one place that list is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from reference import Architecture, Batch, Params, make_case
from reference.costs import COSTS
from suite.architectures import CURATED, random_architectures

#: As many random architectures as the gate's ``--random-count`` default.
RANDOM_COUNT = 60


def sigmoid_architectures(
    random_count: int = RANDOM_COUNT, seed: int = 0, costs: Sequence[str] = ("quadratic",)
) -> list[Architecture]:
    """Curated then random architectures, sigmoid (softmax output for the log-likelihood), one
    per cost; malformed entries dropped
    (the gate reports them), duplicates kept once."""
    cases: dict[Architecture, None] = {}
    for arch in CURATED + random_architectures(random_count, seed):
        for cost in costs:
            case = dataclasses.replace(
                arch,
                activations=_activations(arch.depth, cost),
                cost=cost,
                weight_scale=1.0,
                input_scale=1.0,
            )
            if not case.problems():
                cases[case] = None
    return list(cases)


def _activations(depth: int, cost: str) -> str | tuple[str, ...]:
    """Sigmoid everywhere; the log-likelihood's softmax output layer after sigmoid hidden ones."""
    need = COSTS[cost].requires_output if cost in COSTS else None
    if need is None or need == "sigmoid":
        return "sigmoid"
    return ("sigmoid",) * (depth - 2) + (need,)


class TailArchitecture(Architecture):
    """A tails case: seeded and scaled like any architecture, its targets rounded to y ∈ {0, 1}
    (:func:`case_data`; the log-likelihood's are one-hot already)."""

    @property
    def id(self) -> str:
        return f"{super().id}_tails"

    def __repr__(self) -> str:
        return f"Tail{super().__repr__()}"


#: (sizes, batch, seed, weight_scale, input_scale) of the tails family, N(0, 1) weights: the first
#: layer's |z| reaches 20…700 (inputs ×3…×40), the later layers' 20…745 from saturated a ∈ {0, 1}
#: times large weights (×8…×300); two nets of square layers, where some bugs (w for wᵀ) first
#: give numbers rather than a shape error. tests/test_checker_tails.py checks what they reach.
TAILS = (
    ((3, 4, 2), 4, 1, 30.0, 3.0),
    ((4, 5, 3), 4, 1, 100.0, 1.0),
    ((2, 6, 6, 3), 4, 1, 20.0, 5.0),
    ((5, 4, 4, 2), 4, 1, 300.0, 1.0),
    ((3, 3, 1), 4, 1, 60.0, 4.0),
    ((4, 6, 2), 4, 1, 8.0, 40.0),
    ((3, 5, 5, 2), 3, 2, 40.0, 10.0),
    ((3, 3, 3), 4, 3, 100.0, 3.0),  # square layers, where w^T and w both fit
    ((4, 4, 4, 4), 4, 4, 50.0, 5.0),
    ((3, 4, 3), 4, 11, 200.0, 2.0),  # |z| in 700…745 in both layers
)


def tail_architectures(costs: Sequence[str] = ("quadratic",)) -> list[Architecture]:
    """The tails family (:data:`TAILS`), sigmoid (softmax output for the log-likelihood), once
    per cost."""
    return [
        TailArchitecture(
            sizes,
            _activations(len(sizes), cost),
            cost,
            batch=batch,
            seed=seed,
            init="normal",
            weight_scale=weight_scale,
            input_scale=input_scale,
        )
        for sizes, batch, seed, weight_scale, input_scale in TAILS
        for cost in costs
    ]


def case_data(arch: Architecture) -> tuple[Params, Batch]:
    """The case's parameters and mini-batch: ``make_case``'s, and a tails case's targets rounded
    to {0, 1}."""
    params, batch = make_case(arch)
    if isinstance(arch, TailArchitecture):
        batch = Batch(batch.x, np.round(batch.y))
    return params, batch
