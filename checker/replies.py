"""The form of what an implementation under test sent back: backprop's pair, the parameters an
update left, each a list of one array per layer 2…L of the architecture's shapes, all finite.

Every array must be a real float32 or float64 array (:data:`ACCEPTED`): float16, complex,
integer, bool, object or string arrays are INTERFACE, saying which dtype came. A wrong form is an
:class:`ImplementationError` naming what was expected (INTERFACE, SHAPE, NONFINITE), before any
number is compared; a reply the worker could not have sent honestly is a
CRASH ("a malformed reply"). Replies are data (JSON and raw numeric arrays, checker.protocol):
nothing here runs the learner's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from checker.quoting import visible
from checker.verdict import Finding, ImplementationError
from reference import Architecture, Params
from reference.types import Array

#: The dtypes an array in a reply may have, and how a message says so.
ACCEPTED = ("float32", "float64")
ACCEPTED_TEXT = "accepted: float32 or float64 arrays"


def accepted(dtype: np.dtype[Any]) -> bool:
    """A real float32 or float64 dtype (either byte order)."""
    return dtype.kind == "f" and dtype.itemsize in (4, 8)


@dataclass(frozen=True)
class Received:
    """A reply's arrays with its description of what the learner returned."""

    node: Any
    arrays: list[np.ndarray[Any, Any]]


def pair(
    arch: Architecture, got: Received, swapped: bool = False
) -> tuple[list[Array], list[Array], str]:
    """backprop's result as (nabla_b, nabla_w) float64 arrays, and the float dtype it came in;
    ``swapped``: read it as (nabla_w, nabla_b)."""
    node = got.node
    if not isinstance(node, dict):
        raise malformed("backprop")
    if "kind" in node:
        raise ImplementationError(
            Finding(
                "INTERFACE",
                f"backprop(x, y) returned {text(node, 'kind')}, expected a pair (nabla_b, nabla_w)",
            )
        )
    if node.get("two_arrays"):
        raise ImplementationError(
            Finding(
                "INTERFACE",
                "backprop(x, y) returned two arrays, expected (nabla_b, nabla_w): two lists "
                f"of one array per layer 2…{arch.depth}",
            )
        )
    halves = node.get("pair")
    if not isinstance(halves, list) or len(halves) != 2:
        raise malformed("backprop")
    b_node, w_node = (halves[1], halves[0]) if swapped else (halves[0], halves[1])
    where = "from backprop(x, y)"
    nabla_b, b_dtype = arrays(arch, Received(b_node, got.arrays), "nabla_b", where, biases=True)
    nabla_w, w_dtype = arrays(arch, Received(w_node, got.arrays), "nabla_w", where, biases=False)
    return nabla_b, nabla_w, coarsest(b_dtype, w_dtype)


def swapped_fits(arch: Architecture, got: Received) -> bool:
    """Whether backprop's pair has the shapes of (nabla_w, nabla_b): the book's pair reversed."""
    node = got.node
    halves = node.get("pair") if isinstance(node, dict) else None
    if not isinstance(halves, list) or len(halves) != 2:
        return False
    return _shapes(arch, halves[0], got.arrays, biases=False) and _shapes(
        arch, halves[1], got.arrays, biases=True
    )


