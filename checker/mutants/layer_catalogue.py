"""The layer-function mutants: classic conv and max-pool bugs, one per class, each naming the
equation, the layer and the cause the checker must give.

Every mutant overrides one step of :class:`CourseLayers` and declares ``intended``: (label,
layer, a phrase of the cause). :func:`list_layer_mutants` lists them in the order written; each is
checked as ``checker/mutants/layer_catalogue.py:ClassName``. Docstrings say when a bug can only
show: at stride > 1, with padding, at ties, where windows overlap.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from checker.mutants import ClassUnderTest
from checker.mutants.course_layers import Array, CourseLayers


class KernelNotFlipped(CourseLayers):
    """BP2 (conv): dx̂'s tap (u, v) takes w[:, :, k−1−u, k−1−v], as if the kernel were rotated:
    the full correlation with w itself, not with rot180(w)."""

    intended = ("BP2", "conv", "kernel not flipped")

    @staticmethod
    def tap(w: Array, u: int, v: int) -> Array:
        return w[:, :, w.shape[2] - 1 - u, w.shape[3] - 1 - v]


class BiasAveragedOverPositions(CourseLayers):
    """BP3 (conv): db is dout's mean over the positions (summed over the samples), not its sum."""

    intended = ("BP3", "conv", "averaged over positions")

    @staticmethod
    def bias_gradient(dout: Array) -> Array:
        return dout.sum(axis=0).mean(axis=(1, 2))


class BiasSummedOverSamplesOnly(CourseLayers):
    """BP3 (conv): db = dout summed over the samples alone, shape (F, H', W')."""

    intended = ("BP3", "conv", "summed over the samples only")

    @staticmethod
    def bias_gradient(dout: Array) -> Array:
        return dout.sum(axis=0)


class StrideIgnoredInBackward(CourseLayers):
    """BP2 and BP4 (conv), BP2 (max-pool): the backward pass steps by 1, not by the stride (shows
    only at stride > 1)."""

    intended = ("BP2", "conv", "stride ignored")

    @staticmethod
    def backward_stride(stride: int) -> int:
        return 1


class PaddingNotShiftedBack(CourseLayers):
    """BP2 (conv): dx is cut from the padded gradient at 0, not at p (shows only with padding)."""

    intended = ("BP2", "conv", "padding ignored")

    @staticmethod
    def crop(dx_pad: Array, p: int, h: int, w: int) -> Array:
        return dx_pad[:, :, :h, :w]


class ForwardWithoutBias(CourseLayers):
    """FORWARD (conv): out lacks the bias."""

    intended = ("FORWARD", "conv", "bias not added")

    @staticmethod
    def add_bias(out: Array, b: Array) -> Array:
        return out


class PoolMeanForward(CourseLayers):
    """FORWARD (max-pool): each window's mean instead of its maximum."""

    intended = ("FORWARD", "max-pool", "mean of each window")

    @staticmethod
    def pool(window: Array) -> Array:
        return window.mean(axis=(2, 3))


class RoutedToEveryTie(CourseLayers):
    """BP2 (max-pool): dout goes to every entry equal to the window's maximum (shows at ties)."""

    intended = ("BP2", "max-pool", "every tied maximum")

    @staticmethod
    def maximum(window: Array) -> Array:
        return window == window.max(axis=(2, 3), keepdims=True)


class RoutedToLastMax(CourseLayers):
    """BP2 (max-pool): dout goes to the last maximum in row-major order (shows at ties)."""

    intended = ("BP2", "max-pool", "last of tied maxima")

    @staticmethod
    def maximum(window: Array) -> Array:
        n, c, kh, kw = window.shape
        last = kh * kw - 1 - window.reshape(n, c, kh * kw)[..., ::-1].argmax(axis=-1)
        return (np.arange(kh * kw) == last[..., None]).reshape(window.shape)


class OverlapOverwritten(CourseLayers):
    """BP2 (max-pool): each window's dout is assigned, not added, so where overlapping windows
    share a maximum the later one wins (shows only where windows overlap)."""

    intended = ("BP2", "max-pool", "overwritten")

    @staticmethod
    def accumulate(dx: Array, at: tuple[slice, ...], mask: Array, d: Array) -> None:
        dx[at] = np.where(mask, d, dx[at])


@dataclass(frozen=True)
class LayerMutant(ClassUnderTest):
    """A class of layer functions and the (label, layer, cause phrase) it must get."""

    intended: tuple[str, str, str]


def list_layer_mutants() -> list[LayerMutant]:
    """Every mutant of this module, in the order written."""
    here = globals()
    classes: list[Any] = [
        c
        for c in here.values()
        if isinstance(c, type) and c.__module__ == __name__ and "intended" in vars(c)
    ]
    classes.sort(key=lambda c: inspect.getsourcelines(c)[1])
    return [LayerMutant(c, vars(c)["intended"]) for c in classes]


#: The correct class the mutants vary, as the checker names it.
CORRECT_LAYERS = LayerMutant(CourseLayers, ("PASS", "", ""))
