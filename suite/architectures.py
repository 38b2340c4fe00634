"""The architectures the gate runs: a curated registry (one line a case) and seeded random ones.

Add a curated case by adding one line to :data:`CURATED`; nothing else changes. A malformed line
is not rejected here: its cases fail alone with a message naming it, and the others still run.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np

from reference import Architecture
from reference.activations import OUTPUT_ONLY
from reference.costs import COSTS, SOFTMAX_OUTPUT_COSTS
from reference.layers import Conv, MaxPool
from reference.vocabulary import ACTIVATION_NAMES, COST_NAMES

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
    # σ' rounds to 0 in every layer: the reference's δ is 0, the exact one (the complex step's)
    # 7.7e-185 at layer 2, which only the bound's second-order ε·κ term covers
    A((1, 1, 1, 1), ("tanh", "identity", "sigmoid"), seed=3, weight_scale=30.0),
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


#: The tails family (issue 21): small nets whose pre-activations reach |z| from 20 to 745 in
#: sigmoid, tanh, softplus and softmax layers, with confident outputs right and wrong (y ∈ {0, 1}
#: and a → 0 or 1), subnormal gradients and exact zeros. Where the book's formulas lose every
#: digit (σ(1 − σ), 1 − tanh², a − y of a saturated output, the softmax VJP), and where only the
#: ground truth (oracles/exact.py) can tell. tests/test_architectures.py checks each claim.
TAILS: list[Architecture] = [
    # z up to 715, σ' subnormal in one element; 11 confident-right, 15 confident-wrong outputs
    A((1, 4), "sigmoid", "cross_entropy", batch=8, seed=2, input_scale=300.0, targets="binary"),
    # tanh saturated (|z| to 700: sech² rounds to 0), then a confident sigmoid output
    A(
        (2, 3, 4),
        ("tanh", "sigmoid"),
        batch=4,
        seed=9,
        weight_scale=40.0,
        input_scale=10.0,
        targets="binary",
    ),
    # softplus at both ends (|z| to 120), softmax over z up to 670: a^L_y → 1 and → 0
    A(
        (2, 3, 4),
        ("softplus", "softmax"),
        "log_likelihood",
        batch=6,
        weight_scale=8.0,
        input_scale=30.0,
    ),
    # dead relu units (exact zeros), sigmoid output |z| to 433, right and wrong
    A(
        (3, 4, 2),
        ("relu", "sigmoid"),
        "cross_entropy",
        batch=6,
        weight_scale=10.0,
        input_scale=10.0,
        targets="binary",
    ),
    # the softmax VJP under the quadratic cost, |z| to 672, one subnormal gradient
    A((2, 4), "softmax", "quadratic", batch=6, seed=3, input_scale=200.0),
    # a sigmoid output at z = -49.7 with a target of 0.0027 (σ − y = −y): torch's forward-mode
    # BCE-with-logits loses eps times its tangent (torch:bce-logits-jvp-tangent; found by
    # hypothesis)
    A((2, 2, 1), ("identity", "sigmoid"), "cross_entropy", weight_scale=10.0),
]

#: Feature maps (the book's ch. 6, issue 25): convolutions and max-pools before dense layers,
#: the LeNet-like net and the edge cases where hand-written conv backprop goes wrong.
MAPS: list[Architecture] = [
    A(
        ((1, 28, 28), Conv(20, 5), MaxPool(2), Conv(40, 5), MaxPool(2), 100, 10),
        ("sigmoid", "identity", "sigmoid", "identity", "sigmoid", "softmax"),
        "log_likelihood",
        batch=2,
    ),  # the book's chapter 6 net: 20 maps of 5×5, pool 2×2, 40 maps of 5×5, pool 2×2
    A(((2, 6, 6), Conv(3, 1), 4), "tanh", batch=3),  # 1×1 kernels: a dense map per position
    A(((3, 5, 5), Conv(4, 5), 2), "sigmoid", "cross_entropy", batch=2),  # kernel = input size
    A(((2, 7, 6), Conv(3, 3, stride=2, padding=1), 3), "tanh", batch=2),  # stride 2, padding 1
    A(((2, 6, 6), Conv(2, (2, 3), stride=3, padding=2), 4), batch=2),  # stride > kernel, 2×3
    A(((1, 7, 7), Conv(2, 3), MaxPool(3, stride=1), 3), "softplus", batch=2),  # windows overlap
    A(
        ((1, 8, 8), Conv(3, 3), MaxPool(2), 3),
        ("relu", "identity", "sigmoid"),
        "cross_entropy",
        batch=3,
    ),  # dead relus: pool windows of tied zeros
    A(((2, 6, 6), Conv(3, 3), MaxPool(2), Conv(2, 2), 3), "tanh", batch=2, weight_scale=30.0),
    A(((1, 8, 8), Conv(2, 3), Conv(3, 3, stride=2, padding=1), 3), "tanh", batch=2),  # BP2 strided
]

#: Truth comparisons an oracle of ours cannot make on a tails net, with the reason (counted as
#: not applicable, never passed). The complex step's imaginary parts underflow or cancel where
#: the exact gradient is ~1e-40 and below: its value is 0 there (measured: 0 for −1.2e-40 and
#: −2.6e-38, 4.1e-27 for 8.4e-27), beyond its error model, which covers only its truncation, its
#: rounding relative to B and underflow of what reaches the cost.
_CS_TAILS = (
    "the complex step loses the digits of gradients ~1e-40 and below in saturated tanh, sigmoid "
    "and softmax layers (0 where the truth is -1.2e-40): outside its error model"
)
TRUTH_NOT_APPLICABLE: dict[tuple[str, str], str] = {
    (TAILS[1].id, "complex_step"): _CS_TAILS,
    (TAILS[2].id, "complex_step"): _CS_TAILS,
    (TAILS[4].id, "complex_step"): _CS_TAILS,
}

#: The ground truth also judges this many seeded random nets: the first ones of the default
#: random draw (seed 0) with at most TRUTH_MAX_WEIGHTS weights and TRUTH_MAX_DEPTH layers. The
#: sample is fixed (TRUTH_SAMPLE, whatever --random-seed), so the known-bug patterns that name
#: its comparisons (oracles/known_upstream.toml) stay true.
TRUTH_RANDOM = 2
TRUTH_MAX_WEIGHTS = 300
TRUTH_MAX_DEPTH = 4


def truth_sample(randoms: Sequence[Architecture]) -> list[Architecture]:
    """The random nets the ground truth judges: the first TRUTH_RANDOM small ones."""
    small = [
        a
        for a in randoms
        if not a.problems()
        and a.depth <= TRUTH_MAX_DEPTH
        and sum(n * k for n, k in itertools.pairwise(a.sizes)) <= TRUTH_MAX_WEIGHTS
    ]
    return small[:TRUTH_RANDOM]


def curated(arch_id: str) -> Architecture:
    """The curated entry with this id: tests pick cases by id, which keeps its meaning when a
    line is inserted (a position does not)."""
    for arch in CURATED + TAILS + MAPS:
        if arch.id == arch_id:
            return arch
    raise KeyError(f"no curated architecture {arch_id!r}")


#: Bounds of the random architectures (inclusive).
WEIGHT_LAYERS = (1, 6)
WIDTHS = (1, 32)
BATCH = (1, 16)
#: How many names of each vocabulary order the random draw picks from uniformly by the case's own
#: generator (the names of the first draw). A name appended later enters by its own coins.
FIRST_ACTIVATIONS = 6
FIRST_COSTS = 2


def random_architectures(count: int, seed: int) -> list[Architecture]:
    """``count`` architectures drawn from ``seed``: 1–6 weight layers, widths 1–32, an activation
    per layer, a cost (cross-entropy gets a sigmoid output layer, the log-likelihood a softmax
    one), batch size 1–16. Softmax, valid only at the output layer, is drawn only there, and
    under a cost not defined on it (``reference.costs.SOFTMAX_OUTPUT_COSTS``) gives way to the
    first names' draw.

    Case i depends only on (seed, i), so raising ``count`` keeps the earlier cases; and the names
    are drawn from the append-only vocabulary orders (:mod:`reference.vocabulary`) so that adding
    a name keeps every earlier draw except where the new name itself is drawn (:func:`_names`).
    """
    if count < 0:
        raise ValueError(f"random architecture count must be >= 0, got {count}")
    archs = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        depth = int(rng.integers(WEIGHT_LAYERS[0], WEIGHT_LAYERS[1] + 1))
        sizes = tuple(int(n) for n in rng.integers(WIDTHS[0], WIDTHS[1] + 1, depth + 1))
        first = [str(a) for a in rng.choice(ACTIVATION_NAMES[:FIRST_ACTIVATIONS], depth)]
        key = (seed, i, 0)
        acts = _names(first, ACTIVATION_NAMES, FIRST_ACTIVATIONS, key, last_only=OUTPUT_ONLY)
        first_cost = str(rng.choice(COST_NAMES[:FIRST_COSTS]))
        cost = _names([first_cost], COST_NAMES, FIRST_COSTS, (seed, i, 1))[0]
        if COSTS[cost].requires_output:
            acts[-1] = COSTS[cost].requires_output or acts[-1]
        elif acts[-1] in OUTPUT_ONLY and cost not in SOFTMAX_OUTPUT_COSTS:
            acts[-1] = first[-1]  # the first names' draw: elementwise
        batch = int(rng.integers(BATCH[0], BATCH[1] + 1))
        archs.append(A(sizes, tuple(acts), cost, batch=batch, seed=int(rng.integers(2**31))))
    return archs


#: Bounds of the random feature-map nets (inclusive): input maps, side, map layers, kernel side,
#: dense layers after them.
MAP_CHANNELS = (1, 3)
MAP_SIDE = (4, 10)
MAP_LAYERS = (1, 3)
KERNEL = (1, 4)
MAP_DENSE = (0, 1)
#: The elementwise activations a map layer may draw (softmax is an output layer's).
MAP_ACTIVATIONS = tuple(name for name in ACTIVATION_NAMES if name not in OUTPUT_ONLY)


def random_map_architectures(count: int, seed: int) -> list[Architecture]:
    """``count`` feature-map nets drawn from ``seed``, by a stream of their own (the dense draws of
    :func:`random_architectures` stay as they are): an input of 1–3 maps of 4–10 × 4–10, 1–3
    map layers (a convolution of 1–4 maps, a kernel of 1–4 per side, stride 1–2, padding 0–1, or
    a max-pool of window 2–3 at stride 1 or its window), 0–1 hidden dense layers of 1–8, an
    output of 1–5, an elementwise activation per layer, a cost, batch 1–4. A draw whose shapes do
    not fit (a kernel larger than its input) shrinks the kernel or drops the layer.
    Case i depends only on (seed, i)."""
    if count < 0:
        raise ValueError(f"random architecture count must be >= 0, got {count}")
    archs = []
    for i in range(count):
        rng = np.random.default_rng([seed, i, 25])
        c = int(rng.integers(MAP_CHANNELS[0], MAP_CHANNELS[1] + 1))
        h, w = (int(n) for n in rng.integers(MAP_SIDE[0], MAP_SIDE[1] + 1, 2))
        sizes: list[object] = [(c, h, w)]
        shape: tuple[int, ...] = (c, h, w)
        for _ in range(int(rng.integers(MAP_LAYERS[0], MAP_LAYERS[1] + 1))):
            spec = _map_layer(rng, shape)
            if spec is None:
                break
            sizes.append(spec)
            shape = spec_out(spec, shape)
        hidden = int(rng.integers(MAP_DENSE[0], MAP_DENSE[1] + 1))
        sizes += [int(n) for n in rng.integers(1, 9, hidden)]
        sizes.append(int(rng.integers(1, 6)))
        cost = str(rng.choice(COST_NAMES))
        acts = [
            "identity" if isinstance(s, MaxPool) else str(rng.choice(MAP_ACTIVATIONS))
            for s in sizes[1:]
        ]
        need = COSTS[cost].requires_output
        if need is not None:
            acts[-1] = need
        batch = int(rng.integers(1, 5))
        archs.append(A(tuple(sizes), tuple(acts), cost, batch=batch, seed=int(rng.integers(2**31))))
    return archs


def spec_out(spec: Conv | MaxPool, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The maps a layer spec makes from maps of ``shape``."""
    return replace(spec, in_shape=shape).out_shape


