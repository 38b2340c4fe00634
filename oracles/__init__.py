"""Independent sources of the reference's quantities, all behind one contract.

An oracle is a pure function ``gradients(arch, params, batch) -> reference.Gradients`` computing
every δ^l (one column per sample, δ^{x,l} = ∂C_x/∂z^{x,l}), ∂C/∂b^l and ∂C/∂w^l (C the batch mean
cost) without the reference's backward code. Registering one is one line in :data:`ORACLES`;
modules import lazily, so torch and jax load only when their oracle runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from reference import Architecture, Batch, Gradients, Params

OracleFn = Callable[[Architecture, Params, Batch], Gradients]


@dataclass(frozen=True)
class Oracle:
    """``target`` is "module:function"; ``kind`` picks the error model in harness.tolerances."""

    name: str
    target: str
    kind: str  # "autograd" or "finite_difference"

    def load(self) -> OracleFn:
        module, _, fn = self.target.partition(":")
        oracle: OracleFn = getattr(importlib.import_module(module), fn)
        return oracle


ORACLES: dict[str, Oracle] = {
    o.name: o
    for o in (
        Oracle("torch", "oracles.torch_autograd:gradients", "autograd"),
        Oracle("jax", "oracles.jax_grad:gradients", "autograd"),
        Oracle("fd", "oracles.finite_diff:gradients", "finite_difference"),
    )
}


def get_oracle(name: str) -> Oracle:
    """The oracle registered under ``name``."""
    if name not in ORACLES:
        raise KeyError(f"unknown oracle {name!r}; known: {sorted(ORACLES)}")
    return ORACLES[name]
