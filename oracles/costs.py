"""Each oracle's own C_x, one record per cost (beside oracles/activations.py's σ): a new cost's
torch, jax and complex-step formulas are one :class:`OracleCosts` here.

As there, each formula is its own framework's, independent of the reference's cost and of the
other oracles', and nothing heavy is imported here: a torch formula takes the ``torch`` module
and (z, a, y) of the output layer, a jax one the ``jax`` module (optax, for its logits form of
the cross-entropy, is imported where it is used); the complex step's are NumPy on complex
arrays. Each oracle builds its table from these records (:func:`table`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracles.activations import softplus_complex

Z = np.ndarray[Any, Any]  # real or complex arrays (the complex step)
#: (the framework's module, z, a, y) → C_x per column (torch) or its summands (jax).
Formula = Callable[[Any, Any, Any, Any], Any]


@dataclass(frozen=True)
class OracleCosts:
    """One cost as each oracle writes it, from the output layer's z, a = σ(z) and y:

    - ``torch(torch, z, a, y)``: C_x per column (summed over the neurons, axis 0);
    - ``jax(jax, z, a, y)``: the summands of C_x, one per output neuron and sample;
      ``jax_over_rows``: the formula takes a log-sum-exp over the output rows (jax's padded
      program enters its padded rows as −∞);
    - ``complex_step(z, a, y)``: C_x as one holomorphic formula, summed over axis −2.
    """

    name: str
    torch: Formula
    jax: Formula
    complex_step: Callable[[Z, Z, Z], Z]
    jax_over_rows: bool = False


def table(oracle: str, module: Any) -> dict[str, Callable[[Any, Any, Any], Any]]:
    """One oracle's C_x per cost name: its formula given its framework's ``module``."""
    return {name: functools.partial(getattr(c, oracle), module) for name, c in COSTS.items()}


def _torch_cross_entropy(torch: Any, z: Any, a: Any, y: Any) -> Any:
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")
    return bce.sum(dim=0)


def _jax_cross_entropy(jax: Any, z: Any, a: Any, y: Any) -> Any:
    import optax

    return optax.sigmoid_binary_cross_entropy(z, y)


def _quadratic_complex(z: Z, a: Z, y: Z) -> Z:
    """C_x = ½ Σ_j (a_j − y_j)², summed over axis −2 (the neurons)."""
    return 0.5 * np.sum((a - y) ** 2, axis=-2)


def _cross_entropy_complex(z: Z, a: Z, y: Z) -> Z:
    """C_x = Σ_j [y_j ln(1 + e^{−z_j}) + (1 − y_j) ln(1 + e^{z_j})] (−y ln a − (1 − y) ln(1 − a)
    with a = σ(z), finite where σ(z) rounds to 1)."""
    return np.sum(y * softplus_complex(-z) + (1.0 - y) * softplus_complex(z), axis=-2)


def _log_likelihood_complex(z: Z, a: Z, y: Z) -> Z:
    """C_x = −Σ_j y_j ln a_j = −Σ_j y_j (z_j − ln Σ_k e^{z_k}) over axis −2, the log-sum-exp
    shifted by M = max_k Re z_k (a constant of the step, as in softmax's formula)."""
    top = np.max(np.real(z), axis=-2, keepdims=True)
    lse = top + np.log(np.sum(np.exp(z - top), axis=-2, keepdims=True))
    return -np.sum(y * (z - lse), axis=-2)


#: One record per cost (the set of reference.costs.COSTS). ½‖a − y‖²; −Σ_j [y_j ln a_j +
#: (1 − y_j) ln(1 − a_j)] by each framework's own logits form (finite where σ(z) rounds to 1);
#: −Σ_j y_j ln a_j by the framework's log_softmax of z (finite where a_y underflows). The order is
#: jax's padded program's cost codes.
COSTS: dict[str, OracleCosts] = {
    c.name: c
    for c in (
        OracleCosts(
            "quadratic",
            torch=lambda torch, z, a, y: 0.5 * ((a - y) ** 2).sum(dim=0),
            jax=lambda jax, z, a, y: 0.5 * (a - y) ** 2,
            complex_step=_quadratic_complex,
        ),
        OracleCosts(
            "cross_entropy",
            torch=_torch_cross_entropy,
            jax=_jax_cross_entropy,
            complex_step=_cross_entropy_complex,
        ),
        OracleCosts(
            "log_likelihood",
            torch=lambda torch, z, a, y: -(y * torch.log_softmax(z, dim=0)).sum(dim=0),
            jax=lambda jax, z, a, y: -y * jax.nn.log_softmax(z, axis=0),
            complex_step=_log_likelihood_complex,
            jax_over_rows=True,
        ),
    )
}
