"""The cases an implementation is checked on: the gate's architectures, every layer sigmoid
(with the log-likelihood cost, every hidden layer: the output is its softmax).

network.py has only sigmoid neurons, so each curated and seeded random architecture of
:mod:`harness.architectures` is reused with its sizes, batch, seed and initialisation and its
activations forced to sigmoid, once per cost the implementation offers. Weight and input scales
are reset to 1: the gate's deliberately saturated cases (weights ×30, inputs ×1e8) test the
harness's error model, not a learner's backprop, whose book-style σ and cost overflow there by
design. This is the one place that list is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from harness.architectures import CURATED, random_architectures
from reference import Architecture
from reference.costs import COSTS

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
