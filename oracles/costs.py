"""Each oracle's own C_x, one record per cost (beside oracles/activations.py's σ): a new cost's
torch, jax and complex-step formulas and the ground truth's δ^L are one :class:`OracleCosts` here.

As there, each formula is its own framework's, independent of the reference's cost and of the
other oracles', and nothing heavy is imported here: a torch formula takes the ``torch`` module
and (z, a, y) of the output layer, a jax one the ``jax`` module (optax, for its logits form of
the cross-entropy, is imported where it is used); the complex step's are NumPy on complex
arrays; the truth's takes python-flint's ``arb`` type and one output neuron on balls
(:class:`BallNeuron`). Each oracle builds its table from these records (:func:`table`).
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
class BallNeuron:
    """One output neuron j of one sample x on balls, as the ground truth (oracles.exact) gives it
    to a cost's δ^L on an elementwise output: each ball with its Σ|terms| T, a float (the rules
    of oracles.exact's docstring). ``residual`` is a − y formed the truth's way: the better of
    a − y and, where the output saturates at 1 and y ≥ ½, (1 − y) − (1 − σ(z))."""

    z: Any
    t_z: float
    a: Any  # σ(z)
    t_a: float
    prime: Any  # σ'(z)
    t_prime: float
    y: Any  # exact
    residual: Any
    t_residual: float


#: (arb, one output neuron) → (δ^L_j ball, its T): the truth's BP1 for one cost.
BallFormula = Callable[[Any, BallNeuron], tuple[Any, float]]


@dataclass(frozen=True)
class OracleCosts:
    """One cost as each oracle writes it, from the output layer's z, a = σ(z) and y:

    - ``torch(torch, z, a, y)``: C_x per column (summed over the neurons, axis 0);
    - ``jax(jax, z, a, y)``: the summands of C_x, one per output neuron and sample;
      ``jax_over_rows``: the formula takes a log-sum-exp over the output rows (jax's padded
      program enters its padded rows as −∞);
    - ``complex_step(z, a, y)``: C_x as one holomorphic formula, summed over axis −2;
    - ``exact(arb, neuron)``: the ground truth's δ^L_j by BP1 on an elementwise output, on balls,
      and its T (:class:`BallNeuron`); None for a cost valid only on a softmax output, whose
      δ^L the truth forms column by column itself (oracles.exact, beside ``_softmax``).
    """

    name: str
    torch: Formula
    jax: Formula
    complex_step: Callable[[Z, Z, Z], Z]
    exact: BallFormula | None
    jax_over_rows: bool = False


def table(oracle: str, module: Any) -> dict[str, Callable[..., Any]]:
    """One oracle's formula per cost name (of each record that has one), given its framework's
    ``module``."""
    found = {name: getattr(c, oracle) for name, c in COSTS.items()}
    return {name: functools.partial(f, module) for name, f in found.items() if f is not None}


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


def _quadratic_exact(arb: Any, n: BallNeuron) -> tuple[Any, float]:
    """δ_j = (a_j − y_j) σ'(z_j): a product, so T = T(a − y)·T(σ')."""
    return n.residual * n.prime, n.t_residual * n.t_prime


def _cross_entropy_exact(arb: Any, n: BallNeuron) -> tuple[Any, float]:
    """δ_j = a_j − y_j: ∂C_x/∂a_j = (a_j − y_j)/(a_j(1 − a_j)) and σ' = a_j(1 − a_j) cancel in
    exact arithmetic (book eq. 66), so the ball is a − y itself."""
    return n.residual, n.t_residual


#: One record per cost (the set of reference.costs.COST_INFO: tests/test_vocabulary.py names what
#: any oracle lacks). ½‖a − y‖²; −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)] by each framework's own
#: logits form (finite where σ(z) rounds to 1); −Σ_j y_j ln a_j by the framework's log_softmax of
#: z (finite where a_y underflows). The order is jax's padded program's cost codes.
COSTS: dict[str, OracleCosts] = {
    c.name: c
    for c in (
        OracleCosts(
            "quadratic",
            torch=lambda torch, z, a, y: 0.5 * ((a - y) ** 2).sum(dim=0),
            jax=lambda jax, z, a, y: 0.5 * (a - y) ** 2,
            complex_step=_quadratic_complex,
            exact=_quadratic_exact,
        ),
        OracleCosts(
            "cross_entropy",
            torch=_torch_cross_entropy,
            jax=_jax_cross_entropy,
            complex_step=_cross_entropy_complex,
            exact=_cross_entropy_exact,
        ),
        OracleCosts(
            "log_likelihood",
            torch=lambda torch, z, a, y: -(y * torch.log_softmax(z, dim=0)).sum(dim=0),
            jax=lambda jax, z, a, y: -y * jax.nn.log_softmax(z, axis=0),
            complex_step=_log_likelihood_complex,
            exact=None,  # softmax output: the truth's own, beside oracles.exact._softmax
            jax_over_rows=True,
        ),
    )
}
