"""The conv-network mutants: classic bugs of a hand-written network3-style backprop, one per
module-level class pair, each naming the equation, the layer and the cause the checker must give.

Every mutant is a :class:`~checker.mutants.conv_network.Network` subclass whose layers are one
step changed: it declares ``intended`` (label, layer as findings name it, a phrase of the cause)
and swaps in its ConvPoolLayer (or other layer) class when built. :func:`list_conv_mutants`
lists them in the order written; each is checked as ``checker/mutants/conv_catalogue.py:Name``.
Docstrings say where a bug can only show: at stride > 1, with padding, at ties, below a second
ConvPoolLayer.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from checker.mutants import ClassUnderTest
from checker.mutants.conv_network import (
    Array,
    ConvPoolLayer,
    FullyConnectedLayer,
    Network,
    SoftmaxLayer,
    prime,
    sigmoid,
    tanh,
)

#: network3's classes and the activations, which the checker finds in this module.
__all__ = ["ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "prime", "sigmoid", "tanh"]


class _Mutant(Network):
    """A Network whose layers are re-classed on construction: ``conv`` replaces ConvPoolLayer,
    ``dense`` FullyConnectedLayer, ``softmax`` SoftmaxLayer (None: unchanged)."""

    conv: type | None = None
    dense: type | None = None
    softmax: type | None = None

    def __init__(self, layers: list[Any], mini_batch_size: int) -> None:
        for layer in layers:
            for base, new in (
                (ConvPoolLayer, self.conv),
                (FullyConnectedLayer, self.dense),
                (SoftmaxLayer, self.softmax),
            ):
                if new is not None and type(layer) is base:
                    layer.__class__ = new
        super().__init__(layers, mini_batch_size)


class _NotFlipped(ConvPoolLayer):
    @staticmethod
    def dx_tap(w: Array, u: int, v: int) -> Array:
        return w[:, :, w.shape[2] - 1 - u, w.shape[3] - 1 - v]


class KernelNotFlipped(_Mutant):
    """BP2 (conv): δ goes back through the kernel rotated, not through w itself (shows below a
    second ConvPoolLayer)."""

    intended = ("BP2", "conv 1", "kernel not flipped")
    conv = _NotFlipped


class _StrideOne(ConvPoolLayer):
    @staticmethod
    def backward_stride(stride: int) -> int:
        return 1


class StrideIgnoredInBackward(_Mutant):
    """BP2 and BP4 (conv): the backward pass steps by 1, not by the stride (shows at stride > 1)."""

    intended = ("BP2", "conv 1", "stride ignored")
    conv = _StrideOne


class _NoShift(ConvPoolLayer):
    @staticmethod
    def crop(dx_pad: Array, p: int, h: int, w: int) -> Array:
        return dx_pad[:, :, :h, :w]


class PaddingNotShiftedBack(_Mutant):
    """BP2 (conv): δ of the input is cut from the padded one at 0, not at p (shows with
    padding, below a second ConvPoolLayer)."""

    intended = ("BP2", "conv 1", "padding ignored")
    conv = _NoShift


class _BiasMean(ConvPoolLayer):
    @staticmethod
    def bias_gradient(dz: Array) -> Array:
        return dz.sum(axis=0).mean(axis=(1, 2))


class BiasAveragedOverPositions(_Mutant):
    """BP3 (conv): ∂C/∂b is δ's mean over the positions, not its sum."""

    intended = ("BP3", "conv 2", "averaged over positions")
    conv = _BiasMean


class _BiasOne(ConvPoolLayer):
    @staticmethod
    def bias_gradient(dz: Array) -> Array:
        return dz[:, :, 0, 0].sum(axis=0)


class BiasFromOnePosition(_Mutant):
    """BP3 (conv): ∂C/∂b is δ at the first position only."""

    intended = ("BP3", "conv 2", "from one position")
    conv = _BiasOne


class _BiasUnsummed(ConvPoolLayer):
    @staticmethod
    def bias_gradient(dz: Array) -> Array:
        return dz.sum(axis=0)


class BiasNotSummed(_Mutant):
    """BP3 (conv): ∂C/∂b is δ summed over the samples only, a map per filter."""

    intended = ("BP3", "conv 2", "not summed over positions")
    conv = _BiasUnsummed