def arrays(
    arch: Architecture, got: Received, name: str, where: str, *, biases: bool
) -> tuple[list[Array], str]:
    """A list of arrays, one per layer 2…L of the shapes the architecture gives, as float64, and
    the float dtype it came in; not a list → INTERFACE, wrong count → SHAPE, wrong shape → SHAPE at
    that layer, NaN/Inf → NONFINITE there (the layer nearest the output first, as backprop goes).
    """
    count, node = arch.depth - 1, got.node
    if not isinstance(node, dict):
        raise malformed(name)
    if "kind" in node:
        raise ImplementationError(
            Finding(
                "INTERFACE",
                f"{name} {where} is {text(node, 'kind')}, expected a list of "
                f"{count} arrays (layers 2…{arch.depth})",
            )
        )
    items = node.get("items")
    if not isinstance(items, list):
        raise malformed(name)
    if len(items) != count:
        raise ImplementationError(
            Finding(
                "SHAPE",
                f"{name} {where} has {len(items)} arrays, expected {count}, one "
                f"per layer 2…{arch.depth} of {arch.id.split('_')[0]}",
            )
        )
    found: dict[int, Array] = {}
    dtypes = []
    for layer, item in reversed(list(zip(range(2, arch.depth + 1), items, strict=True))):
        want = _want(arch, layer, biases)
        if not isinstance(item, dict):
            raise malformed(name)
        if "kind" in item:
            raise ImplementationError(
                Finding(
                    "INTERFACE",
                    f"{name} of layer {layer} {where} is {text(item, 'kind')}, "
                    f"expected an array of shape {want}",
                    layer,
                )
            )
        dtype = _dtype(item, got.arrays)
        if dtype is not None:
            raise ImplementationError(
                Finding(
                    "INTERFACE",
                    f"{name} of layer {layer} {where} is a {dtype} array of shape "
                    f"{_shape(item, got.arrays)}; {ACCEPTED_TEXT}",
                    layer,
                )
            )
        shape = _shape(item, got.arrays)
        if "array" not in item and shape == want:  # sent by its shape alone: it is oversized
            raise malformed(name)
        if shape != want:
            raise ImplementationError(
                Finding(
                    "SHAPE",
                    f"{name} of layer {layer} {where} has shape {shape}, expected {want}",
                    layer,
                )
            )
        received = got.arrays[item["array"]]
        dtypes.append(str(received.dtype))
        array = np.asarray(received, dtype=np.float64)
        bad = np.argwhere(~np.isfinite(array))
        if len(bad):
            at = tuple(int(i) for i in bad[0])
            raise ImplementationError(
                Finding(
                    "NONFINITE",
                    f"{name} of layer {layer} {where} has {array[at]} at "
                    f"{at} ({len(bad)} of {array.size} elements not finite)",
                    layer,
                    at,
                )
            )
        found[layer] = array
    return [found[layer] for layer in range(2, arch.depth + 1)], coarsest(*dtypes)


def coarsest(*dtypes: str) -> str:
    """The float dtype with the largest ε among these (integers count as float64)."""
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind == "f"]
    return str(max(floats, key=lambda d: np.finfo(d).eps, default=np.dtype(np.float64)))


def to_params(
    arch: Architecture, weights: Received, biases: Received, where: str
) -> tuple[Params, str]:
    """The network's weights and biases after an update, checked like backprop's lists."""
    w, w_dtype = arrays(arch, weights, "weights", where, biases=False)
    b, b_dtype = arrays(arch, biases, "biases", where, biases=True)
    return Params(tuple(w), tuple(b)), coarsest(w_dtype, b_dtype)


def _want(arch: Architecture, layer: int, biases: bool) -> tuple[int, int]:
    sizes = arch.sizes
    return (sizes[layer - 1], 1) if biases else (sizes[layer - 1], sizes[layer - 2])


def _dtype(item: dict[str, Any], received: list[np.ndarray[Any, Any]]) -> str | None:
    """The dtype of an element that is not a float32 or float64 array (as the worker described
    it, or as it was sent), or None."""
    if "array" not in item:
        described = item.get("dtype")
        if described is None:
            return None
        if not isinstance(described, str):
            raise malformed("an array's dtype")
        return None if described in ACCEPTED else visible(described[:40])
    index = item.get("array")
    if isinstance(index, int) and 0 <= index < len(received):
        found = received[index].dtype
        return None if accepted(found) else str(found)
    return None


def _shape(item: dict[str, Any], received: list[np.ndarray[Any, Any]]) -> tuple[int, ...]:
    if "array" not in item:
        shape = item.get("shape")
        if not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
            raise malformed("an array")
        return tuple(shape)
    index = item.get("array")
    if not isinstance(index, int) or not 0 <= index < len(received):
        raise malformed("an array")
    return tuple(received[index].shape)


def _shapes(arch: Architecture, node: Any, received: list[Any], *, biases: bool) -> bool:
    items = node.get("items") if isinstance(node, dict) else None
    if not isinstance(items, list) or len(items) != arch.depth - 1:
        return False
    for layer, item in zip(range(2, arch.depth + 1), items, strict=True):
        if not isinstance(item, dict) or "kind" in item:
            return False
        try:
            if _shape(item, received) != _want(arch, layer, biases):
                return False
        except ImplementationError:
            return False
    return True


def malformed(what: str) -> ImplementationError:
    return ImplementationError(
        Finding("CRASH", f"the checked process sent a malformed reply ({what})")
    )


def text(node: Any, key: str) -> str:
    """A string the worker sent (the learner's words), cut and made visible on one line."""
    value = node.get(key) if isinstance(node, dict) else None
    return visible(value[:600]) if isinstance(value, str) else "?"


def short(call: str, got: int, asked: int) -> ImplementationError:
    """A reply with another number of answers than calls asked for."""
    return ImplementationError(
        Finding(
            "CRASH",
            f"the checked process answered {got} of the {asked} {call} calls asked for; accepted: "
            "one answer per call (or those before the call that raised, and its error)",
        )
    )
