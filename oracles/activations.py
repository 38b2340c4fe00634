"""Each oracle's own σ, one record per activation (as torch's OpInfo keeps an op's variants in
one place): a new activation is one :class:`OracleSigmas` here, beside its reference record
(:data:`reference.activations.ACTIVATION_INFO`, which says whether it is holomorphic and
output-only).

Independence is the point: every formula is written in its own framework's terms, from the
book's definition of σ, and none calls the reference's σ or another framework's. Nothing heavy
is imported here: a torch formula takes the ``torch`` module and z, a jax one the ``jax``
module and z, an exact one python-flint's ``arb`` type and a ball z (the ground truth's
extra libraries load only with their oracle); the complex step's are NumPy on complex arrays.
Each oracle builds its table from these records (:func:`table`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.vocabulary import LEAKY_RELU_ALPHA

Z = np.ndarray[Any, Any]  # real or complex arrays (the complex step)
#: (the framework's module or ball type, z) → σ(z); exact: (σ(z), σ'(z), |σ''(z)| as a float).
Formula = Callable[[Any, Any], Any]


class Undecided(Exception):
    """A decision (the sign of a relu's z) a ball does not settle at this precision: the ground
    truth tries the next precision (oracles.exact)."""


def ball_positive(z: Any) -> bool:
    """z > 0 for a ball z (z = 0 counts as not positive); Undecided if the ball straddles 0."""
    if z > 0:
        return True
    if z < 0 or z.is_zero():
        return False
    raise Undecided(f"the sign of a relu pre-activation {z.str(5)}")


@dataclass(frozen=True)
class OracleSigmas:
    """One activation as each oracle writes it.

    - ``torch(torch, z)``, ``jax(jax, z)``: σ(z) by the framework's own ops (autograd, forward
      mode and the SGD oracles differentiate them), softmax over axis 0 (each column's neurons);
    - ``complex_step(z)``: one holomorphic formula, or None where the record says the activation
      is not holomorphic (the complex step declines the net);
    - ``exact(arb, z)``: (σ(z), σ'(z), |σ''(z)|) on a ball, the last a float for Σ|terms|
      (oracles.exact: T(σ(u)) = |σ(u)| + |σ'(u)|T(u), T(σ'(u)) = |σ'(u)| + |σ''(u)|T(u)); None
      for an output-only activation, which the truth evaluates column by column itself;
    - ``exact_one_minus(arb, z)``: 1 − σ(z) without the subtraction, for an output that
      saturates at 1 (the truth's other form of a − y), or None.
    """

    name: str
    torch: Formula
    jax: Formula
    complex_step: Callable[[Z], Z] | None
    exact: Formula | None
    exact_one_minus: Formula | None = None


def table(oracle: str, module: Any) -> dict[str, Callable[[Any], Any]]:
    """One oracle's σ per activation name: its formula (the field ``oracle`` of each record that
    has one) given its framework's ``module``."""
    found = {name: getattr(s, oracle) for name, s in SIGMAS.items()}
    return {name: functools.partial(f, module) for name, f in found.items() if f is not None}


# --- the complex step: holomorphic formulas (np.tanh is the analytic tanh for complex z) -------


def _sigmoid_complex(z: Z) -> Z:
    """1 / (1 + e^{−z}); for Re z < 0 the same function as e^{z} / (1 + e^{z}) (no overflow)."""
    positive = np.real(z) >= 0
    e = np.exp(np.where(positive, -z, z))  # Re ≤ 0: |e| ≤ 1
    return np.where(positive, 1.0, e) / (1.0 + e)


def softplus_complex(z: Z) -> Z:
    """ln(1 + e^{z}); for Re z > 0 the same function as z + ln(1 + e^{−z}) (no overflow)."""
    positive = np.real(z) > 0
    return np.where(positive, z, 0.0) + np.log1p(np.exp(np.where(positive, -z, z)))


def _identity_complex(z: Z) -> Z:
    return z


def _softmax_complex(z: Z) -> Z:
    """e^{z_j} / Σ_k e^{z_k} over axis 0 (the neurons), shifted by M = max_k Re z_k: the same
    function for any constant M, and the step moves only Im z, so M is one."""
    e = np.exp(z - np.max(np.real(z), axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


# --- the ground truth: (σ(z), σ'(z), |σ''(z)| as a float for T) on balls -----------------------


def _sigmoid_exact(arb: Any, z: Any) -> tuple[Any, Any, float]:
    s = 1 / (1 + (-z).exp())
    prime = 1 / (4 * (z / 2).cosh() ** 2)  # σ(1 − σ) without the subtraction
    return s, prime, abs(float(prime * (z / 2).tanh()))


def _tanh_exact(arb: Any, z: Any) -> tuple[Any, Any, float]:
    t = z.tanh()
    prime = z.sech() ** 2  # sech² z = 1 − tanh² z
    return t, prime, abs(float(2 * t * prime))


def _softplus_exact(arb: Any, z: Any) -> tuple[Any, Any, float]:
    s = 1 / (1 + (-z).exp())
    return z.exp().log1p(), s, abs(float(1 / (4 * (z / 2).cosh() ** 2)))


def _relu_exact(arb: Any, z: Any) -> tuple[Any, Any, float]:
    up = ball_positive(z)
    return (z if up else arb(0)), arb(1 if up else 0), 0.0


def _leaky_relu_exact(arb: Any, z: Any) -> tuple[Any, Any, float]:
    up = ball_positive(z)
    alpha = arb(LEAKY_RELU_ALPHA)
    return (z if up else alpha * z), (arb(1) if up else alpha), 0.0


def _identity_exact(arb: Any, z: Any) -> tuple[Any, Any, float]:
    return z, arb(1), 0.0


#: One record per activation (the set of reference.activations.ACTIVATION_INFO, in any order:
#: tests/test_vocabulary.py names what any oracle lacks).
SIGMAS: dict[str, OracleSigmas] = {
    s.name: s
    for s in (
        OracleSigmas(
            "sigmoid",
            torch=lambda torch, z: torch.sigmoid(z),
            jax=lambda jax, z: jax.nn.sigmoid(z),
            complex_step=_sigmoid_complex,
            exact=_sigmoid_exact,
            exact_one_minus=lambda arb, z: 1 / (1 + z.exp()),
        ),
        OracleSigmas(
            "tanh",
            torch=lambda torch, z: torch.tanh(z),
            jax=lambda jax, z: jax.numpy.tanh(z),
            complex_step=np.tanh,
            exact=_tanh_exact,
            exact_one_minus=lambda arb, z: 2 / (1 + (2 * z).exp()),
        ),
        OracleSigmas(
            "relu",
            torch=lambda torch, z: torch.relu(z),
            jax=lambda jax, z: jax.numpy.where(z > 0, z, 0.0),
            complex_step=None,
            exact=_relu_exact,
        ),
        OracleSigmas(
            "leaky_relu",
            torch=lambda torch, z: torch.nn.functional.leaky_relu(z, LEAKY_RELU_ALPHA),
            # σ'(0) = α as in the reference (jax.nn.leaky_relu takes σ'(0) = 1).
            jax=lambda jax, z: jax.numpy.where(z > 0, z, LEAKY_RELU_ALPHA * z),
            complex_step=None,
            exact=_leaky_relu_exact,
        ),
        OracleSigmas(
            "softplus",
            # logaddexp rather than F.softplus, whose default threshold=20 switches to z (an
            # approximation).
            torch=lambda torch, z: torch.logaddexp(z, torch.zeros_like(z)),
            jax=lambda jax, z: jax.numpy.logaddexp(z, 0.0),
            complex_step=softplus_complex,
            exact=_softplus_exact,
        ),
        OracleSigmas(
            "identity",
            torch=lambda torch, z: z,
            jax=lambda jax, z: z,
            complex_step=_identity_complex,
            exact=_identity_exact,
        ),
        OracleSigmas(
            "softmax",  # over the neurons of each column; the truth's is oracles.exact._softmax
            torch=lambda torch, z: torch.softmax(z, dim=0),
            jax=lambda jax, z: jax.nn.softmax(z, axis=0),
            complex_step=_softmax_complex,
            exact=None,
        ),
    )
}
