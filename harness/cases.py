"""A gate case: an architecture's seeded parameters and batch, and every producer's gradients.

Memoised per process, so the comparisons of one (architecture, oracle) share one computation;
under pytest-xdist each architecture's tests go to one worker (``xdist_group``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.compare import Comparison, compare, scale
from harness.tolerances import allowed_error
from oracles import Mask, Output, get_oracle
from reference import Architecture, Batch, Gradients, Params, backprop, make_case
from reference.forward import feedforward


class OracleFailure(RuntimeError):
    """An oracle crashed or returned something other than the gradients asked for."""


@dataclass(frozen=True)
class Case:
    """Everything the comparisons of one architecture need."""

    arch: Architecture
    params: Params
    batch: Batch
    reference: Gradients
    cost_scale: float  # Ĉ = max_x |C_x|
    dtype: Any


@functools.lru_cache(maxsize=8)
def build_case(arch: Architecture, dtype: Any = np.float64) -> Case:
    """The reference's side of a case; raises ArchitectureError for a malformed record."""
    arch.check()
    params, batch = make_case(arch, dtype)
    return assemble_case(arch, params, batch, dtype)


def assemble_case(arch: Architecture, params: Params, batch: Batch, dtype: Any) -> Case:
    """A case from given parameters and batch: the reference's gradients and Ĉ."""
    fwd = feedforward(params, arch.layer_activations, batch.x)
    per_sample = arch.cost_fn.fn(fwd.activations[-1], batch.y)
    return Case(
        arch,
        params,
        batch,
        backprop(arch, params, batch.x, batch.y),
        float(np.abs(per_sample).max()),
        dtype,
    )


def oracle_gradients(arch: Architecture, oracle: str, dtype: Any = np.float64) -> Gradients:
    """The oracle's gradients for the case; OracleFailure names the case if it breaks."""
    return oracle_output(arch, oracle, dtype).gradients


@functools.lru_cache(maxsize=32)
def oracle_output(arch: Architecture, oracle: str, dtype: Any = np.float64) -> Output:
    """The oracle's gradients and the elements it cannot judge; OracleFailure names the case."""
    case = build_case(arch, dtype)
    try:
        output = get_oracle(oracle).run(arch, case.params, case.batch)
    except Exception as exc:  # an oracle's crash is an answer about this case, not the run's end
        raise OracleFailure(
            f"{arch.id}: oracle {oracle} raised {type(exc).__name__}: {exc}"
        ) from exc
    grads = output.gradients if isinstance(output, Output) else output
    if not isinstance(grads, Gradients):
        raise OracleFailure(
            f"{arch.id}: oracle {oracle} returned {type(grads).__name__}, not Gradients"
        )
    wrong = grads.shapes_match(arch.sizes, arch.batch)
    if wrong:
        raise OracleFailure(f"{arch.id}: oracle {oracle}: " + "; ".join(wrong))
    return output if isinstance(output, Output) else Output(grads)


def compare_one(
    case: Case,
    theirs: Gradients,
    oracle: str,
    quantity: str,
    layer: int,
    exclude: Mask | None = None,
) -> Comparison:
    """Compare one quantity of one layer of ``theirs`` with the reference, with its tolerance.

    Elements in ``exclude`` (those the oracle cannot judge) are left out and counted; the scale S
    of the tolerance comes from the elements compared.
    """
    ours, other = case.reference.get(quantity, layer), theirs.get(quantity, layer)
    kept = np.ones(ours.shape, dtype=bool) if exclude is None else ~exclude
    allowed = allowed_error(
        oracle, case.arch, layer, scale(ours[kept], other[kept]), case.cost_scale, case.dtype
    )
    return compare(
        ours, other, allowed, quantity=quantity, layer=layer, oracle=oracle, exclude=exclude
    )


def compare_all(case: Case, theirs: Gradients, oracle: str) -> list[Comparison]:
    """Every quantity of every layer."""
    return [compare_one(case, theirs, oracle, q, layer) for q, layer, _ in case.reference.items()]
