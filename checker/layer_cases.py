"""The cases a learner's layer functions are checked on: one record each, and their seeded arrays.

Course assignments write a convolution and a max-pool as four functions with the samples on the
leading axis: ``conv_forward(x, w, b, conv_param)`` → (out, cache) with x (N, C, H, W), w (F, C, HH,
WW), b (F,), conv_param {'stride', 'pad'}; ``conv_backward(dout, cache)`` → (dx, dw, db);
``max_pool_forward(x, pool_param)`` → (out, cache) with pool_param {'pool_height', 'pool_width',
'stride'}; ``max_pool_backward(dout, cache)`` → dx. The cases separate the bugs: stride 1 and 2 (and
3), padding 0, 1 and 2, kernels that are neither square nor symmetric under rotation (random
entries), pools with overlapping windows, without ties (distinct entries) and with them (small
integers, 0…3, so many windows hold their maximum more than once). N is 2 throughout: a power of
two, so the reference's batch means times N are its sums exactly.
A new case is one line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.types import Array

#: The function names, per layer, as the courses write them.
CONV_FUNCTIONS = ("conv_forward", "conv_backward")
POOL_FUNCTIONS = ("max_pool_forward", "max_pool_backward")


@dataclass(frozen=True)
class ConvCase:
    """x of (n, c, h, w), f kernels of c × hh × ww at ``stride`` with ``pad`` zeros."""

    id: str
    n: int
    c: int
    h: int
    w: int
    f: int
    hh: int
    ww: int
    stride: int
    pad: int
    seed: int = 0
    layer = "conv"
    functions = CONV_FUNCTIONS

    @property
    def out_hw(self) -> tuple[int, int]:
        """(H', W'), H' = (H + 2p − HH)/s + 1."""
        s, p = self.stride, self.pad
        return (self.h + 2 * p - self.hh) // s + 1, (self.w + 2 * p - self.ww) // s + 1

    @property
    def params(self) -> dict[str, int]:
        return {"stride": self.stride, "pad": self.pad}


@dataclass(frozen=True)
class PoolCase:
    """x of (n, c, h, w), max over ``size`` × ``size`` windows at ``stride``; ``ties``: the
    entries are small integers (most windows' maximum is held more than once), else distinct."""

    id: str
    n: int
    c: int
    h: int
    w: int
    size: int
    stride: int
    ties: bool
    seed: int = 0
    layer = "max-pool"
    functions = POOL_FUNCTIONS

    @property
    def out_hw(self) -> tuple[int, int]:
        """(H', W'), H' = (H − k)/s + 1."""
        k, s = self.size, self.stride
        return (self.h - k) // s + 1, (self.w - k) // s + 1

    @property
    def params(self) -> dict[str, int]:
        return {"pool_height": self.size, "pool_width": self.size, "stride": self.stride}


LayerCase = ConvCase | PoolCase

CONV_CASES: tuple[ConvCase, ...] = (
    ConvCase("conv_k3x2_s1_p0", n=2, c=2, h=5, w=6, f=3, hh=3, ww=2, stride=1, pad=0, seed=1),
    ConvCase("conv_k3_s1_p1", n=2, c=2, h=5, w=4, f=3, hh=3, ww=3, stride=1, pad=1, seed=2),
    ConvCase("conv_k3_s2_p0", n=2, c=2, h=7, w=7, f=2, hh=3, ww=3, stride=2, pad=0, seed=3),
    ConvCase("conv_k3_s2_p1", n=2, c=3, h=7, w=5, f=2, hh=3, ww=3, stride=2, pad=1, seed=4),
    ConvCase("conv_k2x3_s3_p2", n=2, c=1, h=7, w=8, f=2, hh=2, ww=3, stride=3, pad=2, seed=5),
)
POOL_CASES: tuple[PoolCase, ...] = (
    PoolCase("pool2_s2", n=2, c=2, h=4, w=6, size=2, stride=2, ties=False, seed=11),
    PoolCase("pool3_s2_overlap", n=2, c=2, h=5, w=7, size=3, stride=2, ties=False, seed=12),
    PoolCase("pool2_s2_ties", n=2, c=2, h=4, w=6, size=2, stride=2, ties=True, seed=13),
    PoolCase("pool2_s1_ties", n=2, c=1, h=4, w=5, size=2, stride=1, ties=True, seed=14),
)
CASES: tuple[LayerCase, ...] = CONV_CASES + POOL_CASES


@dataclass(frozen=True)
class CaseArrays:
    """One case's inputs in the course's layout (samples first): x, dout, and for a convolution
    w and b (empty for a pool)."""

    x: Array
    dout: Array
    w: Array
    b: Array


def case_arrays(case: LayerCase) -> CaseArrays:
    """The seeded inputs of one case; dout has the output's shape (N, F or C, H', W')."""
    rng = np.random.default_rng((25, case.seed))
    shape = (case.n, case.c, case.h, case.w)
    h_out, w_out = case.out_hw
    if isinstance(case, ConvCase):
        dout = rng.standard_normal((case.n, case.f, h_out, w_out))
        w = rng.standard_normal((case.f, case.c, case.hh, case.ww))
        return CaseArrays(rng.standard_normal(shape), dout, w, rng.standard_normal(case.f))
    size = int(np.prod(shape))
    if case.ties:
        x = rng.integers(0, 4, size).astype(np.float64)
    else:  # distinct entries: every window has one maximum
        x = (rng.permutation(size) - size / 2) / 8
    dout = rng.standard_normal((case.n, case.c, h_out, w_out))
    return CaseArrays(x.reshape(shape), dout, np.zeros(0), np.zeros(0))
