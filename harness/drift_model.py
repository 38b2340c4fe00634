"""The drift model of whole training runs, and its inputs measured along the reference's path.

One SGD step is a map θ_t = Φ_t(θ_{t−1}), Φ_t(θ) = Dθ − η∇C_t(θ) (C_t the mini-batch's mean
cost, D = 1 − ηλ/n on weights and 1 on biases). The reference and an oracle evaluate it in
floating point as Φ̂_t and Φ̃_t. If r_t bounds their one-step difference from a common point and
g_t bounds how much the exact step stretches a small difference, the triangle inequality
    ‖θ̂_t − θ̃_t‖ ≤ ‖Φ̂_t(θ̂) − Φ_t(θ̂)‖ + ‖Φ_t(θ̂) − Φ_t(θ̃)‖ + ‖Φ_t(θ̃) − Φ̃_t(θ̃)‖
gives the drift model  e_t ≤ E_t,  E_t = g_t · E_{t−1} + r_t  (E_0 the difference of the starts).
All norms are 2-norms over every parameter of the network.

r_t, the rounding of one step (both sides). The gradient: each side's ∂C/∂b^l and ∂C/∂w^l are
within ε·B componentwise, B the running bound of error_scales at (θ_{t−1}, mini-batch t)
(errormodel.rounding; it keeps the size of the terms when the batch mean cancels, as it does late in
training); in the 2-norm that is bound_allowed(‖B‖₂), times η. The update: SGD_ROUNDINGS
roundings on each side (D·θ, η·∇C and the subtraction; torch and optax order them otherwise) of
terms |θ| and η|∇C|:
    r_t = η · sqrt(Σ_{l, b and w} bound_allowed(‖B‖₂)²)
          + 2 · SGD_ROUNDINGS · ε · (‖θ_{t−1}‖ + η‖∇C_t‖).
The same per layer in the max-norm is errormodel.tolerances.sgd_step_allowed: one step from a
common point.

g_t, the expansion. The step's Lipschitz constant ‖D − ηH_t‖ ≤ 1 + η‖H_t‖ (H_t the mini-batch
Hessian) is a valid but useless bound. Measured on the digits cases (power iteration with
finite-difference Hessian-vector products, at steps 1, 65, 130, 325, 650): η‖H_t‖ = 0.68…1.95, so
Π_t (1 + η‖H_t‖) is of order 1.7^650 ≈ 1e146; even the exact ‖D − ηH_t‖ = 1.06…2.51 compounds to
order 1e16 — while differences actually grew 3–4× over those 650 steps. A rounding difference is
not aligned with every step's worst direction. So g_t is measured: a tangent vector carried along
the reference's path by central differences of the step (:func:`expansion_factors`) is a
power iteration of the step Jacobians, so within a few steps it aligns with the most expanding
direction, and g_t is its growth at step t. Measured: g_t ∈ [0.997, 1.014] and Π_t g_t = 3.8
(quadratic) and 2.9 (cross-entropy) over 650 steps; g_t ∈ [0.991, 1.020], Π_t g_t = 8.1 and 9.4
over 3900. A random perturbation injected at step 0, 130 or 260 grew at most 1.06× more than Π g_t
over the rest of the run. GROWTH_SAFETY = 2 covers that miss:
    allowed_t = GROWTH_SAFETY · E_t.
A float32 run against the float64 reference: r_t with ε_32 (bound_allowed's ε_reference + ε_64,
and ε_32 in the update) and E_0 = ½ε_32‖θ_0‖ (the starting parameters rounded to float32).

Measured margins are in README.md, "Measured figures".
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from errormodel.rounding import ErrorScales, error_scales
from errormodel.tolerances import SGD_ROUNDINGS, bound_allowed, eps
from harness.training_cases import TrainingCase
from harness.training_runs import flatten, reference_path, reference_run, unflatten
from reference import Batch, Params, update_mini_batch
from reference.types import Array

#: How far the tangent-vector growth Π g_t may underestimate the growth of a rounding difference.
GROWTH_SAFETY = 2.0
#: Central-difference step of the tangent vector (unit 2-norm) in expansion_factors: rounding
#: ε‖θ‖/h ≈ 1e-10 and truncation ~h² ≈ 1e-10 relative to the growth, for ‖θ‖ ~ 20.
TANGENT_STEP = 1e-5


def sgd_step_rounding(
    eta: float, rounding_norms: Sequence[float], grad_norm: float, param_norm: float, dtype: Any
) -> float:
    """r_t: the 2-norm of one step's rounding, both sides (module docstring).

    ``rounding_norms`` are ‖B‖₂ of every layer's ∂C/∂b and ∂C/∂w (ErrorScales.rounding_norm);
    ``grad_norm`` and ``param_norm`` are ‖∇C‖₂ and ‖θ‖₂ over the whole network.
    """
    gradient = eta * float(np.hypot.reduce([bound_allowed(b, dtype) for b in rounding_norms]))
    return gradient + 2 * SGD_ROUNDINGS * eps(dtype) * (param_norm + eta * grad_norm)


def drift_bound(
    start: float, roundings: Iterable[float], expansions: Iterable[float]
) -> np.ndarray[Any, Any]:
    """GROWTH_SAFETY · E_t for t = 0…k: E_0 = ``start``, E_t = g_t · E_{t−1} + r_t."""
    bound = [start]
    for r, g in zip(roundings, expansions, strict=True):
        bound.append(g * bound[-1] + r)
    return GROWTH_SAFETY * np.asarray(bound)


def applied_gradients(case: TrainingCase, reference: Sequence[Params]) -> list[Params]:
    """∇C_t of every step, read off the reference's own updates: (D·θ_{t−1} − θ_t) / η."""
    step = case.step()
    decay = 1.0 - step.eta * step.lmbda / step.n
    return [
        Params(
            tuple(
                (decay * w0 - w1) / step.eta for w0, w1 in zip(a.weights, b.weights, strict=True)
            ),
            tuple((b0 - b1) / step.eta for b0, b1 in zip(a.biases, b.biases, strict=True)),
        )
        for a, b in itertools.pairwise(reference)
    ]


