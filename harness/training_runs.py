"""Whole training runs, step by step: the reference's SGD, its per-sample form, torch.optim.SGD
and optax, from the same parameters in the same mini-batch order.

The parameters after each step form a run's trajectory (index t: after t steps, 0 the start).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.training_cases import TrainingCase
from oracles.trainers import TRAINERS, Order, TrainerFn, get_trainer
from reference import (
    Architecture,
    Gradients,
    Params,
    Step,
    forward_backward,
    update_mini_batch,
    update_mini_batch_per_sample,
)
from reference.forward import Forward
from reference.sgd import Update, apply_gradients, sgd_steps
from reference.types import Array

REFERENCE = "reference"
PER_SAMPLE = "per_sample"
#: Everything compared with the float64 reference: network.py's per-sample form and the oracles.
COMPARED = (PER_SAMPLE, *TRAINERS)
DTYPES = {"float64": np.float64, "float32": np.float32}


def reference_trainer(update: Update) -> TrainerFn:
    """The reference's SGD as a trainer, with either form of ``update_mini_batch``."""

    def trajectory(
        arch: Architecture, params: Params, x: Array, y: Array, order: Order, step: Step
    ) -> list[Params]:
        return list(sgd_steps(arch, params, x, y, order, step, update))

    return trajectory


def trainer(name: str) -> TrainerFn:
    """The reference (matrix form), its network.py per-sample form, or a registered oracle."""
    if name == REFERENCE:
        return reference_trainer(update_mini_batch)
    if name == PER_SAMPLE:
        return reference_trainer(update_mini_batch_per_sample)
    return get_trainer(name).load()


def run(case: TrainingCase, name: str, dtype: Any = np.float64) -> list[Params]:
    """The trajectory θ_0, θ_1, …, θ_k of one trainer, in ``dtype`` from start to end."""
    data = case.data()
    start = case.initial_params().astype(dtype)
    x, y = data.x.astype(dtype), data.y.astype(dtype)
    return [start, *trainer(name)(case.arch, start, x, y, case.order(), case.step())]


@dataclass(frozen=True)
class ReferencePath:
    """The float64 reference's run and what each of its steps computed."""

    #: θ_0, θ_1, …, θ_k.
    trajectory: list[Params]
    #: Step t's forward pass and gradients at (θ_{t−1}, mini-batch t), index t − 1: the error
    #: model's running bound of that step reads them (harness.drift_model).
    computed: list[tuple[Forward, Gradients]]


@functools.lru_cache(maxsize=3)
def reference_path(case: TrainingCase) -> ReferencePath:
    """The float64 reference's run (:func:`run`'s, the same steps: ``update_mini_batch`` is
    apply_gradients of backprop, forward_backward's gradients), keeping each step's forward
    pass and gradients (memoised; a 650-step digits run holds about 20 MB of them)."""
    computed: list[tuple[Forward, Gradients]] = []

    def update(arch: Architecture, params: Params, x: Array, y: Array, step: Step) -> Params:
        computed.append(forward_backward(arch, params, x, y))
        return apply_gradients(params, computed[-1][1], step)

    data = case.data()
    start = case.initial_params().astype(np.float64)
    x, y = data.x.astype(np.float64), data.y.astype(np.float64)
    steps = reference_trainer(update)(case.arch, start, x, y, case.order(), case.step())
    return ReferencePath([start, *steps], computed)


@functools.lru_cache(maxsize=8)
def reference_run(case: TrainingCase) -> list[Params]:
    """The float64 reference's trajectory, the yardstick of every other run (memoised)."""
    return reference_path(case).trajectory


# --- Parameters as one vector ------------------------------------------------------------------


def flatten(params: Params) -> Array:
    """Every weight, then every bias, as one float64 vector."""
    return np.concatenate([np.ravel(p).astype(np.float64) for p in params.weights + params.biases])


def unflatten(vector: Array, like: Params) -> Params:
    """The inverse of :func:`flatten`, shaped like ``like``."""
    parts, start = [], 0
    for p in like.weights + like.biases:
        parts.append(vector[start : start + p.size].reshape(p.shape))
        start += p.size
    n = len(like.weights)
    return Params(tuple(parts[:n]), tuple(parts[n:]))
