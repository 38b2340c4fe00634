"""Check a learner's layer functions (conv and max-pool forward and backward, as course
assignments write them) case by case, each output by the equation it implements.

The file is imported only in a worker process (:mod:`checker.sandbox`, the same sandbox and
limits as a network's); each case sends x (and w, b, the params) to ``*_forward``, whose cache
stays in the worker under the case's name, then dout to ``*_backward`` with that cache. What
comes back is checked for form first (an array of the shape asked for, float32 or float64, all
finite: else INTERFACE, SHAPE or NONFINITE naming the function and the case), then against the
reference (:mod:`checker.layer_reference`) within the error model's bound
(:mod:`errormodel.layer_functions`): out by the forward equation, dx by BP2, db by BP3, dw by
BP4. A mismatch is named by the classic bug whose answer it matches, if one does. An exception
in one call is that case's finding and the next case runs; a process that dies or hangs ends the
run, its later cases counted as not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from checker.layer_cases import (
    CASES,
    CONV_FUNCTIONS,
    POOL_FUNCTIONS,
    ConvCase,
    LayerCase,
    case_arrays,
)
from checker.layer_reference import Expected, expected
from checker.layer_verdict import EQUATION_OF, LayerCaseVerdict, LayerFinding, LayerVerdict
from checker.quoting import visible
from checker.replies import ACCEPTED, ACCEPTED_TEXT, accepted, coarsest, malformed, text
from checker.sandbox import Child
from checker.usage import Limits
from checker.verdict import ImplementationError
from errormodel.compare import compare
from errormodel.layer_functions import layer_function_allowed

#: How each call is shown: the course's signature.
CALLS = {
    "conv_forward": "conv_forward(x, w, b, conv_param)",
    "conv_backward": "conv_backward(dout, cache)",
    "max_pool_forward": "max_pool_forward(x, pool_param)",
    "max_pool_backward": "max_pool_backward(dout, cache)",
}
#: What a backward returns, per layer.
BACKWARD_OUTPUTS = {"conv": ("dx", "dw", "db"), "max-pool": ("dx",)}
#: A mismatch that matches no known bug: the equation it breaks, in words.
EQUATION_TEXT = {
    ("conv", "out"): "out ≠ w ⋆ x̂ + b (each kernel correlated with the padded x at the stride)",
    ("conv", "dx"): "dx ≠ dout ⋆_full rot180(w) (dout dilated by the stride, the padding cut away)",
    ("conv", "dw"): "dw ≠ x̂ ⋆ dout (the padded x correlated with dout, summed over the samples)",
    ("conv", "db"): "db ≠ dout summed over the samples and the positions",
    ("max-pool", "out"): "out ≠ each window's maximum",
    ("max-pool", "dx"): "dx ≠ each window's dout routed to the position of its maximum",
}


def split_layers_spec(spec: str) -> tuple[Path, str | None]:
    """``layers.py`` → (path, None): the module's functions; ``layers.py:Name`` → the functions
    are the attributes of its object ``Name`` (a class of static methods, say)."""
    path, sep, name = spec.rpartition(":")
    if sep and name.isidentifier():
        return Path(path), name
    return Path(spec), None


def check_layers(spec: str, limits: Limits | None = None, name: str | None = None) -> LayerVerdict:
    """Load the layer functions of ``spec`` in a worker and check them on every case of the
    layers they define (a convolution's pair, a max-pool's, or both)."""
    shown, limits = name or spec, limits or Limits()
    path, within = split_layers_spec(spec)
    if path.suffix != ".py" or not path.is_file():
        why = f"no such file {str(path)!r}" if path.suffix == ".py" else f"not a .py file: {spec!r}"
        return LayerVerdict(shown, load_failure=LayerFinding("LOAD", "layers", why))
    child = Child(limits, path)
    try:
        names = [*CONV_FUNCTIONS, *POOL_FUNCTIONS]
        header = {"op": "load_functions", "path": str(path.resolve()), "names": names}
        reply, _ = child.request(header | {"within": within})
        if reply.get("error") is not None:
            message = text(reply["error"], "text")
            return LayerVerdict(shown, load_failure=LayerFinding("LOAD", "layers", message))
        found = reply.get("functions")
        if not isinstance(found, list) or not all(isinstance(f, str) for f in found):
            raise malformed("load_functions")
        cases, notes = _plan(set(found))
        if not cases:
            defined = reply.get("defined")
            listed = ", ".join(visible_names(defined)) or "none"
            why = f"defines none of {', '.join(names)} (functions found: {listed})"
            return LayerVerdict(shown, load_failure=LayerFinding("LOAD", "layers", why))
        verdicts = tuple(_check_case(child, case, set(found)) for case in cases)
        failed = not all(v.passed for v in verdicts)
        return LayerVerdict(shown, verdicts, notes=notes, output=child.tail() if failed else "")
    except ImplementationError as exc:  # the import itself hung or killed the process
        finding = LayerFinding(exc.finding.label, "layers", exc.finding.message)
        return LayerVerdict(shown, load_failure=finding, output=child.tail())
    finally:
        child.close()


def visible_names(defined: Any) -> list[str]:
    """The names the worker found in the file (the learner's words: cut, made visible)."""
    if not isinstance(defined, list):
        return []
    return [visible(d[:60]) for d in defined[:20] if isinstance(d, str)]


def _plan(found: set[str]) -> tuple[list[LayerCase], tuple[str, ...]]:
    """The cases of each layer whose forward or backward is defined (a half pair is checked, and
    fails, so that it is named), and a note per layer left out."""
    cases: list[LayerCase] = []
    notes = []
    for layer, functions in (("conv", CONV_FUNCTIONS), ("max-pool", POOL_FUNCTIONS)):
        if found & set(functions):
            cases += [c for c in CASES if c.layer == layer]
        else:
            notes.append(f"{' and '.join(functions)} not defined: the {layer} layer not checked")
    return cases, tuple(notes)


def _check_case(child: Child, case: LayerCase, found: set[str]) -> LayerCaseVerdict:
    if child.dead is not None:
        why = f"not run: the process ended earlier ({child.dead.heading})"
        finding = LayerFinding(child.dead.label, case.layer, why)
        return LayerCaseVerdict(case.id, case.layer, (finding,), ran=False)
    missing = [f for f in case.functions if f not in found]
    if missing:
        finding = LayerFinding("INTERFACE", case.layer, f"{CALLS[missing[0]]} not defined")
        return LayerCaseVerdict(case.id, case.layer, (finding,))
    dtypes: list[str] = []
    try:
        findings = _run_case(child, case, dtypes)
    except ImplementationError as exc:  # HANG, a dead process (the run ends), a malformed reply
        findings = [LayerFinding(exc.finding.label, case.layer, exc.finding.message)]
    return LayerCaseVerdict(case.id, case.layer, tuple(findings), precision=coarsest(*dtypes))


def _run_case(child: Child, case: LayerCase, dtypes: list[str]) -> list[LayerFinding]:
    """The forward call, then the backward with its cache: a finding per wrong output (the
    dtype of each output judged is added to ``dtypes``)."""
    arrays = case_arrays(case)
    want = expected(case, arrays)
    forward, backward = case.functions
    inputs = [arrays.x, arrays.w, arrays.b] if isinstance(case, ConvCase) else [arrays.x]
    header = {"op": "layer", "function": forward, "shown": CALLS[forward]}
    reply, got = child.request(header | {"params": case.params, "keep": case.id}, inputs)
    error = _raised(case, forward, reply, "(out, cache)")
    if error is not None:
        return [error]
    findings = _judge(case, forward, ("out",), reply, got, want, dtypes)
    header = {"op": "layer", "function": backward, "shown": CALLS[backward]}
    outputs = BACKWARD_OUTPUTS[case.layer]
    reply, got = child.request(header | {"cache": case.id, "returns": len(outputs)}, [arrays.dout])
    error = _raised(case, backward, reply, f"({', '.join(outputs)})" if len(outputs) > 1 else "dx")
    if error is not None:
        return [*findings, error]
    return findings + _judge(case, backward, outputs, reply, got, want, dtypes)


def _raised(
    case: LayerCase, function: str, reply: dict[str, Any], form: str
) -> LayerFinding | None:
    """The call's exception (CRASH, MEMORY), or a result that is not ``form`` (INTERFACE)."""
    error = reply.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise malformed("an error")
        label = "MEMORY" if error.get("label") == "MEMORY" else "CRASH"
        return LayerFinding(label, case.layer, f"{CALLS[function]} raised {text(error, 'text')}")
    if "kind" in reply:
        what = f"{CALLS[function]} returned {text(reply, 'kind')}, expected {form}"
        return LayerFinding("INTERFACE", case.layer, what)
    return None


def _judge(
    case: LayerCase,
    function: str,
    outputs: tuple[str, ...],
    reply: dict[str, Any],
    got: list[np.ndarray[Any, Any]],
    want: dict[str, Expected],
    dtypes: list[str],
) -> list[LayerFinding]:
    """Each output: its form, then its value against the reference, at the precision of the
    dtype it came in (float32 or float64)."""
    items = reply.get("results")
    if not isinstance(items, list) or len(items) != len(outputs):
        raise malformed(function)
    findings = []
    for output, item in zip(outputs, items, strict=True):
        finding = _judge_output(case, function, output, item, got, want[output], dtypes)
        if finding is not None:
            findings.append(finding)
    return findings


def _judge_output(
    case: LayerCase,
    function: str,
    output: str,
    item: Any,
    got: list[np.ndarray[Any, Any]],
    want: Expected,
    dtypes: list[str],
) -> LayerFinding | None:
    label, layer, shape = EQUATION_OF[output], case.layer, want.value.shape
    where = f"{output} from {CALLS[function]}"
    if not isinstance(item, dict):
        raise malformed(function)
    if "kind" in item:
        what = f"{where} is {text(item, 'kind')}, expected an array of shape {shape}"
        return LayerFinding("INTERFACE", layer, what)
    index = item.get("array")
    if not isinstance(index, int) or not 0 <= index < len(got):
        return _described(item, where, layer, shape, function)
    received = got[index]
    if not accepted(received.dtype):
        return LayerFinding(
            "INTERFACE", layer, f"{where} is a {received.dtype} array; {ACCEPTED_TEXT}"
        )
    if received.shape != shape:
        hint = _shape_cause(case, output, received.shape)
        what = f"{where} has shape {received.shape}, expected {shape}"
        if hint is not None:
            return LayerFinding(label, layer, hint, what)
        return LayerFinding("SHAPE", layer, what)
    value = np.asarray(received, dtype=np.float64)
    nonfinite = nonfinite_finding(value, where, layer)
    if nonfinite is not None:
        return nonfinite
    dtype = received.dtype
    dtypes.append(str(dtype))
    c = compare(want.value, value, layer_function_allowed(want.scale, dtype), **_where(output))
    if c.passed:
        return None
    cause = next(
        (
            v.cause
            for v in want.variants
            if compare(
                v.value, value, layer_function_allowed(v.scale, dtype), **_where(output)
            ).passed
        ),
        EQUATION_TEXT[layer, output],
    )
    at = c.worst_index
    detail = (
        f"{where}: worst at {output}{list(at)}, reference {want.value[at]:.6g}, "
        f"got {value[at]:.6g} (error {c.max_abs:.3g}, allowed {c.allowed:.3g})"
    )
    return LayerFinding(label, layer, cause, detail, c.max_abs, c.allowed)


def _described(
    item: dict[str, Any], where: str, layer: str, shape: tuple[int, ...], function: str
) -> LayerFinding:
    """An output the worker described instead of sending: another dtype (INTERFACE), or an
    oversized float array, whose shape cannot be the small one asked for (SHAPE)."""
    described, size = item.get("dtype"), item.get("shape")
    if not isinstance(described, str) or not isinstance(size, list):
        raise malformed(function)
    if described not in ACCEPTED:
        return LayerFinding(
            "INTERFACE", layer, f"{where} is a {text(item, 'dtype')} array; {ACCEPTED_TEXT}"
        )
    if not all(isinstance(n, int) for n in size) or tuple(size) == shape:
        raise malformed(function)
    return LayerFinding("SHAPE", layer, f"{where} has shape {tuple(size)}, expected {shape}")


def _where(output: str) -> dict[str, Any]:
    return {"quantity": output, "layer": 0, "oracle": "layer function"}


def _shape_cause(case: LayerCase, output: str, shape: tuple[int, ...]) -> str | None:
    """A wrong shape that a classic bug gives: its cause (the finding is then the equation's)."""
    n, c, h, w = case.n, case.c, case.h, case.w
    h_out, w_out = case.out_hw
    known: dict[str, dict[tuple[int, ...], str]]
    if isinstance(case, ConvCase):
        s, p, f = case.stride, case.pad, case.f
        known = {
            "out": {
                (n, f, h + 2 * p - case.hh + 1, w + 2 * p - case.ww + 1): "stride ignored",
                (n, f, (h - case.hh) // s + 1, (w - case.ww) // s + 1): "padding ignored",
            },
            "dx": {(n, c, h + 2 * p, w + 2 * p): "padding not cut away from dx"},
            "db": {
                (f, h_out, w_out): "bias gradient summed over the samples only, not over positions",
                (n, f): "bias gradient summed over positions only, not over the samples",
            },
        }
    else:
        known = {"out": {(n, c, h - case.size + 1, w - case.size + 1): "stride ignored"}}
    return known.get(output, {}).get(shape)


def nonfinite_finding(value: np.ndarray, where: str, layer: str) -> LayerFinding | None:
    """NONFINITE naming the first NaN or infinity of a learner's array ``where`` and how many
    there are; None when every element is finite."""
    bad = np.argwhere(~np.isfinite(value))
    if not len(bad):
        return None
    at = tuple(int(i) for i in bad[0])
    what = f"{where} has {value[at]} at {at} ({len(bad)} of {value.size} elements not finite)"
    return LayerFinding("NONFINITE", layer, what)
