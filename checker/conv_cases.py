"""The cases a learner's convolutional network (network3.py's classes, in NumPy) is checked on:
one line each, and their seeded parameters and mini-batch.

A case lists the learner's layers as network3.py builds them: :class:`ConvPool` (a
``ConvPoolLayer``: a convolution of ``filters`` kernels, then a ``pool`` × ``pool`` max-pool,
non-overlapping as network3's ``ignore_border=True`` pool), :class:`FullyConnected` and a last
:class:`Softmax`, whose cost is network3's log-likelihood. Two ConvPool layers in most cases, so
that BP2 through a convolution shows in the gradients of the layer below it; kernels neither
square nor symmetric (random entries); stride 1 and 2, padding 0 and 1; sigmoid and tanh. In a
``ties`` case the input and the first kernel hold small integers (every z of the first
convolution is an exact integer), so many pool windows hold their maximum more than once. The
mini-batch is m = 2 (a power of two: the batch means are exact). A new case is one line.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The learner's classes, as network3.py names them.
LAYER_CLASSES = ("ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer")
#: The activations a case may ask for, by the name the learner's module defines them under.
ACTIVATIONS = ("sigmoid", "tanh")


@dataclass(frozen=True)
class ConvPool:
    """A ConvPoolLayer: ``filters`` kernels of ``kernel`` (k_h, k_w) at ``stride`` with
    ``padding`` zeros, then a ``pool`` × ``pool`` max-pool; σ after the pool, as network3's."""

    filters: int
    kernel: tuple[int, int]
    pool: int = 2
    stride: int = 1
    padding: int = 0


@dataclass(frozen=True)
class FullyConnected:
    """A FullyConnectedLayer of ``n_out`` neurons."""

    n_out: int


@dataclass(frozen=True)
class Softmax:
    """The SoftmaxLayer of ``n_out`` outputs (the log-likelihood cost)."""

    n_out: int


LearnerLayer = ConvPool | FullyConnected | Softmax


@dataclass(frozen=True)
class ConvNetCase:
    """A net of ``layers`` on inputs of ``image`` (C, H, W), a mini-batch of ``batch``, every
    ConvPool and FullyConnected layer with ``activation``; ``seed`` draws its parameters and
    data."""

    id: str
    image: tuple[int, int, int]
    layers: tuple[LearnerLayer, ...]
    seed: int = 0
    activation: str = "sigmoid"
    ties: bool = False
    batch: int = 2

    @property
    def strided(self) -> bool:
        return any(isinstance(ly, ConvPool) and ly.stride != 1 for ly in self.layers)

    @property
    def padded(self) -> bool:
        return any(isinstance(ly, ConvPool) and ly.padding for ly in self.layers)


def K(f: int, kh: int, kw: int, pool: int = 2, s: int = 1, p: int = 0) -> ConvPool:
    return ConvPool(f, (kh, kw), pool, s, p)


FC, SM, Case = FullyConnected, Softmax, ConvNetCase

# fmt: off
CASES: tuple[ConvNetCase, ...] = (
    Case("s1p0_sigmoid", (1, 10, 9), (K(2, 3, 2), K(3, 2, 3), FC(5), SM(3)), 1),
    Case("s1p0_tanh", (2, 10, 11), (K(2, 3, 2), K(3, 2, 3), SM(4)), 2, "tanh"),
    Case("s2p0_sigmoid", (1, 13, 15), (K(2, 3, 3, 1, 2), K(2, 3, 2, 2, 2), FC(4), SM(3)), 3),
    Case("s1p1_tanh", (1, 8, 9), (K(3, 3, 2, 2, 1, 1), K(2, 2, 3, 2, 1, 1), SM(3)), 4, "tanh"),
    Case("s2p1_sigmoid", (2, 12, 13), (K(2, 3, 3, 1, 2, 1), K(2, 2, 3, 2, 2, 1), SM(2)), 5),
    Case("ties_sigmoid", (1, 9, 10), (K(2, 2, 3), SM(3)), 6, ties=True),
    Case("ties_tanh", (1, 11, 10), (K(2, 3, 2), K(2, 2, 2), FC(3), SM(3)), 7, "tanh", True),
)
# fmt: on