@functools.lru_cache(maxsize=16)
def step_error_scales(case: TrainingCase, dtype: Any) -> tuple[ErrorScales, ...]:
    """The running rounding bounds of every step t = 1…k: at the reference's θ_{t−1}, batch t,
    from the forward pass and gradients that step computed (no second pass)."""
    data, path = case.data(), reference_path(case)
    steps = zip(path.trajectory[:-1], case.order(), path.computed, strict=True)
    return tuple(
        error_scales(
            case.arch,
            theta,
            Batch(data.x[:, b], data.y[:, b]),
            dtype,
            numerical=False,
            computed=computed,
        )
        for theta, b, computed in steps
    )


def step_roundings(case: TrainingCase, dtype: Any) -> Array:
    """r_t for t = 1…k (module docstring), along the reference's path."""
    reference = reference_run(case)
    steps = zip(
        reference[:-1],
        applied_gradients(case, reference),
        step_error_scales(case, dtype),
        strict=True,
    )
    return np.asarray(
        [
            sgd_step_rounding(
                case.eta,
                list(scales.rounding_norm.values()),
                float(np.linalg.norm(flatten(grad))),
                float(np.linalg.norm(flatten(theta))),
                dtype,
            )
            for theta, grad, scales in steps
        ]
    )


def expansion_factors(
    case: TrainingCase, reference: Sequence[Params], seed: int = 0, h: float = TANGENT_STEP
) -> Array:
    """g_t for t = 1…k: the growth of a tangent vector carried along the reference's path.

    v_0 is a seeded random unit vector; step t maps it to J_t v ≈ [Φ_t(θ_{t−1} + hv) −
    Φ_t(θ_{t−1} − hv)] / 2h (Φ_t the reference's step on mini-batch t), g_t = ‖J_t v‖ and v is
    renormalised: a power iteration of the step Jacobians along the path.
    """
    data, step, arch = case.data(), case.step(), case.arch
    v = np.random.default_rng(seed).standard_normal(flatten(reference[0]).size)
    v /= np.linalg.norm(v)
    factors = []
    for theta, batch in zip(reference[:-1], case.order(), strict=True):
        x, y, base = data.x[:, batch], data.y[:, batch], flatten(theta)
        ahead, behind = (
            flatten(update_mini_batch(arch, unflatten(base + sign * h * v, theta), x, y, step))
            for sign in (1.0, -1.0)
        )
        jv = (ahead - behind) / (2 * h)
        factors.append(float(np.linalg.norm(jv)))
        v = jv / factors[-1]
    return np.asarray(factors)


@functools.lru_cache(maxsize=8)
def expansion(case: TrainingCase) -> Array:
    """g_t for t = 1…k along the case's float64 reference path (cached)."""
    return expansion_factors(case, reference_run(case))


def allowed_drift(case: TrainingCase, dtype: Any) -> Array:
    """The drift model's allowed ‖Δθ_t‖₂ for t = 0…k, a ``dtype`` run against float64."""
    reference = reference_run(case)
    own = eps(dtype)
    start = 0.0 if own <= eps(np.float64) else 0.5 * own * np.linalg.norm(flatten(reference[0]))
    return drift_bound(float(start), step_roundings(case, dtype), expansion(case))
