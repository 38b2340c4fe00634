"""Independent sources of the reference's quantities, all behind one contract.

An oracle is a pure function ``gradients(arch, params, batch) -> reference.Gradients`` computing
every δ^l (one column per sample, δ^{x,l} = ∂C_x/∂z^{x,l}), ∂C/∂b^l and ∂C/∂w^l (C the batch mean
cost) without the reference's backward code. Registering one is one line in :data:`ORACLES`;
modules import lazily, so torch and jax load only when their oracle runs.

An oracle that knows elements it cannot judge (finite differences across a relu kink) also names a
``detailed`` function returning an :class:`Output`: its gradients and masks of those elements; so
does one that judges a sample of a quantity's elements only (the perturbation oracles on a map
net over their budget, :func:`errormodel.layer_terms.map_sample`): the mask of those judged.
An oracle that cannot judge a whole net (the complex step on a relu net) raises
:class:`NotApplicable`; the gate records that as its own status and counts it, never as a pass.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reference import Architecture, Batch, Gradients, Params
from reference.layers import Conv, MaxPool
from reference.types import Mask

OracleFn = Callable[[Architecture, Params, Batch], Gradients]
T = TypeVar("T")


def layer_ops(table: Mapping[type, T], arch: Architecture, oracle: str) -> list[T]:
    """Each layer's entry in an oracle's one table of layer types (``{Dense: entry}``), in order;
    a KeyError naming the oracle and the type if the table lacks one."""
    ops = []
    for layer in arch.layers:
        if type(layer) not in table:
            raise KeyError(f"{oracle} oracle has no op for layer type {type(layer).__name__}")
        ops.append(table[type(layer)])
    return ops


def bound_ops(
    table: Mapping[type, Callable[..., Any]], arch: Architecture, oracle: str
) -> list[Callable[..., Any]]:
    """:func:`layer_ops` of a table of functions ``fn(layer, w, b, a)``, each bound to its layer
    (its stride, padding, window): ``op(w, b, a)``."""
    return [
        functools.partial(op, layer)
        for op, layer in zip(layer_ops(table, arch, oracle), arch.layers, strict=True)
    ]


def dense_only(arch: Architecture, oracle: str) -> None:
    """Raise :class:`NotApplicable` if ``arch`` has a map layer (a convolution, a pool): for an
    oracle whose perturbations are still written for dense layers only (a layer type no one
    knows is left to the oracle's table, whose KeyError names it)."""
    maps = sorted({type(layer).__name__ for layer in arch.layers if type(layer) in (Conv, MaxPool)})
    if maps:
        raise NotApplicable(f"{oracle} judges dense layers only so far, not {', '.join(maps)}")


class NotApplicable(Exception):
    """The oracle cannot judge this net at all (the message says why): counted, never passed."""


@dataclass(frozen=True)
class Output:
    """An oracle's gradients and, per (quantity, layer), a mask of the elements it cannot judge
    and, where it judged a sample only, a mask of the sample (the other elements are NaN)."""

    gradients: Gradients
    excluded: Mapping[tuple[str, int], Mask] = field(default_factory=dict)
    judged: Mapping[tuple[str, int], Mask] = field(default_factory=dict)

    def mask(self, quantity: str, layer: int) -> Mask | None:
        """The excluded elements of one quantity of one layer, or None if none are."""
        return self.excluded.get((quantity, layer))

    def sample(self, quantity: str, layer: int) -> Mask | None:
        """The elements judged of one quantity of one layer, or None if all are."""
        return self.judged.get((quantity, layer))


@dataclass(frozen=True)
class Oracle:
    """``target`` is "module:function"; ``kind`` picks the error model in errormodel.tolerances."""

    name: str
    target: str
    kind: str  # "autograd", "finite_difference" or "complex_step"
    detailed: str = ""  # "module:function" with the same arguments returning an Output
    #: The numerical oracles' step h (0 for autograd), which their error model is given.
    step: float = 0.0

    def load(self) -> OracleFn:
        oracle: OracleFn = _resolve(self.target)
        return oracle

    def run(self, arch: Architecture, params: Params, batch: Batch) -> Output:
        """The oracle's gradients with the elements it cannot judge (none without ``detailed``)."""
        if self.detailed:
            output: Output = _resolve(self.detailed)(arch, params, batch)
            return output
        return Output(self.load()(arch, params, batch))


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


ORACLES: dict[str, Oracle] = {
    o.name: o
    for o in (
        Oracle("torch", "oracles.torch_autograd:gradients", "autograd"),
        Oracle("jax", "oracles.jax_grad:gradients", "autograd"),
        Oracle(
            "fd",
            "oracles.finite_diff:gradients",
            "finite_difference",
            detailed="oracles.finite_diff:differences",
            step=2.0**-17,  # ≈ ε^{1/3}: oracles/finite_diff.py derives it
        ),
        # 2^-70: h² and η/h both far below any rounding (oracles/complex_step.py)
        Oracle(
            "complex_step",
            "oracles.complex_step:gradients",
            "complex_step",
            detailed="oracles.complex_step:detailed",
            step=2.0**-70,
        ),
        Oracle(
            "forward_mode",
            "oracles.forward_mode:gradients",
            "autograd",
            detailed="oracles.forward_mode:detailed",
        ),
    )
}


def get_oracle(name: str) -> Oracle:
    """The oracle registered under ``name``."""
    if name not in ORACLES:
        raise KeyError(f"unknown oracle {name!r}; known: {sorted(ORACLES)}")
    return ORACLES[name]
