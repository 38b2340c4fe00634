"""The running rounding bound of one case: B, and the FD oracle's R and F, from the
reference's own numbers (the tables :data:`ACTIVATION_ERRORS` and :data:`COST_ERRORS` are in
:mod:`errormodel.tables`). The gate's policy (:mod:`errormodel.tolerances`), the drift model
(:mod:`harness.drift_model`) and the checker (:mod:`errormodel.learner`) all judge with it.

Rounding: a first-order running error bound
-------------------------------------------
Every case carries B, a componentwise bound on the rounding error of each quantity in units of ε,
computed alongside the reference from the absolute values of its own numbers (Higham, *Accuracy
and Stability of Numerical Algorithms*, §3.1 and §3.3). Each operation errs by at most ε relative
plus η = ε·tiny absolute (gradual underflow), so in units of ε an operation on x adds |x| + tiny;
a length-n dot product adds n·|w|^T|v|, the size of its terms, not of its result:

- forward: ζ^l ≥ |Δz^l| / ε, from the dot product's terms and the error α^{l−1} of a^{l−1}:
  ζ^l = (n_{l−1} + 1)(|w^l||a^{l−1}| + |b^l|) + |w^l| α^{l−1};
  α^l = |σ'(z^l)| ζ^l + SIGMA_ULPS·|a^l| (α^1 = 0: the inputs are exact);
- output (BP1): per cost, :data:`COST_ERRORS` (quadratic: the terms |a − y|, α^L and σ';
  cross-entropy: δ^L = a − y whatever formula computes it, so 2(|a| + |y|) + α^L, plus what a
  σ taken through softplus's value loses, y(1 − a)·softplus(−z) + (1 − y)a·softplus(z));
- backward (BP2), p = (w^{l+1})^T δ^{l+1}:
  β^l = (n_{l+1}|w^{l+1}|^T|δ^{l+1}| + |w^{l+1}|^T β^{l+1} + |p|) ⊙ (|σ'(z^l)| + ε·κ(z^l))
        + |p| ⊙ (κ(z^l) + |σ''(z^l)| ζ^l),
  with κ the absolute error of the computed σ' (:data:`ACTIVATION_ERRORS`); its ε·κ beside |σ'|
  is second order, kept for the saturated layers where the computed σ' is exactly 0 and it is
  all that carries the error of p (of a δ^{l+1} that itself rounded to 0) into δ^l;
- BP3: B_b = mean_x β^l + m·mean_x |δ^l| + |∂C/∂b^l|;
- BP4: B_w = (β^l |a^{l−1}|^T + |δ^l| (α^{l−1})^T + m·|δ^l||a^{l−1}|^T) / m + |∂C/∂w^l|.

B is the largest element of the layer's bound: the comparison stays normwise (the worst element
decides) while the bound knows where the terms were large. Zero and subnormal layers get the
absolute part (tiny per operation, carried through |w| like every other error), so exact zeros
compare exactly and a gradient of 1e-300 is judged against its own terms, not against 1.

Finite differences: truncation and rounding, both computed
----------------------------------------------------------
The FD oracle (always float64) moves one row j of z^l along t (δ: one sample by t; ∂C/∂b: all
samples by t; ∂C/∂w_jk: sample x by t·a^{x,l−1}_k) and takes [f(h) − f(−h)]/2h, which errs by

- truncation, h²/6·|f'''(ξ)|: f''' is bounded by pushing a third-order Taylor jet of the
  perturbation through layers l…L in absolute values (Faà di Bruno: a₁ = σ'c₁,
  a₂ = σ'c₂ + σ''c₁²/2, a₃ = σ'c₃ + σ''c₁c₂ + σ'''c₁³/6, then c_k ← |w|a_k), with each σ^{(n)}
  bounded over the interval the step sweeps, and the cost's derivatives in z^L at the end;
- rounding: each C_x is computed within ε·R_x, where R_x sums, over the layers l…L a difference
  re-runs, |δ^{x,k}| times the rounding committed in z^k (the perturbed z^l itself rounds by
  |z^l|), plus the cost's own evaluation (:data:`COST_ERRORS`; on a softmax output the entries
  of :func:`errormodel.tables.cost_errors`, whose f''' bound is the whole jet's, ``jet_third``,
  as C_x∘softmax is not a sum over output neurons); the difference quotient turns
  2ε·R_x into ε·R_x/h;

F3 and R are the largest over the layer (δ: per sample; ∂C/∂b and ∂C/∂w: batch means). In a
map net over the oracles' budget F3 is the largest over the elements they judge
(:func:`errormodel.layer_terms.map_sample`); R, the per-sample rounding, bounds every element.

Every product with |w| above is the dense layer's: each layer type's terms are its entry of
:data:`errormodel.layer_terms.LAYER_TERMS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from errormodel.layer_terms import Index, layer_terms, map_sample
from errormodel.tables import (
    SIGMA_ULPS,
    ActivationErrors,
    CostErrors,
    OutputLayer,
    activation_errors,
    cost_errors,
    softmax_output_rounding,
)
from reference import QUANTITIES, Architecture, Batch, Gradients, Params, forward_backward
from reference.activations import OUTPUT_ONLY
from reference.forward import Forward
from reference.layers import Dense, Layer, MaxPool
from reference.types import Array


@dataclass(frozen=True)
class ErrorScales:
    """For one case, per (quantity, layer): B, the rounding bound in units of ε; for the FD
    oracle, R (its cost-rounding scale) and F (its truncation error, h²/6·F3, absolute)."""

    rounding: dict[tuple[str, int], float]
    fd_rounding: dict[tuple[str, int], float]
    fd_truncation: dict[tuple[str, int], float]
    #: ∂C/∂b and ∂C/∂w only: the 2-norm of the componentwise bound whose largest element is B.
    rounding_norm: dict[tuple[str, int], float] = field(default_factory=dict)
    #: The complex-step oracle's underflow bound U, in units of η/h
    #: (:func:`complex_step_underflow`).
    cs_underflow: dict[tuple[str, int], float] = field(default_factory=dict)
    #: The FD step h that F and R were computed for (0 without them).
    fd_step: float = 0.0
    #: Per max-pool layer l: α^{l−1}, the bound on its input's rounding error in units of ε,
    #: elementwise (where rounding could move a window's argmax: errormodel.pool_ties).
    pool_input_rounding: dict[int, Array] = field(default_factory=dict)


def error_scales(
    arch: Architecture,
    params: Params,
    batch: Batch,
    dtype: Any,
    step: float = 0.0,
    *,
    numerical: bool = True,
    computed: tuple[Forward, Gradients] | None = None,
) -> ErrorScales:
    """B, R and F of every quantity of every layer (module docstring), from the reference's own
    numbers in float64.

    Args:
        arch, params, batch: the case.
        dtype: the reference's floating type; it sets the underflow unit ``tiny`` and ε.
        step: the FD oracle's h (its registry record's: the error model imports no oracle);
            needed only for the numerical parts.
        numerical: False for B (and its 2-norms) alone: the finite-difference and complex-step
            parts (R, F, U) serve only the gate's numerical oracles, and F's Taylor jet is most
            of the cost.
        computed: the reference's forward pass and gradients of this case
            (:func:`reference.backprop.forward_backward`), reused when they are float64 (the
            bound's arithmetic); otherwise, or if None, the bound computes them in float64.

    Returns:
        The case's :class:`ErrorScales`, per (quantity, layer).
    """
    params = params.astype(np.float64)
    x, y = batch.x.astype(np.float64), batch.y.astype(np.float64)
    tiny, eps = float(np.finfo(dtype).tiny), float(np.finfo(dtype).eps)
    sigmas = arch.sigmas
    errs = [activation_errors(s.name) for s in sigmas]
    cost = cost_errors(arch.cost, sigmas[-1].name)
    if computed is None or computed[0].zs[0].dtype != np.float64:
        computed = forward_backward(arch, params, x, y)
    fwd, grads = computed
    ws, bs, zs = params.weights, params.biases, fwd.zs
    acts = [np.abs(a) for a in fwd.activations]
    primes = [np.abs(e.derivatives(z)[0]) for e, z in zip(errs, zs, strict=True)]
    deltas = [np.abs(d) for d in grads.deltas]
    out = OutputLayer(zs[-1], fwd.activations[-1], y, errs[-1])
    L, m = len(ws), x.shape[-1]
    layers = arch.layers
    terms = [layer_terms(layer) for layer in layers]

    # forward: ζ bounds |Δz^l| / ε, α bounds |Δa^l| / ε (list index i is layer i + 2)
    local = [
        terms[i].forward(layer, w, b, acts[i], tiny)
        for i, (layer, w, b) in enumerate(zip(layers, ws, bs, strict=True))
    ]
    zetas: list[Array] = []
    alphas: list[Array] = [np.zeros_like(x)]
    for i, w in enumerate(ws):
        zetas.append(local[i] + terms[i].carry(layers[i], w, alphas[-1]))
        alphas.append(primes[i] * zetas[i] + SIGMA_ULPS * acts[i + 1] + tiny)
    if sigmas[-1].name in OUTPUT_ONLY:  # softmax output: a^L moves with all of z^L
        alphas[-1] = softmax_output_rounding(zs[-1], zetas[-1]) + tiny

    # backward: β bounds |Δδ^l| / ε
    betas: list[Array] = [np.empty(0)] * L
    betas[-1] = cost.delta_rounding(out, zetas[-1], alphas[-1]) + tiny
    for i in range(L - 2, -1, -1):  # BP2 through layer i + 3 (list index i + 1)
        p, dp = terms[i + 1].backward(
            layers[i + 1],
            ws[i + 1],
            grads.deltas[i + 1],
            deltas[i + 1],
            betas[i + 1],
            fwd.activations[i + 1],
            tiny,
        )
        d2 = np.abs(errs[i].derivatives(zs[i])[1])
        kappa = errs[i].prime_rounding(zs[i])
        # the exact σ'(z^l) is within ε·κ of the computed |σ'|: where that rounds to 0 (1 − t² of
        # a saturated tanh) p's error still reaches δ^l through it, a second-order term that is
        # then the only one left (the complex step, exact there, showed a 7.7e-185 δ^2 that the
        # first-order bound, 3.5e-302, missed)
        betas[i] = dp * (primes[i] + eps * kappa) + p * (kappa + d2 * zetas[i]) + tiny

    rounding: dict[tuple[str, int], float] = {}
    rounding_norm: dict[tuple[str, int], float] = {}
    for i in range(L):
        layer = i + 2
        bias, weight = terms[i].gradients(
            layers[i], betas[i], deltas[i], acts[i], alphas[i], grads.nabla_b[i], grads.nabla_w[i]
        )
        rounding["delta", layer] = float(betas[i].max())
        if not bias.size:  # a layer without parameters (a pool)
            continue
        rounding["nabla_b", layer] = float(bias.max() + m * tiny)
        rounding["nabla_w", layer] = float(weight.max() + m * tiny)
        rounding_norm["nabla_b", layer] = float(np.linalg.norm(bias + m * tiny))
        rounding_norm["nabla_w", layer] = float(np.linalg.norm(weight + m * tiny))
    maps = not all(type(layer) is Dense for layer in layers)
    pools = {i + 2: alphas[i] for i, layer in enumerate(layers) if isinstance(layer, MaxPool)}
    if not numerical:
        return ErrorScales(rounding, {}, {}, rounding_norm, pool_input_rounding=pools)
    if step <= 0:
        raise ValueError(f"the FD step must be > 0 for the numerical scales, got {step}")
    sample = map_sample(layers)  # a net over the oracles' budget: the elements they judge

    # FD rounding: a difference at layer l re-runs l…L, R_x = Σ_k Σ_j |δ^{x,k}_j| λ^{x,k}_j + …
    cost_part = cost.cost_rounding(out)
    later = np.zeros(m)
    fd_rounding: dict[tuple[str, int], float] = {}
    for i in range(L - 1, -1, -1):
        layer = i + 2
        r = later + _per_sample(deltas[i] * np.abs(zs[i])) + cost_part + tiny
        fd_rounding["delta", layer] = float(r.max())
        fd_rounding["nabla_b", layer] = fd_rounding["nabla_w", layer] = float(r.mean())
        # what layer i's re-run rounds: its dot products and σ's rounding of its input a^{l−1}
        rerun = local[i] + terms[i].carry(layers[i], ws[i], SIGMA_ULPS * acts[i]) if i else local[i]
        later = later + _per_sample(deltas[i] * rerun)

    fd_truncation: dict[tuple[str, int], float] = {}
    for i in range(L):
        if maps:  # every perturbation's own jet, from where it moves z^l
            fd_truncation.update(
                _map_truncation(layers, ws, zs, acts, errs, cost, out, i, step, sample)
            )
            continue
        reach = step * terms[i].fd_reach(layers[i], acts[i])
        third = _third_derivatives(layers, ws, zs, errs, cost, out, i, reach)
        layer, h2 = i + 2, step * step / 6
        bias_third, weight_third = terms[i].fd_parameters(layers[i], third, acts[i])
        fd_truncation["delta", layer] = h2 * float(third.max())
        fd_truncation["nabla_b", layer] = h2 * float(bias_third.max())
        fd_truncation["nabla_w", layer] = h2 * float(weight_third.max())
    underflow = complex_step_underflow(layers, ws, grads.deltas, y.shape[0])
    return ErrorScales(rounding, fd_rounding, fd_truncation, rounding_norm, underflow, step, pools)


def complex_step_underflow(
    layers: Sequence[Layer], ws: Sequence[Array], deltas: Sequence[Array], n_out: int
) -> dict[tuple[str, int], float]:
    """U per (quantity, layer), the complex step's underflow in units of η/h (errormodel.tolerances
    multiplies by η/h, h the oracle's step): η at the
    imaginary part of z^k_j moves C_x by δ^{x,k}_j, at a^k_j by (|w^{k+1}|ᵀ|δ^{k+1}|)_j; a
    perturbation of layer l passes n_{k−1} + 2 operations per z^k_j (k > l), one σ per a^k_j
    (k ≥ l), and the cost's n_L + 3 (a dense layer's counts: each layer type's are its
    :data:`~errormodel.layer_terms.LAYER_TERMS` entry's)."""
    terms = [layer_terms(layer) for layer in layers]
    per_sample = np.full(deltas[-1].shape[1], n_out + 3.0)
    found: dict[tuple[str, int], float] = {}
    for i in range(len(deltas) - 1, -1, -1):
        d = np.abs(deltas[i])
        # ∂C_x/∂a^L = a − y (quadratic; cross-entropy reads z^L): |δ^L| + 2 bounds it, y ∈ [0, 1]
        if i + 1 < len(ws):
            sigma = terms[i + 1].cs_back(layers[i + 1], ws[i + 1], np.abs(deltas[i + 1]))
        else:
            sigma = d + 2
        u = per_sample + _per_sample(sigma)
        layer = i + 2
        found["delta", layer] = float(u.max())
        found["nabla_b", layer] = found["nabla_w", layer] = float(u.mean())
        per_sample = u + terms[i].cs_operations(layers[i], ws[i]) * _per_sample(d)
    return found


def _per_sample(a: Array) -> Array:
    """Σ over every axis but the sample's (the last): rows, or a map's channels and positions."""
    return a.reshape(-1, a.shape[-1]).sum(axis=0)


#: Floats of one start stack (P, *z^l.shape) of the map FD jet: a net's perturbations run in
#: chunks of at most this many (every curated and random small net in one).
JET_CHUNK_FLOATS = 2**23


def _map_truncation(
    layers: Sequence[Layer],
    ws: tuple[Array, ...],
    zs: tuple[Array, ...],
    acts: list[Array],
    errs: list[ActivationErrors],
    cost: CostErrors,
    out: OutputLayer,
    i: int,
    step: float,
    sample: Mapping[tuple[str, int], Index],
) -> dict[tuple[str, int], float]:
    """F of layer l = i + 2 in a net with feature maps: each perturbation's jet starts from where
    it moves z^l (δ: one element of every sample, read per sample; b^l, w^l: |∂z^l/∂θ|, the
    layer type's ``fd_directions``), swept over h·c₁; F3 per sample, then as for dense layers.
    Only the perturbations of the elements judged (``sample``, :func:`map_sample`; all if absent)
    run, in chunks: F bounds the truncation of those elements."""
    layer, z, h2 = layers[i], zs[i], step * step / 6
    shape, m = z.shape[:-1], z.shape[-1]

    def units(p: Index) -> Array:
        unit = np.zeros((len(p), math.prod(shape)))
        unit[np.arange(len(p)), p] = 1.0
        return np.repeat(unit.reshape(len(p), *shape, 1), m, axis=-1)

    bias, weight = layer_terms(layer).fd_directions(layer, acts[i], z.shape)
    counts = (math.prod(shape), math.prod(layer.bias_shape), math.prod(layer.weight_shape))
    widest = max(a.size for a in zs[i:])
    size = max(1, JET_CHUNK_FLOATS // widest)
    found: dict[tuple[str, int], float] = {}
    for quantity, start, count in zip(QUANTITIES, (units, bias, weight), counts, strict=True):
        which = sample.get((quantity, i + 2), np.arange(count))
        worst = 0.0
        for at in range(0, len(which), size):
            third = _third_derivatives(
                layers, ws, zs, errs, cost, out, i, step, start(which[at : at + size])
            )
            # δ: per sample; b^l, w^l: the batch mean of the samples'
            worst = max(worst, float((third if quantity == "delta" else third.mean(axis=-1)).max()))
        if len(which):
            found[quantity, i + 2] = h2 * worst
    return found


def _third_derivatives(
    layers: Sequence[Layer],
    ws: tuple[Array, ...],
    zs: tuple[Array, ...],
    errs: list[ActivationErrors],
    cost: CostErrors,
    out: OutputLayer,
    i: int,
    reach: float,
    start: Array | None = None,
) -> Array:
    """|∂³C_x/∂(z^l_j)³| bounded over a step of ``reach``, shape (n_l, m): row j, sample x; or,
    given a ``start`` stack (P, *z^l.shape), along each of its P directions, shape (P, m).

    A jet (c₁, c₂, c₃) per perturbed row j, leading axis, goes through layers l…L in absolute
    values (module docstring); each σ^{(n)} is bounded over the reach c₁·reach (doubled, for
    the higher-order terms).
    """
    if start is None:
        n, m = zs[i].shape
        start = np.repeat(np.eye(n)[:, :, None], m, axis=2)
    c1: Array = start
    c2, c3 = np.zeros_like(c1), np.zeros_like(c1)
    for k in range(i, len(zs) - 1):
        d1, d2, d3 = errs[k].bounds(zs[k], 2 * reach * c1)
        a1, a2 = d1 * c1, d1 * c2 + d2 * c1**2 / 2
        a3 = d1 * c3 + d2 * c1 * c2 + d3 * c1**3 / 6
        c1, c2, c3 = layer_terms(layers[k + 1]).jet(layers[k + 1], ws[k + 1], (a1, a2, a3))
    out_stack = OutputLayer(out.z[None], out.a[None], out.y[None], out.errors)
    if cost.jet_third is not None:  # softmax output: C_x is not a sum over output neurons
        return cost.jet_third(out_stack, c1, c2, c3, 2 * reach * c1)
    g1, g2, g3 = cost.z_derivatives(out_stack, 2 * reach * c1)
    return 6 * np.sum(g1 * c3 + g2 * c1 * c2 + g3 * c1**3 / 6, axis=1)
