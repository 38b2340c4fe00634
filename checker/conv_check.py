"""Check a learner's convolutional network (network3.py's ConvPoolLayer, FullyConnectedLayer,
SoftmaxLayer and Network, in NumPy with a hand-written backprop) case by case.

The file is imported only in a worker process (:mod:`checker.sandbox`, the same sandbox and
limits as a dense network's). Per case (:mod:`checker.conv_cases`) the worker builds the layers
and the network, sets each layer's ``w`` and ``b`` to the case's parameters (as the dense checker
sets ``net.weights`` and ``net.biases``) and calls ``backprop(x, y)`` on the mini-batch. What
comes back is checked for form first (a pair of lists, one float32 or float64 array per layer,
of network3's shapes, all finite: else INTERFACE, SHAPE or NONFINITE naming the layer and the
case), then every ∂C/∂b and ∂C/∂w against the reference (:mod:`checker.conv_reference`) within
the error model's bound ``bound_allowed(B, dtype)``, at the precision of the dtype it came in. A
mismatch is named by the classic bug whose gradients it matches, at the equation and the layer
where it first shows (``BP2 (conv 1): kernel not flipped``); one that matches none by the first
layer, from the output, whose gradients are wrong and the equation that implies. An exception
is that case's finding and the next case runs; a process that dies or hangs ends the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from checker.conv_cases import ACTIVATIONS, CASES, ConvNetCase, ConvPool, FullyConnected
from checker.conv_reference import (
    FORWARD_FLIPPED,
    KIND,
    Expected,
    NetGradients,
    Variant,
    case_data,
    expected,
    learner_batch,
    learner_params,
)
from checker.layer_check import nonfinite_finding, visible_names
from checker.layer_verdict import LayerCaseVerdict, LayerFinding, LayerVerdict
from checker.replies import ACCEPTED, ACCEPTED_TEXT, accepted, coarsest, malformed, text
from checker.sandbox import Child
from checker.usage import Limits
from checker.verdict import ImplementationError
from errormodel.compare import Comparison, compare
from errormodel.tolerances import bound_allowed

#: The calls into the learner's code one case makes: the layers, the network, setting w and b,
#: backprop.
CALLS_PER_CASE = 4
#: What a passing case says agrees.
SUBJECT = "the network's gradients"
#: A mismatch that matches no known bug: the equation the first wrong layer's gradients break.
EQUATION_TEXT = {
    ("BP1", "dense"): "δ^L ≠ a^L − y (the softmax under the log-likelihood), seen in nabla_b = δ^L",
    ("BP2", "dense"): "δ ≠ (w δ') ⊙ σ'(z), δ' the layer above's (network3's w: (n_in, n_out)), "
    "seen in nabla_b = δ",
    ("BP2", "conv"): "δ ≠ the layer above's δ back through it, routed to each pool window's "
    "maximum, ⊙ σ'(z): seen in nabla_b and nabla_w",
    ("BP3", "dense"): "nabla_b ≠ δ (while nabla_w = a δᵀ holds with the right δ)",
    ("BP3", "conv"): "nabla_b ≠ δ summed over positions (while nabla_w holds with the right δ)",
    ("BP4", "dense"): "nabla_w ≠ a δᵀ (network3's w: (n_in, n_out)) while nabla_b = δ is right",
    ("BP4", "conv"): "nabla_w ≠ â ⋆ δ (the padded input correlated with δ at the stride) while "
    "nabla_b is right",
}


def split_conv_spec(spec: str) -> tuple[Path, str]:
    """``net.py`` → (path, "Network"); ``net.py:Name`` → the network class ``Name``."""
    path, sep, name = spec.rpartition(":")
    if sep and name.isidentifier():
        return Path(path), name
    return Path(spec), "Network"


def check_conv_network(
    spec: str, limits: Limits | None = None, name: str | None = None
) -> LayerVerdict:
    """Load the network3-style classes of ``spec`` in a worker and check its backprop on every
    case its module can build (the activations it defines, the keywords its ConvPoolLayer
    takes)."""
    shown, limits = name or spec, limits or Limits()
    path, cls = split_conv_spec(spec)
    if path.suffix != ".py" or not path.is_file():
        why = f"no such file {str(path)!r}" if path.suffix == ".py" else f"not a .py file: {spec!r}"
        return _load_failure(shown, why)
    child = Child(limits, path)
    try:
        header = {"op": "load_conv_net", "path": str(path.resolve()), "name": cls}
        reply, _ = child.request(header)
        if reply.get("error") is not None:
            return _load_failure(shown, text(reply["error"], "text"))
        acts, keywords = reply.get("activations"), reply.get("keywords")
        if not isinstance(acts, list) or not isinstance(keywords, list):
            raise malformed("load_conv_net")
        cases, notes = plan(set(visible_names(acts)), set(visible_names(keywords)))
        if not cases:
            why = "defines neither sigmoid nor tanh: no case can build its layers"
            return _load_failure(shown, why, notes)
        verdicts = tuple(_check_case(child, case) for case in cases)
        failed = not all(v.passed for v in verdicts)
        return LayerVerdict(
            shown, verdicts, notes=notes, output=child.tail() if failed else "", outputs="gradient"
        )
    except ImplementationError as exc:  # the import itself hung or killed the process
        finding = LayerFinding(exc.finding.label, "net", exc.finding.message)
        return LayerVerdict(shown, load_failure=finding, output=child.tail())
    finally:
        child.close()


def _load_failure(shown: str, why: str, notes: tuple[str, ...] = ()) -> LayerVerdict:
    return LayerVerdict(shown, load_failure=LayerFinding("LOAD", "net", why), notes=notes)


def plan(activations: set[str], keywords: set[str]) -> tuple[list[ConvNetCase], tuple[str, ...]]:
    """The cases the module can build, and a note per kind left out: an activation it does not
    define, a stride or padding its ConvPoolLayer does not take."""
    notes = [
        f"{a} not defined in the module: the {a} cases not checked"
        for a in ACTIVATIONS
        if a not in activations
    ]
    for keyword, needs in (("stride", "strided"), ("padding", "padded")):
        if keyword not in keywords:
            notes.append(f"ConvPoolLayer takes no {keyword}=: the {needs} cases not checked")
    cases = [
        c
        for c in CASES
        if c.activation in activations
        and ("stride" in keywords or not c.strided)
        and ("padding" in keywords or not c.padded)
    ]
    return cases, tuple(notes)


def layer_specs(case: ConvNetCase) -> list[dict[str, Any]]:
    """Each layer as the worker constructs it (network3's constructor arguments)."""
    specs: list[dict[str, Any]] = []
    shape: tuple[int, ...] = case.image
    for layer in case.layers:
        if isinstance(layer, ConvPool):
            c, h, w = shape
            (k_h, k_w), s, p = layer.kernel, layer.stride, layer.padding
            specs.append(
                {
                    "kind": "ConvPoolLayer",
                    "filter_shape": [layer.filters, c, k_h, k_w],
                    "image_shape": [case.batch, c, h, w],
                    "poolsize": [layer.pool, layer.pool],
                    "stride": s,
                    "padding": p,
                }
            )
            h_out, w_out = (h + 2 * p - k_h) // s + 1, (w + 2 * p - k_w) // s + 1
            shape = (layer.filters, h_out // layer.pool, w_out // layer.pool)
        else:
            kind = "FullyConnectedLayer" if isinstance(layer, FullyConnected) else "SoftmaxLayer"
            specs.append({"kind": kind, "n_in": int(np.prod(shape)), "n_out": layer.n_out})
            shape = (layer.n_out,)
    return specs


def _name(case: ConvNetCase, k: int) -> str:
    """Learner layer k (1-based) as a finding names it: ``conv 1``, ``dense 3``."""
    return f"{KIND[type(case.layers[k - 1])]} {k}"


def _check_case(child: Child, case: ConvNetCase) -> LayerCaseVerdict:
    if child.dead is not None:
        why = f"not run: the process ended earlier ({child.dead.heading})"
        finding = LayerFinding(child.dead.label, "net", why)
        return LayerCaseVerdict(case.id, "conv net", (finding,), ran=False, subject=SUBJECT)
    _, params, batch = case_data(case)
    x, y = learner_batch(batch)
    header = {
        "op": "conv_backprop",
        "layers": layer_specs(case),
        "activation": case.activation,
        "image": [case.batch, *case.image],
        "seed": case.seed,
    }
    try:
        reply, got = child.request(header, [*learner_params(case, params), x, y], CALLS_PER_CASE)
        findings, precision = _judge(case, reply, got)
    except ImplementationError as exc:  # HANG, a dead process (the run ends), a malformed reply
        findings, precision = [LayerFinding(exc.finding.label, "net", exc.finding.message)], ""
    return LayerCaseVerdict(
        case.id, "conv net", tuple(findings), precision=precision or "float64", subject=SUBJECT
    )


def _judge(
    case: ConvNetCase, reply: dict[str, Any], got: list[np.ndarray[Any, Any]]
) -> tuple[list[LayerFinding], str]:
    """The reply's form, then its gradients against the reference: the findings, and the dtype
    they were judged at."""
    error = reply.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise malformed("an error")
        label = error.get("label")
        label = label if label in ("MEMORY", "INTERFACE") else "CRASH"
        what = f"{text(error, 'call')} raised {text(error, 'text')}"
        return [LayerFinding(label, "net", what)], ""
    built = _built_finding(case, reply.get("built"))
    if built is not None:
        return [built], ""
    node = reply.get("result")
    if not isinstance(node, dict):
        raise malformed("conv_backprop")
    if "kind" in node or node.get("two_arrays"):
        what = text(node, "kind") if "kind" in node else "two arrays"
        why = f"backprop(x, y) returned {what}, expected a pair (nabla_b, nabla_w) of lists"
        return [LayerFinding("INTERFACE", "net", why)], ""
    halves = node.get("pair")
    if not isinstance(halves, list) or len(halves) != 2:
        raise malformed("backprop")
    want = expected(case)
    lists: list[list[np.ndarray[Any, Any]]] = []
    dtypes: list[str] = []
    for quantity, half in zip(("nabla_b", "nabla_w"), halves, strict=True):
        arrays = _arrays(case, quantity, half, got, want.grads, dtypes)
        if isinstance(arrays, LayerFinding):
            return [arrays], ""
        lists.append(arrays)
    received = NetGradients(tuple(lists[0]), tuple(lists[1]))
    dtype = coarsest(*dtypes)
    return diagnose(case, received, want, dtype), dtype


def _built_finding(case: ConvNetCase, built: Any) -> LayerFinding | None:
    """INTERFACE where the constructor built w or b in other shapes than network3's (the
    checker sets them in network3's)."""
    if not isinstance(built, list) or len(built) != len(case.layers):
        raise malformed("the layers' shapes")
    want = _network3_shapes(case)
    for k, (found, (w, b)) in enumerate(zip(built, want, strict=True), start=1):
        if not isinstance(found, list) or len(found) != 2:
            raise malformed("the layers' shapes")
        shapes = tuple(tuple(s) if isinstance(s, list) else None for s in found)
        if shapes != (w, b):
            what = (
                f"layer {k} built w of shape {shapes[0]} and b of {shapes[1]}, expected network3's "
                f"{w} and {b} (the checker sets each layer's w and b in these shapes)"
            )
            return LayerFinding("INTERFACE", _name(case, k), what)
    return None


def _network3_shapes(case: ConvNetCase) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    out: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    for spec in layer_specs(case):
        if spec["kind"] == "ConvPoolLayer":
            out.append((tuple(spec["filter_shape"]), (spec["filter_shape"][0],)))
        else:
            out.append(((spec["n_in"], spec["n_out"]), (spec["n_out"],)))
    return out


def _arrays(
    case: ConvNetCase,
    quantity: str,
    node: Any,
    got: list[np.ndarray[Any, Any]],
    right: NetGradients,
    dtypes: list[str],
) -> list[np.ndarray[Any, Any]] | LayerFinding:
    """One list of the pair, one float64 array per layer, or the first fault of its form
    (from the output layer down, as backprop goes)."""
    where = f"{quantity} from backprop(x, y)"
    count = len(case.layers)
    if not isinstance(node, dict):
        raise malformed(quantity)
    if "kind" in node:
        what = f"{where} is {text(node, 'kind')}, expected a list of {count} arrays, one per layer"
        return LayerFinding("INTERFACE", "net", what)
    items = node.get("items")
    if not isinstance(items, list):
        raise malformed(quantity)
    if len(items) != count:
        what = f"{where} has {len(items)} arrays, expected {count}, one per layer"
        return LayerFinding("SHAPE", "net", what)
    out: dict[int, np.ndarray[Any, Any]] = {}
    for k in range(count, 0, -1):
        item, shape, layer = items[k - 1], right.get(quantity, k).shape, _name(case, k)
        at = f"{quantity} of layer {k} from backprop(x, y)"
        if not isinstance(item, dict):
            raise malformed(quantity)
        if "kind" in item:
            return LayerFinding(
                "INTERFACE", layer, f"{at} is {text(item, 'kind')}, expected shape {shape}"
            )
        index = item.get("array")
        if not isinstance(index, int) or not 0 <= index < len(got):
            described, size = item.get("dtype"), item.get("shape")
            if not isinstance(described, str) or not isinstance(size, list):
                raise malformed(quantity)
            if described not in ACCEPTED:
                what = f"{at} is a {text(item, 'dtype')} array; {ACCEPTED_TEXT}"
                return LayerFinding("INTERFACE", layer, what)
            return LayerFinding("SHAPE", layer, f"{at} has shape {tuple(size)}, expected {shape}")
        array = got[index]
        if not accepted(array.dtype):
            return LayerFinding(
                "INTERFACE", layer, f"{at} is a {array.dtype} array; {ACCEPTED_TEXT}"
            )
        if array.shape != shape:
            hint = _shape_cause(case, quantity, k, array.shape)
            what = f"{at} has shape {array.shape}, expected {shape}"
            if hint is not None:
                return LayerFinding(hint[0], layer, hint[1], what)
            return LayerFinding("SHAPE", layer, what)
        value = np.asarray(array, dtype=np.float64)
        nonfinite = nonfinite_finding(value, at, layer)
        if nonfinite is not None:
            return nonfinite
        dtypes.append(str(array.dtype))
        out[k] = value
    return [out[k] for k in range(1, count + 1)]


def _shape_cause(
    case: ConvNetCase, quantity: str, k: int, shape: tuple[int, ...]
) -> tuple[str, str] | None:
    """A wrong shape that a classic bug gives: (its equation, its cause)."""
    layer = case.layers[k - 1]
    if quantity != "nabla_b" or not isinstance(layer, ConvPool):
        return None
    spec = layer_specs(case)[k - 1]
    _, _, h, w = spec["image_shape"]
    (k_h, k_w), s, p = layer.kernel, layer.stride, layer.padding
    positions = ((h + 2 * p - k_h) // s + 1, (w + 2 * p - k_w) // s + 1)
    if shape in ((layer.filters, *positions), (case.batch, layer.filters, *positions)):
        return "BP3", "bias gradient not summed over positions"
    return None


def _failures(
    received: NetGradients, right: NetGradients, want: Expected, dtype: str
) -> dict[tuple[str, int], Comparison]:
    """Each (quantity, learner layer) whose received gradient is not within the error model's
    bound of ``right``."""
    failed = {}
    for (quantity, k), scale in want.scales.items():
        c = compare(
            right.get(quantity, k),
            received.get(quantity, k),
            bound_allowed(scale, dtype),
            quantity=quantity,
            layer=k,
            oracle="conv network",
        )
        if not c.passed:
            failed[quantity, k] = c
    return failed


def diagnose(
    case: ConvNetCase, received: NetGradients, want: Expected, dtype: str
) -> list[LayerFinding]:
    """No finding where every gradient agrees; else the bug whose gradients match, a finding per
    equation it breaks; else the first wrong layer's equation."""
    wrong = _failures(received, want.grads, want, dtype)
    if not wrong:
        return []
    for variant in want.variants:
        if not _failures(received, variant.grads, want, dtype):
            named = _named(case, variant, received, want, wrong, dtype)
            if named:
                return named
    return [_unnamed(case, received, want, wrong)]


def _named(
    case: ConvNetCase,
    variant: Variant,
    received: NetGradients,
    want: Expected,
    wrong: dict[tuple[str, int], Comparison],
    dtype: str,
) -> list[LayerFinding]:
    """A finding per bug of the matching variant: at the layer where that bug alone first
    shows, from the output down (a forward bug: at the first convolution)."""
    findings = []
    for bug in variant.bugs:
        alone = next((v for v in want.variants if v.bugs == (bug,)), None)
        if alone is None:
            continue
        shows = _failures(alone.grads, want.grads, want, dtype)
        if not shows:
            continue
        quantity, k = max(shows, key=lambda key: (key[1], key[0] == "nabla_b"))
        c = wrong.get((quantity, k)) or next(iter(wrong.values()))
        if bug is FORWARD_FLIPPED:
            k = next(i for i, ly in enumerate(case.layers, 1) if isinstance(ly, ConvPool))
        layer = f"{bug.kind} {k}"
        findings.append(
            LayerFinding(
                bug.label, layer, bug.cause, _detail(c, want, received), c.max_abs, c.allowed
            )
        )
    return findings


def _unnamed(
    case: ConvNetCase,
    received: NetGradients,
    want: Expected,
    wrong: dict[tuple[str, int], Comparison],
) -> LayerFinding:
    """The highest layer with a wrong gradient, by the equation its pattern implies: both wrong,
    δ is (BP1 at the output, else BP2); one of them alone, BP3 or BP4."""
    k = max(key[1] for key in wrong)
    b, w = wrong.get(("nabla_b", k)), wrong.get(("nabla_w", k))
    kind = KIND[type(case.layers[k - 1])]
    if b is not None and w is not None:
        label = "BP1" if k == len(case.layers) else "BP2"
    else:
        label = "BP3" if b is not None else "BP4"
    c = b if b is not None else w
    assert c is not None
    cause = EQUATION_TEXT[label, "dense" if label == "BP1" else kind]
    if label == "BP2":
        cause += f", while layer {k + 1}'s gradients are right"
    detail = _detail(c, want, received)
    return LayerFinding(label, _name(case, k), cause, detail, c.max_abs, c.allowed)


def _detail(c: Comparison, want: Expected, received: NetGradients) -> str:
    """Where and how far: ``nabla_w of layer 1: worst at nabla_w[0, 1, 2, 0], reference …, got
    … (error …, allowed …)``."""
    at = c.worst_index
    right = want.grads.get(c.quantity, c.layer)[at]
    got = received.get(c.quantity, c.layer)[at]
    return (
        f"{c.quantity} of layer {c.layer}: worst at {c.quantity}{list(at)}, reference "
        f"{right:.6g}, got {got:.6g} (error {c.max_abs:.3g}, allowed {c.allowed:.3g})"
    )
