"""One comparison: a reference array against an oracle's, judged normwise by an allowed error;
or any array against the ground truth, each element by its own allowed error
(:func:`compare_to_truth`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from reference.types import Array, Mask


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one quantity of one layer; ``ratio`` = max_abs / allowed."""

    quantity: str
    layer: int
    oracle: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float  # max_abs / S, S the larger of the two arrays' largest magnitudes
    worst_index: tuple[int, ...]
    allowed: float
    problem: str = ""  # a shape mismatch or non-finite values, in words
    scale: float = 0.0  # S, the larger of the two arrays' largest magnitudes
    excluded: int = 0  # elements the oracle could not judge (FD across a kink), left out, counted
    #: Elements judged when the oracle judged a seeded sample only (a map net over its budget of
    #: perturbations); 0: every element of the shape was.
    judged: int = 0
    #: Judged by the truth: the worst element (largest error/allowed) as index, value, truth,
    #: ulps (|value − truth| in units of the truth's ulp) and allowed; None for normwise ones.
    worst: dict[str, Any] | None = None

    @property
    def ratio(self) -> float:
        if self.problem:
            return float("inf")
        if self.allowed > 0:
            return self.max_abs / self.allowed
        return 0.0 if self.max_abs == 0 else float("inf")

    @property
    def resolution(self) -> float:
        """allowed / S: the smallest relative error the comparison can see (≥ 1: none)."""
        if self.scale > 0:
            return self.allowed / self.scale
        return 0.0 if self.allowed == 0 else float("inf")

    @property
    def passed(self) -> bool:
        return not self.problem and self.max_abs <= self.allowed

    def message(self) -> str:
        """One line: what, where, how far, and the allowed."""
        what = f"{self.quantity} of layer {self.layer} ({self.oracle} vs reference)"
        if self.problem:
            return f"{what}: {self.problem}"
        size = int(np.prod(self.shape))
        left_out = f", {self.excluded} of {size} elements excluded" if self.excluded else ""
        sample = (
            f", a seeded sample: {self.judged} of {size} elements judged" if self.judged else ""
        )
        return (
            f"{what}: max abs error {self.max_abs:.3e} at {self.worst_index}, "
            f"max rel error {self.max_rel:.3e}, allowed {self.allowed:.3e} "
            f"(error/allowed {self.ratio:.3g}){sample}{left_out}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The record's fields (a shallow copy: ``dataclasses.asdict`` deep-copies, a tenth of the
        soak's record keeping), with ``ratio``, ``passed`` and ``resolution``."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if values["worst"] is None:  # normwise: the records keep their form
            del values["worst"]
        else:
            values["worst"] = dict(values["worst"])
        if not values["judged"]:  # every element judged: the records keep their form
            del values["judged"]
        return {
            **values,
            "ratio": self.ratio,
            "passed": self.passed,
            "resolution": self.resolution,
        }


def scale(reference: Array, other: Array) -> float:
    """S: the larger of the two arrays' largest finite magnitudes (0 for empty arrays)."""
    values = [np.abs(a[np.isfinite(a)]).max(initial=0.0) for a in (reference, other)]
    return float(max(values))


def compare(
    reference: Array,
    other: Array,
    allowed: float,
    *,
    quantity: str,
    layer: int,
    oracle: str,
    exclude: Mask | None = None,
    judged: Mask | None = None,
) -> Comparison:
    """Compare ``other`` with ``reference`` elementwise; the worst element decides.

    Args:
        reference, other: the two arrays of one quantity of one layer.
        allowed: the largest absolute difference allowed (errormodel.tolerances).
        quantity, layer, oracle: where the comparison is, for its record and message.
        exclude: elements the oracle cannot judge: left out of the error and counted in
            ``excluded``, never given a wider tolerance. Non-finite values are flagged even there.
        judged: where the oracle judged a sample only, its elements: the others (NaN) are not
            compared at all, and ``judged`` counts the sample.

    Returns:
        The Comparison: passed, the worst element, its error and ratio to ``allowed``.
    """
    where: dict[str, Any] = {"quantity": quantity, "layer": layer, "oracle": oracle}
    reference, other = np.asarray(reference), np.asarray(other)
    if exclude is not None and exclude.shape != reference.shape:
        raise ValueError(f"exclude mask has shape {exclude.shape}, expected {reference.shape}")
    if reference.shape != other.shape:
        return Comparison(
            **where,
            shape=reference.shape,
            max_abs=float("inf"),
            max_rel=float("inf"),
            worst_index=(),
            allowed=allowed,
            problem=f"shape {other.shape}, expected {reference.shape}",
        )
    if judged is not None and judged.shape != reference.shape:
        raise ValueError(f"judged mask has shape {judged.shape}, expected {reference.shape}")
    finite = np.isfinite(reference) & np.isfinite(other)
    if judged is not None:  # the elements outside the sample are not compared
        finite |= ~judged
    if not finite.all():
        bad = tuple(int(i) for i in np.argwhere(~finite)[0])
        side = "reference" if not np.isfinite(reference[bad]) else oracle
        return Comparison(
            **where,
            shape=reference.shape,
            max_abs=float("inf"),
            max_rel=float("inf"),
            worst_index=bad,
            allowed=allowed,
            problem=f"non-finite value {(reference if side == 'reference' else other)[bad]} "
            f"from {side} at {bad} ({int((~finite).sum())} of {reference.size} elements)",
        )
    kinks = exclude if judged is None or exclude is None else exclude & judged
    left_out = kinks if judged is None else ~judged if kinks is None else kinks | ~judged
    with np.errstate(invalid="ignore"):  # NaN outside a sample: never compared
        diff = np.abs(reference.astype(np.float64) - other.astype(np.float64))
    if left_out is not None:
        diff[left_out] = 0.0
        reference, other = reference[~left_out], other[~left_out]
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    max_abs = float(diff.max(initial=0.0))
    s = scale(reference, other)
    return Comparison(
        **where,
        shape=diff.shape,
        max_abs=max_abs,
        max_rel=max_abs / s if s > 0 else (0.0 if max_abs == 0 else float("inf")),
        worst_index=tuple(int(i) for i in worst),
        allowed=allowed,
        scale=s,
        excluded=int(kinks.sum()) if kinks is not None else 0,
        judged=int(judged.sum()) if judged is not None else 0,
    )


def ulps(value: Array, truth: Array) -> Array:
    """|value − truth| in units of the truth's ulp (the spacing at |truth|; 2^-1074 at 0)."""
    spacing = np.spacing(np.abs(truth.astype(np.float64)))
    with np.errstate(over="ignore"):  # 1e-15 off a truth of 0 is past the largest float: inf
        return np.abs(value.astype(np.float64) - truth) / spacing


def compare_to_truth(
    value: Array,
    truth: Array,
    allowed: Array,
    *,
    quantity: str,
    layer: int,
    oracle: str,
    exclude: Mask | None = None,
    judged: Mask | None = None,
) -> Comparison:
    """Judge each element of ``value`` against the exact ``truth`` by its own ``allowed``
    (errormodel.tolerances.exact_allowed); the element with the largest error/allowed decides and
    is kept in ``worst``. ``max_abs`` and ``allowed`` are that element's, so ``ratio`` and
    ``passed`` mean what they do normwise. ``exclude`` and ``judged`` as for :func:`compare`."""
    where: dict[str, Any] = {"quantity": quantity, "layer": layer, "oracle": oracle}
    value, truth = np.asarray(value), np.asarray(truth)
    sampled = judged if judged is not None and judged.shape == value.shape else None
    if (
        value.shape != truth.shape
        or not np.isfinite(value[sampled] if sampled is not None else value).all()
    ):
        allowed_max = float(np.max(allowed, initial=0.0))
        return compare(truth, value, allowed_max, **where, exclude=exclude, judged=judged)
    kinks = exclude if sampled is None or exclude is None else exclude & sampled
    left_out = kinks if sampled is None else ~sampled if kinks is None else kinks | ~sampled
    if sampled is not None:
        value = np.where(sampled, value, truth)  # outside the sample: not compared
    diff = np.abs(value.astype(np.float64) - truth)
    with np.errstate(over="ignore"):  # an error 1e300× a subnormal bound: ratio inf, failed
        ratio = np.divide(diff, allowed, out=np.zeros_like(diff), where=allowed > 0)
    ratio[(allowed <= 0) & (diff > 0)] = np.inf
    if left_out is not None:
        ratio[left_out] = 0.0
    flat = int(np.argmax(ratio)) if ratio.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, ratio.shape)) if ratio.size else ()
    max_abs = float(diff[index]) if ratio.size else 0.0
    s = scale(truth, value)
    worst = {
        "index": list(index),
        "value": float(value[index]) if ratio.size else 0.0,
        "truth": float(truth[index]) if ratio.size else 0.0,
        "ulps": float(ulps(value[index], truth[index])) if ratio.size else 0.0,
        "allowed": float(allowed[index]) if ratio.size else 0.0,
    }
    return Comparison(
        **where,
        shape=diff.shape,
        max_abs=max_abs,
        max_rel=float(diff.max(initial=0.0)) / s if s > 0 else 0.0,
        worst_index=index,
        allowed=float(allowed[index]) if ratio.size else 0.0,
        scale=s,
        excluded=int(kinks.sum()) if kinks is not None else 0,
        judged=int(sampled.sum()) if sampled is not None else 0,
        worst=worst,
    )