def _map_layer(rng: np.random.Generator, shape: tuple[int, ...]) -> Conv | MaxPool | None:
    """A convolution or a max-pool that fits maps of ``shape`` (None if nothing fits)."""
    side = min(shape[1], shape[2])
    if rng.random() < 0.3:
        window = int(rng.integers(2, 4))
        stride = None if rng.random() < 0.5 else 1
        return MaxPool(window, stride) if window <= side else None
    padding = int(rng.integers(0, 2))
    k_h, k_w = (min(int(k), side + 2 * padding) for k in rng.integers(KERNEL[0], KERNEL[1] + 1, 2))
    kernel: int | tuple[int, int] = k_h if k_h == k_w else (k_h, k_w)
    stride = int(rng.integers(1, 3))
    return Conv(int(rng.integers(1, 5)), kernel, stride=stride, padding=padding)


def _names(
    drawn: list[str],
    order: Sequence[str],
    first: int,
    key: tuple[int, int, int],
    last_only: Collection[str] = (),
) -> list[str]:
    """Each of ``drawn`` (uniform over ``order[:first]``) made uniform over the names of ``order``
    it may take: the name at position k ≥ first replaces a draw with probability 1/(the number of
    names it may take in order[: k + 1]), by a coin of its own (seeded by ``key`` and k), as in
    reservoir sampling. Names in ``last_only`` may replace only the last draw (the output layer).
    A name appended later changes only the draws its own coins take; the case's generator is not
    touched."""
    drawn = list(drawn)
    for k in range(first, len(order)):
        coins = np.random.default_rng([*key, k]).random(len(drawn))
        for e, coin in enumerate(coins):
            last = e == len(drawn) - 1
            if order[k] in last_only and not last:
                continue
            eligible = sum(1 for n in order[: k + 1] if last or n not in last_only)
            if coin * eligible < 1:
                drawn[e] = order[k]
    return drawn


#: The random nets the ground truth judges (:func:`truth_sample` of the default draw).
#: From the default gate's draw: suite.options.RANDOM_COUNT random nets of seed 0.
TRUTH_SAMPLE_DRAW = 60
TRUTH_SAMPLE: list[Architecture] = truth_sample(random_architectures(TRUTH_SAMPLE_DRAW, 0))
