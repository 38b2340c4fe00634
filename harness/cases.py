"""A gate case: an architecture's seeded parameters and batch, and every producer's gradients.

Memoised per process, so the comparisons of one (architecture, oracle) share one computation;
an architecture's comparisons are the subtests of one test, so under pytest-xdist they run on one
worker.

The reference runs in the case's dtype (float64, or float32 for the float32 gate) under
``np.errstate`` that turns overflow, invalid operations and division by zero into errors: a case
whose reference breaks is reported as such, never compared. The oracles always run in float64 on
the same parameter values (a float32 case's values are exact in float64).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from errormodel.compare import Comparison, compare, compare_to_truth
from errormodel.pool_ties import PoolTies, count_pool_ties
from errormodel.rounding import ErrorScales, error_scales
from errormodel.tolerances import allowed_error, exact_allowed
from oracles import NotApplicable, Output, get_oracle
from reference import (
    Architecture,
    ArchitectureError,
    Batch,
    Gradients,
    Params,
    forward_backward,
    make_case,
)
from reference.forward import Forward
from reference.layers import MaxPool
from reference.types import Mask


class OracleFailure(RuntimeError):
    """An oracle crashed or returned something other than the gradients asked for."""


class ReferenceFailure(RuntimeError):
    """The reference overflowed, divided by zero or produced NaN on a well-formed case."""


#: Floating-point events that must not pass silently inside the reference (underflow may: a
#: saturated σ' that underflows to 0 is the right answer, and the tolerances' absolute part
#: covers what underflow loses).
REFERENCE_ERRSTATE = {"over": "raise", "invalid": "raise", "divide": "raise", "under": "ignore"}


@dataclass(frozen=True)
class Case:
    """Everything the comparisons of one architecture need."""

    arch: Architecture
    params: Params
    batch: Batch
    reference: Gradients
    scales: ErrorScales  # the error model's scales for this case (errormodel.rounding)
    dtype: Any
    #: Per max-pool layer l: its windows tied or within rounding of a tie (errormodel.pool_ties)
    pool_ties: dict[int, PoolTies] = field(default_factory=dict)


@functools.lru_cache(maxsize=8)
def build_case(arch: Architecture, dtype: Any = np.float64) -> Case:
    """The reference's side of a case: its parameters, batch, gradients and error scales.

    Args:
        arch: the case's record (curated, tails or random).
        dtype: the reference's floating type (the oracles run in float64).

    Returns:
        The Case every oracle of the gate is compared against.

    Raises ArchitectureError for a malformed record and ReferenceFailure, naming the case in one
    line, if the reference's arithmetic breaks.
    """
    arch.check()
    with np.errstate(**REFERENCE_ERRSTATE):  # type: ignore[arg-type]
        try:
            params, batch = make_case(arch, dtype)
        except FloatingPointError as exc:
            raise ReferenceFailure(
                f"{arch.id}: drawing the case in {np.dtype(dtype).name} failed, so nothing is "
                f"compared: {type(exc).__name__}: {exc}"
            ) from exc
    return assemble_case(arch, params, batch, dtype)


def assemble_case(arch: Architecture, params: Params, batch: Batch, dtype: Any) -> Case:
    """A case from given parameters and batch (in ``dtype``): the reference's gradients under
    :data:`REFERENCE_ERRSTATE` and the error model's scales, from the same forward pass."""
    with np.errstate(**REFERENCE_ERRSTATE):  # type: ignore[arg-type]
        try:
            computed = forward_backward(arch, params, batch.x, batch.y)
        except (FloatingPointError, ValueError) as exc:
            raise ReferenceFailure(
                f"{arch.id}: the reference in {np.dtype(dtype).name} failed, so nothing is "
                f"compared: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            scales = error_scales(
                arch, params, batch, dtype, get_oracle("fd").step, computed=computed
            )
        except FloatingPointError as exc:
            raise ReferenceFailure(
                f"{arch.id}: the error model overflowed, so nothing is compared: {exc}"
            ) from exc
    return Case(arch, params, batch, computed[1], scales, dtype, pool_ties(arch, computed, scales))


def pool_ties(
    arch: Architecture, computed: tuple[Forward, Gradients], scales: ErrorScales
) -> dict[int, PoolTies]:
    """Per max-pool layer l, the ties and near ties of its windows of the reference's own
    a^{l−1} (in the case's dtype), near within ε·α^{l−1} of the error model."""
    found: dict[int, PoolTies] = {}
    for layer, alpha in scales.pool_input_rounding.items():
        pool = arch.layers[layer - 2]
        assert isinstance(pool, MaxPool)
        a_prev = computed[0].activations[layer - 2]
        eps = float(np.finfo(a_prev.dtype).eps)
        found[layer] = count_pool_ties(a_prev, alpha, pool.window, pool.step, eps)
    return found


def pool_tie_fields(
    arch: Architecture, quantity: str, layer: int, dtype: Any, rec: dict[str, Any]
) -> dict[str, int]:
    """What a results record of δ^l of a max-pool adds (a comparison, the truth's or not
    applicable): its windows' ``ties`` and ``near_ties`` (:attr:`Case.pool_ties`); nothing for
    any other record, an error, or a case that cannot be built."""
    if quantity != "delta" or rec["kind"] == "error":
        return {}
    try:
        found = build_case(arch, dtype).pool_ties.get(layer)
    except (ArchitectureError, ReferenceFailure):  # no case: nothing to count
        return {}
    return {} if found is None else {"ties": found.ties, "near_ties": found.near_ties}


