"""An architecture as one record: layer sizes, an activation per layer, a cost, a batch, a seed.

``Architecture((784, 30, 10), "sigmoid", "quadratic", batch=10)`` is the book's network. A record
is plain data and may be malformed; :meth:`Architecture.check` says what is wrong in one line that
names the record, so one bad entry in a registry never stops the others.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from reference.activations import ACTIVATIONS, OUTPUT_ONLY, Activation
from reference.costs import COSTS, SOFTMAX_OUTPUT_COSTS, Cost
from reference.layers import Conv, Dense, Layer, MaxPool

#: The layer specs an architecture's sizes may hold after its input (an int is a dense layer).
MAP_LAYERS = (Conv, MaxPool)

INITS = ("scaled", "normal")
#: How targets y are drawn: U(0, 1), or "binary", 0 or 1 with equal odds (confident outputs are
#: then right or wrong, not near a fractional y). A one-hot cost ignores it.
TARGETS = ("uniform", "binary")


class ArchitectureError(ValueError):
    """A malformed architecture record; the message names the record and the fault."""


@dataclass(frozen=True)
class Architecture:
    """Layer sizes [n_1, …, n_L] (n_1 inputs), activations for layers 2…L, a cost, a batch.

    A net with feature maps starts from an input shape (C, H, W) and lists its convolution and
    pooling layers as specs among the widths: ``Architecture(((1, 28, 28), Conv(20, 5),
    MaxPool(2), 100, 10), "sigmoid", "log_likelihood")`` (the dense layer after a map reads it
    flattened). One activation name applies to every layer but the pools, whose σ is the identity;
    a sequence names one per layer, "identity" at each pool.

    ``activations`` is one name for every layer or a sequence of L − 1 names. ``init`` is the
    book's weight initialisation: ``"normal"`` draws w ~ N(0, 1) (network.py), ``"scaled"`` draws
    w ~ N(0, 1/n_{l−1}) (network2.py); biases are N(0, 1) in both. ``weight_scale`` multiplies
    every weight and ``input_scale`` every input, to push a net into saturation or large values.
    ``targets`` is how y is drawn (:data:`TARGETS`).
    ``repr`` is the one-line registry entry that rebuilds the record (defaults left out).
    """

    #: widths (ints), the input shape (C, H, W) first for maps, and layer specs (Conv, MaxPool)
    sizes: Sequence[Any]
    activations: str | Sequence[str] = "sigmoid"
    cost: str = "quadratic"
    batch: int = 1
    seed: int = 0
    init: str = "scaled"
    weight_scale: float = 1.0
    input_scale: float = 1.0
    targets: str = "uniform"

    def __post_init__(self) -> None:
        # Lists become tuples so records hash; junk is kept as is for problems() to name.
        for field in ("sizes", "activations"):
            value = getattr(self, field)
            if isinstance(value, list):
                object.__setattr__(self, field, tuple(value))

    @property
    def id(self) -> str:
        """A readable test id, e.g. ``784-30-10_sigmoid_quadratic_m10_s0``."""
        try:
            sizes = "-".join(_size_tag(n) for n in self.sizes) or "empty"
        except TypeError:
            sizes = str(self.sizes)
        acts = self.activations if isinstance(self.activations, str) else ",".join(self.activations)
        init = "" if self.init == "scaled" else f"_{self.init}"
        scales = "".join(
            f"_{tag}{value:g}" if isinstance(value, (int, float)) else f"_{tag}{value!r}"
            for tag, value in (("w", self.weight_scale), ("x", self.input_scale))
            if value != 1.0
        )
        targets = "" if self.targets == "uniform" else f"_y{self.targets}"
        return f"{sizes}_{acts}_{self.cost}_m{self.batch}_s{self.seed}{init}{scales}{targets}"

    def __repr__(self) -> str:
        """The registry line that rebuilds the record, defaults left out (paste-able)."""
        positional = [repr(self.sizes), repr(self.activations), repr(self.cost)]
        keywords = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)[3:]
            if getattr(self, f.name) != f.default
        ]
        return f"Architecture({', '.join(positional + keywords)})"

    @property
    def depth(self) -> int:
        """L, the number of layers counting the input layer."""
        return len(self.sizes)

    @functools.cached_property  # checked and looked up once per record, not once per backprop
    def sigmas(self) -> tuple[Activation, ...]:
        """The σ objects of layers 2…L, named by ``activations`` (a per-layer tuple,
        :mod:`reference.numbering`); the arrays a^l are ``Forward.activations``."""
        self.check()
        return tuple(ACTIVATIONS[n] for n in self._activation_names())

    def _activation_names(self) -> list[str]:
        """One name per layer 2…L: ``activations`` itself, or its one name for all but pools."""
        names = self.activations
        if isinstance(names, str):
            return ["identity" if isinstance(s, MaxPool) else names for s in self.sizes[1:]]
        return list(names)

    @functools.cached_property
    def layers(self) -> tuple[Layer, ...]:
        """Layers 2…L as layer types (:mod:`reference.layers`): a width n_l is a
        :class:`~reference.layers.Dense` of n_{l−1} → n_l neurons, a spec (``Conv``, ``MaxPool``)
        is placed on the shape below it; each with its σ's name."""
        self.check()
        return _placed(self.sizes, [s.name for s in self.sigmas])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's input: (n_1,), or the maps (C, H, W)."""
        first = self.sizes[0]
        return (first,) if isinstance(first, int) else tuple(first)

    @property
    def output_width(self) -> int:
        """n_L, the output layer's width (always dense)."""
        last = self.sizes[-1]
        assert isinstance(last, int)
        return last

    @classmethod
    def of_layers(
        cls, n_inputs: int, layers: Sequence[Dense], cost: str = "quadratic", **options: Any
    ) -> Architecture:
        """The record of a net given as its input width and its layers 2…L, e.g.
        ``Architecture.of_layers(784, [Dense(784, 30), Dense(30, 10)], batch=10)``: the same
        record (id, repr) as ``Architecture((784, 30, 10), "sigmoid", "quadratic", batch=10)``."""
        sizes = (n_inputs, *(layer.n_out for layer in layers))
        fed = [(layer, n) for layer, n in zip(layers, sizes, strict=False) if layer.n_in != n]
        if fed:
            raise ArchitectureError(
                f"{fed[0][0]} is fed by {fed[0][1]} neurons, not {fed[0][0].n_in}"
            )
        names = tuple(layer.activation for layer in layers)
        acts: str | tuple[str, ...] = names[0] if len(set(names)) == 1 else names
        return cls(sizes, acts, cost, **options)

    @functools.cached_property
    def cost_object(self) -> Cost:
        """The :class:`~reference.costs.Cost` named by ``cost``: C_x and BP1's δ^L."""
        self.check()
        return COSTS[self.cost]

    def problems(self) -> list[str]:
        """Everything wrong with the record; empty when it is well formed."""
        found: list[str] = []
        try:
            sizes: list[Any] = list(self.sizes)
        except TypeError:
            return [f"layer sizes must be a sequence of positive integers, got {self.sizes!r}"]
        if len(sizes) < 2:
            found.append(f"needs at least 2 layer sizes (input and output), got {sizes}")
        maps = bool(sizes) and isinstance(sizes[0], tuple)
        bad = [
            n
            for i, n in enumerate(sizes)
            if not _positive(n)
            and not (i == 0 and maps and len(n) == 3 and all(_positive(k) for k in n))
            and not (i > 0 and isinstance(n, MAP_LAYERS))
        ]
        if bad:
            found.append(f"layer sizes must be positive integers, got {bad} in {sizes}")
        elif len(sizes) >= 2:
            if not isinstance(sizes[-1], int):
                found.append(f"the output layer must be dense (a width), got {sizes[-1]!r}")
            found += _shape_problems(sizes)
        names = self.activations
        if isinstance(names, str):
            names = self._activation_names() if not bad else [names] * max(len(sizes) - 1, 0)
        elif len(names) != len(sizes) - 1:
            found.append(
                f"needs {len(sizes) - 1} activations (one per layer 2…L), got {len(names)}"
            )
        unknown = sorted({n for n in names if n not in ACTIVATIONS})
        if unknown:
            found.append(f"unknown activation {unknown}; known: {sorted(ACTIVATIONS)}")
        hidden = [(n, layer) for layer, n in enumerate(names[:-1], start=2) if n in OUTPUT_ONLY]
        if hidden:
            found.append(
                f"{hidden[0][0]} is valid only at the output layer (it is not elementwise), "
                f"got it at layer {', '.join(str(layer) for _, layer in hidden)}"
            )
        pools = [
            (layer, n)
            for layer, (n, spec) in enumerate(zip(names, sizes[1:], strict=False), start=2)
            if isinstance(spec, MaxPool) and n != "identity"
        ]
        if pools:
            found.append(f"a pool's σ is the identity, got {pools[0][1]!r} at layer {pools[0][0]}")
        if self.cost not in COSTS:
            found.append(f"unknown cost {self.cost!r}; known: {sorted(COSTS)}")
        else:
            need = COSTS[self.cost].requires_output
            if need is not None and names and names[-1] != need:
                found.append(f"cost {self.cost!r} needs a {need} output layer, got {names[-1]!r}")
            elif names and names[-1] in OUTPUT_ONLY and self.cost not in SOFTMAX_OUTPUT_COSTS:
                found.append(f"cost {self.cost!r} takes no {names[-1]} output layer")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch <= 0:
            found.append(f"batch size must be a positive integer, got {self.batch!r}")
        if self.init not in INITS:
            found.append(f"unknown init {self.init!r}; known: {list(INITS)}")
        if self.targets not in TARGETS:
            found.append(f"unknown targets {self.targets!r}; known: {list(TARGETS)}")
        for name in ("weight_scale", "input_scale"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                found.append(f"{name} must be a finite number > 0, got {value!r}")
        return found

    def check(self) -> Architecture:
        """Return self if well formed, else raise :class:`ArchitectureError` naming the record."""
        found = self.problems()
        if found:
            raise ArchitectureError(f"malformed architecture {self.id}: " + "; ".join(found))
        return self


def _positive(n: object) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n > 0


def _size_tag(entry: object) -> str:
    """An entry of ``sizes`` in an id: ``784``, ``1x28x28``, ``c20k5``, ``mp2``."""
    if isinstance(entry, tuple):
        return "x".join(str(n) for n in entry)
    if isinstance(entry, MAP_LAYERS):
        return entry.tag
    return str(entry)


def _placed(sizes: Sequence[Any], names: Sequence[str]) -> tuple[Layer, ...]:
    """Layers 2…L, each placed on the shape of the one below it, with its σ's name."""
    first = sizes[0]
    shape: tuple[int, ...] = (first,) if isinstance(first, int) else tuple(first)
    layers: list[Layer] = []
    for spec, name in zip(sizes[1:], names, strict=True):
        layer: Layer
        if isinstance(spec, MAP_LAYERS):
            layer = replace(spec, in_shape=shape, activation=name)
        else:
            layer = Dense(math.prod(shape), spec, name)
        layers.append(layer)
        shape = layer.out_shape
    return tuple(layers)


def _shape_problems(sizes: Sequence[Any]) -> list[str]:
    """What does not fit in a chain of layer specs: a map layer fed by a width, a kernel or a
    window larger than its input (the first such fault; the later shapes depend on it)."""
    first = sizes[0]
    shape: tuple[int, ...] = (first,) if isinstance(first, int) else tuple(first)
    for spec in sizes[1:]:
        if isinstance(spec, MAP_LAYERS):
            found = spec.problems(shape)
            if found:
                return found
            shape = replace(spec, in_shape=shape).out_shape
        else:
            shape = (spec,)
    return []
