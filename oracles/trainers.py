"""Independent implementations of whole training runs, all behind one contract.

A training oracle is a pure function

    trajectory(arch, params, x, y, order, step) -> list[reference.Params]

that starts from ``params``, takes one mini-batch SGD step per entry of ``order`` (an array of
sample indices into the columns of x and y) with the book's update (network2.py)

    w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w,    b ← b − (η/m) Σ_x ∂C_x/∂b,

(η, λ, n from ``step``, a :class:`reference.Step`) and returns the parameters after every step,
in the parameters' dtype. Oracles build their own network and gradient (never the reference's
backward code). Registering one is one line in :data:`TRAINERS`; modules import lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference import Architecture, Params, Step
from reference.sgd import check_run as reference_check_run
from reference.types import Array

Order = Sequence[np.ndarray[Any, Any]]
TrainerFn = Callable[[Architecture, Params, Array, Array, Order, Step], list[Params]]


@dataclass(frozen=True)
class Trainer:
    """``target`` is "module:function", a :data:`TrainerFn`."""

    name: str
    target: str

    def load(self) -> TrainerFn:
        module, _, fn = self.target.partition(":")
        trainer: TrainerFn = getattr(importlib.import_module(module), fn)
        return trainer


TRAINERS: dict[str, Trainer] = {
    t.name: t
    for t in (
        Trainer("torch", "oracles.torch_sgd:trajectory"),
        Trainer("jax", "oracles.jax_sgd:trajectory"),
    )
}


def get_trainer(name: str) -> Trainer:
    """The training oracle registered under ``name``."""
    if name not in TRAINERS:
        raise KeyError(f"unknown training oracle {name!r}; known: {sorted(TRAINERS)}")
    return TRAINERS[name]


def check_run(
    arch: Architecture, params: Params, x: Array, y: Array, order: Order, step: object
) -> None:
    """Raise, one line naming the case, unless the run is well formed (reference.sgd.check_run).

    Every oracle calls this first, so bad input fails the same way everywhere.
    """
    if not isinstance(step, Step):
        raise TypeError(f"{arch.id}: step must be a reference.Step, got {type(step).__name__}")
    reference_check_run(arch, params, x, y, order)
