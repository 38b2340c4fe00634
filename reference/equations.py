"""The forward equation and the four equations of backpropagation (Nielsen, ch. 2), one
function each.

All arrays hold one sample per column, so each function serves one sample or a whole mini-batch.
"""

from __future__ import annotations

import numpy as np

from reference.types import Array


def weighted_input(w: Array, a_prev: Array, b: Array) -> Array:
    """z^l = w^l a^{l−1} + b^l (book eq. 25), one column per sample."""
    z = w @ a_prev
    z += b  # in place: the same sum, one array fewer
    return z


def output_error(nabla_a_cost: Array, sigma_prime_z_out: Array) -> Array:
    """BP1: δ^L = ∇_a C ⊙ σ'(z^L), the error of the output layer."""
    return nabla_a_cost * sigma_prime_z_out


def output_error_general(nabla_a_cost: Array, jacobian_z_out: Array) -> Array:
    """BP1, general form: δ^L = J_σ(z^L)ᵀ ∇_a C, i.e. δ^L_j = Σ_k (∂a^L_k/∂z^L_j) ∂C/∂a^L_k.

    ``jacobian_z_out[k, j, x]`` is ∂a^L_k/∂z^L_j for sample x. For an elementwise σ the Jacobian
    is diag σ'(z^L) and this is :func:`output_error`; a softmax output needs the full sum.
    """
    return np.einsum("kjx,kx->jx", jacobian_z_out, nabla_a_cost)


def backpropagate_error(w_next: Array, delta_next: Array, sigma_prime_z: Array) -> Array:
    """BP2: δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l), the error of layer l from that of layer l+1."""
    delta = w_next.T @ delta_next
    delta *= sigma_prime_z  # in place: the same product, one array fewer
    return delta


def bias_gradient(delta: Array) -> Array:
    """BP3: ∂C/∂b^l_j = δ^l_j, averaged over the mini-batch's columns (C is the mean cost)."""
    return delta.sum(axis=1, keepdims=True) / delta.shape[1]


def weight_gradient(delta: Array, a_prev: Array) -> Array:
    """BP4: ∂C/∂w^l_jk = a^{l−1}_k δ^l_j, averaged over the mini-batch (an outer product a sample).

    ``delta @ a_prev.T`` sums the per-sample outer products δ^{x,l} (a^{x,l−1})^T; dividing δ by m
    first touches n_l·m numbers rather than the n_l·n_{l−1} of the result.
    """
    return (delta / delta.shape[1]) @ a_prev.T