class _DwFlipped(ConvPoolLayer):
    @staticmethod
    def finish_dw(dw: Array) -> Array:
        return dw[:, :, ::-1, ::-1]


class WeightGradientFlipped(_Mutant):
    """BP4 (conv): ∂C/∂w computed as a convolution of the input with δ (the kernel flipped)."""

    intended = ("BP4", "conv 2", "kernel flipped in ∂C/∂w")
    conv = _DwFlipped


class _Convolving(ConvPoolLayer):
    @staticmethod
    def forward_kernel(w: Array) -> Array:
        return w[:, :, ::-1, ::-1]

    @staticmethod
    def dx_tap(w: Array, u: int, v: int) -> Array:
        return w[:, :, w.shape[2] - 1 - u, w.shape[3] - 1 - v]

    @staticmethod
    def finish_dw(dw: Array) -> Array:
        return dw[:, :, ::-1, ::-1]


class ForwardConvolves(_Mutant):
    """FORWARD (conv): a true convolution (theano's conv2d, network3's), consistently
    backpropagated: every gradient is that of the flipped kernel."""

    intended = ("FORWARD", "conv 1", "kernel flipped in the forward")
    conv = _Convolving


class _EveryTie(ConvPoolLayer):
    @staticmethod
    def window_mask(window: Array) -> Array:
        return window == window.max(axis=(2, 3), keepdims=True)


class RoutedToEveryTie(_Mutant):
    """BP2 (pool): δ goes to every entry equal to the window's maximum (shows at ties)."""

    intended = ("BP2", "pool 1", "every tied maximum")
    conv = _EveryTie


class _LastTie(ConvPoolLayer):
    @staticmethod
    def window_mask(window: Array) -> Array:
        m, f, kh, kw = window.shape
        last = kh * kw - 1 - window.reshape(m, f, kh * kw)[..., ::-1].argmax(axis=-1)
        return (np.arange(kh * kw) == last[..., None]).reshape(window.shape)


class RoutedToLastTie(_Mutant):
    """BP2 (pool): δ goes to the last maximum in row-major order (shows at ties)."""

    intended = ("BP2", "pool 1", "last of tied maxima")
    conv = _LastTie


class _WholeWindow(ConvPoolLayer):
    @staticmethod
    def window_mask(window: Array) -> Array:
        return np.ones_like(window, dtype=bool)


class RoutedToWholeWindow(_Mutant):
    """BP2 (pool): δ goes to every position of its window (the maximum's mask left out)."""

    intended = ("BP2", "pool 2", "every position of its window")
    conv = _WholeWindow


class _NoPrime(FullyConnectedLayer):
    def backprop(self, grad_a: Array) -> tuple[Array, Array, Array]:
        return grad_a.sum(axis=0), self.x.T @ grad_a, grad_a @ self.w.T


class DenseWithoutPrime(_Mutant):
    """BP2 (dense): the FullyConnectedLayer's δ lacks σ'(z) (no known bug: named by equation)."""

    intended = ("BP2", "dense 3", "δ ≠")
    dense = _NoPrime


class _Unscaled(SoftmaxLayer):
    def output_delta(self, y: Array) -> Array:
        return super().output_delta(y) * self.a.shape[0]


class OutputNotAveraged(_Mutant):
    """BP1: δ^L = a − y without the mini-batch's 1/m: every gradient the batch's sum."""

    intended = ("BP1", "dense 4", "δ^L ≠")
    softmax = _Unscaled


@dataclass(frozen=True)
class ConvMutant(ClassUnderTest):
    """A conv network class and the (label, layer, cause phrase) it must get."""

    intended: tuple[str, str, str]


def list_conv_mutants() -> list[ConvMutant]:
    """Every mutant of this module, in the order written."""
    classes: list[Any] = [
        c
        for c in globals().values()
        if isinstance(c, type) and c.__module__ == __name__ and "intended" in vars(c)
    ]
    classes.sort(key=lambda c: inspect.getsourcelines(c)[1])
    return [ConvMutant(c, vars(c)["intended"]) for c in classes]


#: The correct net the mutants vary, as the checker names it.
CORRECT_CONV = ConvMutant(Network, ("PASS", "", ""))
