"""The architectures the gate runs: a curated registry (one line a case) and seeded random ones.

Add a curated case by adding one line to :data:`CURATED`; nothing else changes. A malformed line
is not rejected here: its cases fail alone with a message naming it, and the others still run.
"""

from __future__ import annotations

import numpy as np

from reference import Architecture
from reference.activations import ACTIVATIONS, OUTPUT_ONLY
from reference.costs import COSTS

A = Architecture

CURATED: list[Architecture] = [
    A((784, 30, 10), "sigmoid", "quadratic", batch=10, init="normal"),  # the book's network.py net
    A((2, 3, 1), "sigmoid", "quadratic", batch=4),  # a toy small enough to check by hand
    A((5, 4, 4, 4, 4, 4, 3), "tanh", "quadratic", batch=3),  # deep and narrow: 6 weight layers
    A((8, 3, 3, 3, 3, 3, 3, 3, 2), "sigmoid", "cross_entropy", batch=5),  # deeper, 8 weight layers
    A((1, 1, 1, 1), "sigmoid", "quadratic", batch=2),  # width-1 layers throughout
    A(
        (3, 1, 4, 1, 2), ("relu", "tanh", "softplus", "sigmoid"), "quadratic", batch=3
    ),  # width-1 necks
    A((6, 256, 4), ("relu", "identity"), "quadratic", batch=8),  # one wide layer
    A((7, 6, 5, 4, 3), ("tanh", "relu", "leaky_relu", "softplus"), "quadratic", batch=6),  # mixed
    A((5, 5, 5, 5), ("leaky_relu", "softplus", "identity"), "quadratic", batch=4),  # square layers
    A((10, 20, 10), "sigmoid", "cross_entropy", batch=16),  # network2.py's cross-entropy cost
    A((12, 8, 6), ("tanh", "sigmoid"), "cross_entropy", batch=1),  # batch size 1
    A(
        (4, 6, 6, 3), ("softplus", "tanh", "identity"), "quadratic", batch=1
    ),  # batch size 1, linear out
    # Saturation and scale (found by generated cases; a result-scaled tolerance flags them all):
    A((4, 6, 6, 3), "tanh", "quadratic", batch=4, weight_scale=30.0),  # σ' underflows to 0
    A((15, 3, 11), ("sigmoid", "tanh"), "quadratic", batch=2, seed=1830613352, weight_scale=100.0),
    A(
        (8, 20, 1, 18),
        ("softplus", "tanh", "identity"),
        batch=8,
        seed=1974910391,
        weight_scale=10.0,
    ),  # a saturated width-1 neck
    A(
        (27, 1, 8, 26),
        ("identity", "leaky_relu", "tanh"),
        batch=14,
        seed=1972332821,
        weight_scale=30.0,
    ),  # jax's tanh' differs most here
    A((6, 5, 2), ("tanh", "sigmoid"), "cross_entropy", batch=3, weight_scale=10.0),
    A((3, 2), "sigmoid", "cross_entropy", batch=4, input_scale=1e3),  # σ(z^L) rounds to 1
    A((6, 5, 3), ("tanh", "sigmoid"), "cross_entropy", batch=4, weight_scale=30.0),  # after tanh ±1
    A((1, 5), "sigmoid", "cross_entropy", seed=102109006, weight_scale=10.0),  # jax: σ(33.3) = 1
    A((13, 1, 7), ("tanh", "leaky_relu"), batch=7, seed=1148698862, input_scale=1e3),
    A((5, 4, 3), ("tanh", "sigmoid"), "quadratic", batch=3, input_scale=1e8),  # |z| ~ 3e8
    # Softmax output layers (book ch. 3): δ^L = a − y for the log-likelihood, J_σ(z^L)ᵀ ∇_a C
    # for the quadratic cost; the FD oracle moves every a^L_k with z^L_j.
    A((784, 30, 10), ("sigmoid", "softmax"), "log_likelihood", batch=10),  # ch. 3's network
    A((3, 4, 3), ("tanh", "softmax"), "log_likelihood", batch=4),  # small enough to check by hand
    A((5, 4, 3), ("relu", "softmax"), "quadratic", batch=3),  # BP1's Jacobian form matters here
    A((6, 1, 5), ("sigmoid", "softmax"), "log_likelihood", batch=2),  # a width-1 neck
    A((4, 3), "softmax", "quadratic", batch=1),  # one layer, batch size 1
    A((6, 5, 4), ("tanh", "softmax"), "log_likelihood", batch=4, weight_scale=30.0),  # saturated
    A((4, 6), "softmax", "log_likelihood", batch=5, input_scale=1e3),  # a^L_y underflows to 0
    A((4, 6), "softmax", "quadratic", batch=5, input_scale=1e3),  # J_σ(z^L) underflows to 0
]

#: Bounds of the random architectures (inclusive).
WEIGHT_LAYERS = (1, 6)
WIDTHS = (1, 32)
BATCH = (1, 16)
#: Share of random architectures given a softmax output, and of those the log-likelihood cost
#: (the rest: quadratic, BP1's Jacobian form).
SOFTMAX_SHARE = 0.25
LOG_LIKELIHOOD_SHARE = 0.5


def random_architectures(count: int, seed: int) -> list[Architecture]:
    """``count`` architectures drawn from ``seed``: 1–6 weight layers, widths 1–32, an activation
    per layer, a cost (cross-entropy gets a sigmoid output layer), batch size 1–16; a quarter
    then get a softmax output with the log-likelihood or the quadratic cost.

    Case i depends only on (seed, i), so raising ``count`` keeps the earlier cases. The softmax
    choice is drawn last, from the elementwise activations and costs as before it existed, so a
    case that is not given a softmax output is the one those seeds drew before.
    """
    if count < 0:
        raise ValueError(f"random architecture count must be >= 0, got {count}")
    names = sorted(n for n in ACTIVATIONS if n not in OUTPUT_ONLY)
    costs = sorted(c for c in COSTS if COSTS[c].requires_output not in OUTPUT_ONLY)
    archs = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        depth = int(rng.integers(WEIGHT_LAYERS[0], WEIGHT_LAYERS[1] + 1))
        sizes = tuple(int(n) for n in rng.integers(WIDTHS[0], WIDTHS[1] + 1, depth + 1))
        acts = [str(a) for a in rng.choice(names, depth)]
        cost = str(rng.choice(costs))
        if COSTS[cost].requires_output:
            acts[-1] = COSTS[cost].requires_output or acts[-1]
        batch = int(rng.integers(BATCH[0], BATCH[1] + 1))
        case_seed = int(rng.integers(2**31))
        if rng.random() < SOFTMAX_SHARE:  # drawn after everything else: earlier draws unchanged
            acts[-1] = "softmax"
            cost = "log_likelihood" if rng.random() < LOG_LIKELIHOOD_SHARE else "quadratic"
        archs.append(A(sizes, tuple(acts), cost, batch=batch, seed=case_seed))
    return archs
