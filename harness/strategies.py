"""Generated architectures for hypothesis, the property they must satisfy, and its profiles.

:func:`architectures` draws whole :class:`~reference.Architecture` records — depth, widths
(1 included), an activation per layer, a cost (cross-entropy gets its sigmoid output layer, the
log-likelihood its softmax one; a cost defined on a softmax output, the quadratic, may get one
too), batch size, initialisation, weight and input scale, seed — within size caps. Every choice
shrinks towards the simplest record: one weight layer, width 1, identity, quadratic cost,
batch 1, unscaled, seed 0; so a failure is reported on a minimal architecture, and its ``repr``
is the one line that reproduces it as a curated case.

Profiles (``pytest --hypothesis-profile NAME``): ``ci`` (the default: a fixed, derandomised set,
the same examples on every run), ``dev`` (random, seedable with ``--hypothesis-seed``, with an
example database) and ``soak`` (many random examples).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import hypothesis
from hypothesis import HealthCheck, reject
from hypothesis import strategies as st

from errormodel.compare import Comparison
from harness.cases import ReferenceFailure, build_case, compare_all, oracle_output
from oracles import NotApplicable
from reference import Architecture
from reference.activations import ACTIVATION_INFO, OUTPUT_ONLY
from reference.architecture import INITS
from reference.costs import COSTS, SOFTMAX_OUTPUT_COSTS
from reference.layers import Conv, MaxPool

#: Size caps: every oracle runs each example, and a failure shrinks by rerunning it many times.
MAX_WEIGHT_LAYERS = 4
MAX_WIDTH = 8
MAX_BATCH = 6
#: Drawn activations, simplest first (hypothesis shrinks towards the first). Softmax, valid only
#: at the output layer, is last: every layer draws from the elementwise ones, and the output layer
#: becomes softmax by the cost's requirement or, under another cost, by a coin of its own.
ACTIVATION_ORDER = tuple(sorted(ACTIVATION_INFO, key=lambda name: ACTIVATION_INFO[name].simplicity))
ELEMENTWISE_ORDER = tuple(a for a in ACTIVATION_ORDER if a not in OUTPUT_ONLY)
COST_ORDER = tuple(COSTS)  # the reference's order, simplest first
#: Weight and input scales, 1 first: ×10…×100 weights saturate sigmoid and tanh layers (σ' ≈ 0)
#: and make |z| large; ×1e3 and ×1e8 inputs stress the forward pass and the FD step.
WEIGHT_SCALES = (1.0, 3.0, 10.0, 30.0, 100.0)
INPUT_SCALES = (1.0, 1e3, 1e8)

PROFILES = {
    "ci": {"max_examples": 25, "derandomize": True, "database": None},
    "dev": {"max_examples": 100},
    "soak": {"max_examples": 2000},
}
for _name, _options in PROFILES.items():
    hypothesis.settings.register_profile(
        _name,
        deadline=None,  # the first example of a shape pays jax's compilation
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **_options,  # type: ignore[arg-type]
    )
DEFAULT_PROFILE = "ci"
#: Generated map nets per test at most, whatever the profile: each new shape costs JAX a compile
#: (about 0.3 s), so the soak profile's 2,000 took the map test alone past 9 minutes of CPU; the
#: seeded map nets of ``nox -s soak_maps`` carry the volume.
MAP_EXAMPLES = 100


def map_examples() -> int:
    """The active profile's max_examples, capped at MAP_EXAMPLES (read when a test is defined:
    pytest's hypothesis plugin has loaded the profile by then)."""
    active = hypothesis.settings.default
    return MAP_EXAMPLES if active is None else min(active.max_examples, MAP_EXAMPLES)