def oracle_gradients(arch: Architecture, oracle: str, dtype: Any = np.float64) -> Gradients:
    """The oracle's gradients for the case; OracleFailure names the case if it breaks."""
    return oracle_output(arch, oracle, dtype).gradients


@functools.lru_cache(maxsize=32)
def oracle_output(arch: Architecture, oracle: str, dtype: Any = np.float64) -> Output:
    """The oracle's gradients and the elements it cannot judge; OracleFailure names the case."""
    case = build_case(arch, dtype)
    params, batch = (
        case.params.astype(np.float64),
        Batch(case.batch.x.astype(np.float64), case.batch.y.astype(np.float64)),
    )
    try:
        output = get_oracle(oracle).run(arch, params, batch)
    except NotApplicable:  # the oracle cannot judge this net: the gate records and counts it
        raise
    except Exception as exc:  # an oracle's crash is an answer about this case, not the run's end
        raise OracleFailure(
            f"{arch.id}: oracle {oracle} raised {type(exc).__name__}: {exc}"
        ) from exc
    grads = output.gradients if isinstance(output, Output) else output
    if not isinstance(grads, Gradients):
        raise OracleFailure(
            f"{arch.id}: oracle {oracle} returned {type(grads).__name__}, not Gradients"
        )
    wrong = grads.shapes_match(arch.layers, arch.batch)
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
    judged: Mask | None = None,
) -> Comparison:
    """Compare one quantity of one layer of ``theirs`` with the reference, with its tolerance.

    Elements in ``exclude`` (those the oracle cannot judge) are left out and counted. The
    error model's rounding bounds are per layer and cover the excluded elements too. Given
    ``judged`` (the oracle judged a sample), only those elements are compared, and counted.
    """
    ours, other = case.reference.get(quantity, layer), theirs.get(quantity, layer)
    judge = get_oracle(oracle)
    allowed = allowed_error(judge.kind, case.scales, quantity, layer, case.dtype, judge.step)
    return compare(
        ours,
        other,
        allowed,
        quantity=quantity,
        layer=layer,
        oracle=oracle,
        exclude=exclude,
        judged=judged,
    )


def compare_all(case: Case, theirs: Gradients | Output, oracle: str) -> list[Comparison]:
    """Every quantity of every layer; given an oracle's Output, its excluded elements stay out
    (and, where it judged a sample, only the sample is compared)."""
    output = theirs if isinstance(theirs, Output) else Output(theirs)
    return [
        compare_one(
            case, output.gradients, oracle, q, layer, output.mask(q, layer), output.sample(q, layer)
        )
        for q, layer, _ in case.reference.items()
    ]


#: The judge's name in comparison ids: ``{arch}-exact-…`` is the reference against the truth,
#: ``{arch}-{oracle}~exact-…`` an oracle against it (harness.gate_ids).
TRUTH = "exact"


class TruthFailure(RuntimeError):
    """The ground truth could not certify the case (oracles.exact.NotCertified) or crashed."""


def truth_judge_id(oracle: str | None) -> str:
    """The oracle part of a truth comparison's id: "exact" (the reference) or "torch~exact"."""
    return TRUTH if oracle is None else f"{oracle}~{TRUTH}"


def truth_of(arch: Architecture, dtype: Any = np.float64) -> Any:
    """The case's exact gradients and Σ|terms| (oracles.exact.Truth), once per architecture;
    NotApplicable (a pool window tied, or within rounding in ``dtype``: a kink) as the oracles'
    is, counted, and also once."""
    found = _truth_or_decline(arch, dtype)
    if isinstance(found, NotApplicable):
        raise NotApplicable(str(found))
    return found


@functools.lru_cache(maxsize=8)
def _truth_or_decline(arch: Architecture, dtype: Any) -> Any:
    from oracles.exact import truth

    case = build_case(arch, dtype)
    params = case.params.astype(np.float64)
    batch = Batch(case.batch.x.astype(np.float64), case.batch.y.astype(np.float64))
    try:
        return truth(arch, params, batch, dtype=dtype)
    except NotApplicable as exc:
        return exc
    except Exception as exc:  # NotCertified included: an answer about this case
        raise TruthFailure(
            f"{arch.id}: the ground truth raised {type(exc).__name__}: {exc}"
        ) from exc


def compare_to_exact(
    case: Case,
    theirs: Gradients | None,
    oracle: str | None,
    quantity: str,
    layer: int,
    exclude: Mask | None = None,
    judged: Mask | None = None,
) -> Comparison:
    """One quantity of one layer of the reference (``oracle`` None) or of an oracle's gradients
    ``theirs`` against the ground truth, each element by its own bound (truth_allowed); given
    ``judged`` (the oracle judged a sample), those elements only."""
    exact = truth_of(case.arch, case.dtype)
    true, terms = exact.get(quantity, layer)
    if oracle is None:
        kind, step, value = "reference", 0.0, case.reference.get(quantity, layer)
    else:
        assert theirs is not None
        judge = get_oracle(oracle)
        kind, step, value = judge.kind, judge.step, theirs.get(quantity, layer)
    allowed = exact_allowed(kind, true, terms, case.scales, quantity, layer, case.dtype, step)
    return compare_to_truth(
        value,
        true,
        allowed,
        quantity=quantity,
        layer=layer,
        oracle=truth_judge_id(oracle),
        exclude=exclude,
        judged=judged,
    )