@st.composite
def architectures(
    draw: st.DrawFn,
    max_weight_layers: int = MAX_WEIGHT_LAYERS,
    max_width: int = MAX_WIDTH,
    max_batch: int = MAX_BATCH,
) -> Architecture:
    """A well-formed architecture within the caps (module docstring)."""
    depth = draw(st.integers(1, max_weight_layers))
    sizes = tuple(draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1)))
    cost = draw(st.sampled_from(COST_ORDER))
    acts = draw(st.lists(st.sampled_from(ELEMENTWISE_ORDER), min_size=depth, max_size=depth))
    need = COSTS[cost].requires_output
    if need is not None:
        acts[-1] = need
    elif cost in SOFTMAX_OUTPUT_COSTS and draw(st.booleans()):  # BP1's Jacobian form
        acts[-1] = "softmax"
    return Architecture(
        sizes,
        acts[0] if len(set(acts)) == 1 else tuple(acts),
        cost,
        batch=draw(st.integers(1, max_batch)),
        seed=draw(st.integers(0, 2**32 - 1)),
        init=draw(st.sampled_from(INITS)),
        weight_scale=draw(st.sampled_from(WEIGHT_SCALES)),
        input_scale=draw(st.sampled_from(INPUT_SCALES)),
    )


#: Caps of the generated feature-map nets: input maps, their side, map layers, kernel side.
MAX_MAPS_IN = 2
MAX_SIDE = 7
MAX_MAP_LAYERS = 2
MAX_KERNEL = 3


@st.composite
def map_architectures(draw: st.DrawFn) -> Architecture:
    """A well-formed feature-map net within the caps: an input of 1–2 maps, 1–2 convolutions
    (1–3 maps, kernels 1–3 per side, stride 1–2, padding 0–1) or max-pools (window 2–3, at its
    own stride or 1), a dense output of 1–4; shrinking towards one 1×1 convolution of one map,
    identity, quadratic cost, batch 1."""
    shape: tuple[int, ...] = (
        draw(st.integers(1, MAX_MAPS_IN)),
        draw(st.integers(1, MAX_SIDE)),
        draw(st.integers(1, MAX_SIDE)),
    )
    sizes: list[object] = [shape]
    for _ in range(draw(st.integers(1, MAX_MAP_LAYERS))):
        side = min(shape[1], shape[2])
        layer: Conv | MaxPool
        if side >= 2 and draw(st.booleans()):
            window = draw(st.integers(2, min(3, side)))
            layer = MaxPool(window, draw(st.sampled_from((None, 1))))
        else:
            padding = draw(st.integers(0, 1))
            k_h = draw(st.integers(1, min(MAX_KERNEL, shape[1] + 2 * padding)))
            k_w = draw(st.integers(1, min(MAX_KERNEL, shape[2] + 2 * padding)))
            kernel = k_h if k_h == k_w else (k_h, k_w)
            stride = draw(st.integers(1, 2))
            layer = Conv(draw(st.integers(1, 3)), kernel, stride=stride, padding=padding)
        sizes.append(layer)
        shape = replace(layer, in_shape=shape).out_shape
    sizes.append(draw(st.integers(1, 4)))
    cost = draw(st.sampled_from(COST_ORDER))
    acts = [
        "identity" if isinstance(s, MaxPool) else draw(st.sampled_from(ELEMENTWISE_ORDER))
        for s in sizes[1:]
    ]
    need = COSTS[cost].requires_output
    if need is not None:
        acts[-1] = need
    return Architecture(
        tuple(sizes),
        tuple(acts),
        cost,
        batch=draw(st.integers(1, 3)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@dataclass
class Disagreement(AssertionError):
    """An oracle disagrees with the reference beyond the error model on a generated case."""

    arch: Architecture
    comparison: Comparison

    def __str__(self) -> str:
        return (
            f"{self.comparison.message()}\n"
            f"reproduce it as a curated case, one line in CURATED (suite/architectures.py):\n"
            f"    {self.arch!r},"
        )


def check_architecture(arch: Architecture, oracle: str) -> list[Comparison]:
    """The gate's comparisons of one oracle on ``arch``; raises :class:`Disagreement` at the
    first that fails. A case whose reference overflows is not a test of the oracle: rejected."""
    try:
        case = build_case(arch)
    except ReferenceFailure as exc:
        hypothesis.event(f"reference failure: {exc.__cause__}")
        reject()
    try:
        output = oracle_output(arch, oracle)
    except NotApplicable as exc:  # the complex step on a relu net: not a test of that oracle
        hypothesis.event(f"not applicable: {type(exc).__name__}")
        reject()
    comparisons = compare_all(case, output, oracle)
    for comparison in comparisons:
        if not comparison.passed:
            raise Disagreement(arch, comparison)
    return comparisons
