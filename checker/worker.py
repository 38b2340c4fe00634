"""The process that runs one implementation under test: ``python -m checker.worker …`` (internal).

Started by :mod:`checker.sandbox` as a fresh interpreter in a session of its own. It sets its
address-space, CPU-time and file-size limits first, then imports NumPy and the learner's file, and
serves requests: construct a network, call ``backprop`` on samples, ``update_mini_batch``,
``total_cost``; or call a learner's layer functions (``conv_forward`` …), keeping each forward's
cache here by a name the checker gives, for the backward call that takes it; or build a learner's
convolutional network from network3.py's classes and call its ``backprop``. Requests come on one
descriptor and replies go out on another (never stdout, which with stderr goes to a file). A reply
carries arrays, or the exception's type, message and the learner's own frame; what the learner
returns is described, never judged, here: the checker judges. Before each call into the learner's
code it records in a small file which call starts and when, so the checker can time each call and
name the one that did not return. Only the standard library, NumPy, :mod:`checker.protocol` and
:mod:`checker.cost_classes` are imported.
"""

from __future__ import annotations

import resource
import sys


def set_limits(memory: int, cpu: int, fsize: int) -> None:
    """Address space (bytes), CPU time (s) and file size (bytes); 0 leaves one as it is."""
    for what, value, grace in (
        (resource.RLIMIT_AS, memory, 0),
        (resource.RLIMIT_CPU, cpu, 5),  # SIGXCPU at the soft limit, SIGKILL at the hard
        (resource.RLIMIT_FSIZE, fsize, 0),
    ):
        if value <= 0:
            continue
        _, hard = resource.getrlimit(what)
        top = value + grace if hard == resource.RLIM_INFINITY else min(value + grace, hard)
        resource.setrlimit(what, (min(value, top), top))


def die_with_parent() -> None:
    """Ask Linux to kill this process when the checker dies (PR_SET_PDEATHSIG, SIGKILL), so a
    checker killed mid-run leaves no worker behind; elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG


if __name__ == "__main__":
    # before anything else is imported: the limits hold for NumPy and the learner's code alike
    set_limits(*(int(v) for v in sys.argv[4:7]))
    die_with_parent()

# ruff: noqa: E402 — imports after the limits, on purpose
import contextlib
import hashlib
import importlib.util
import inspect
import os
import random
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from checker.cost_classes import COST_CLASSES
from checker.protocol import (
    MAX_ARRAY_BYTES,
    PROGRESS,
    PROGRESS_TEXT,
    Reader,
    encode,
    write_all,
)

#: Longest list of arrays described element by element, longest exception message sent.
MAX_ITEMS = 1000
MAX_TEXT = 500
#: The optional methods whose signatures the checker is told.
OPTIONAL = ("update_mini_batch", "total_cost")
#: network3.py's layer classes, which a conv network's module must define.
CONV_NET_CLASSES = ("ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer")

Arrays = list[np.ndarray[Any, Any]]


class Failed(Exception):
    """A call into the learner's code raised: carries the reply's ``error`` field."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("text"))
        self.error = error


class Worker:
    def __init__(self, out: int, progress: int) -> None:
        self.out = out
        self.progress = progress
        self.calls = 0
        self.cls: Any = None
        self.net: Any = None
        self.files: list[Path] = []
        self.functions: dict[str, Any] = {}
        self.caches: dict[str, Any] = {}  # layer functions' caches, by the checker's names
        self.classes: dict[str, Any] = {}  # a conv network's classes, by network3.py's names
        self.module: Any = None

    # --- the requests -------------------------------------------------------------------------

    def _import(self, path: str) -> Any:
        """Import the file as a fresh module (its folder first on sys.path): the module, or the
        load error's reply."""
        file = Path(path)
        digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
        spec = importlib.util.spec_from_file_location(f"checked_{file.stem}_{digest}", file)
        if spec is None or spec.loader is None:
            return _load_error(f"{path} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        sys.path.insert(0, str(file.parent.resolve()))
        self.files = [file]
        try:
            self.call("importing " + file.name, spec.loader.exec_module, module)
        except Failed as exc:
            return _load_error(f"{file.name} does not import: {exc.error['text']}")
        return module

    def load(self, path: str, name: str) -> dict[str, Any]:
        """Import the file as a fresh module (its folder first on sys.path) and find the class."""
        module = self._import(path)
        if isinstance(module, dict):
            return module
        file = Path(path)
        cls = getattr(module, name, None)
        if cls is None:
            classes = sorted(k for k, v in vars(module).items() if isinstance(v, type))
            found = ", ".join(classes) or "none"
            return _load_error(f"{file.name} has no class {name!r} (classes found: {found})")
        if not isinstance(cls, type):
            return _load_error(f"{file.name}: {name!r} is a {type(cls).__name__}, expected a class")
        if not callable(getattr(cls, "backprop", None)):
            return _load_error(f"{name} has no method backprop(x, y) returning (nabla_b, nabla_w)")
        self.cls, self.files = cls, _source_files(cls)
        try:
            takes_cost = "cost" in inspect.signature(cls).parameters
        except (TypeError, ValueError):
            takes_cost = False
        return {
            "name": cls.__name__,
            "takes_cost": takes_cost,
            "cost_classes": [c for c in COST_CLASSES.values() if self._cost_class(c) is not None],
            "methods": [m for m in OPTIONAL if callable(getattr(cls, m, None))],
        }

    def construct(self, sizes: list[int], seed: int, cost: str | None) -> dict[str, Any]:
        """Seed NumPy's and Python's global generators, then ``Class(sizes[, cost=…])``."""
        kwargs = {"cost": self._cost_class(COST_CLASSES[cost])} if cost else {}
        np.random.seed(seed)  # noqa: NPY002 — the learner's code may draw from it
        random.seed(seed)
        self.net = self.call("constructing", self.cls, list(sizes), label="INTERFACE", **kwargs)
        return {
            "signatures": {m: _signature(getattr(self.net, m, None)) for m in OPTIONAL},
            "built": self._built(),
        }

    def _built(self) -> dict[str, Any] | None:
        """The shapes of the weights and biases the constructor built (the checker reads the
        learner's convention from them); None if they cannot be read."""
        try:
            got = self.call("reading net.weights and net.biases", _built_shapes, self.net)
        except Failed:
            return None
        return got

    def backprop(
        self, arrays: Arrays, layers: int, construct: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``backprop(x, y)`` on each sample (x, y after the parameters), in order, after
        constructing a network if asked to; stops at the first call that raises, answering the
        results so far and the error."""
        signatures = self.construct(**construct) if construct else {}
        params, samples = arrays[: 2 * layers], arrays[2 * layers :]
        results: list[Any] = []
        out: Arrays = []
        try:
            for s in range(len(samples) // 2):
                self.set_params(params, layers)
                x, y = samples[2 * s].copy(), samples[2 * s + 1].copy()
                results.append(_pair(self.call("backprop(x, y)", self.net.backprop, x, y), out))
        except Failed as exc:
            return signatures | {"results": results, "error": exc.error, "_arrays": out}
        return signatures | {"results": results, "_arrays": out}

    def update(self, arrays: Arrays, layers: int, args: list[float], form: str) -> dict[str, Any]:
        """``update_mini_batch`` on the list of (x, y); then the network's weights and biases."""
        params, samples = arrays[: 2 * layers], arrays[2 * layers :]
        self.set_params(params, layers)
        batch = [(samples[i].copy(), samples[i + 1].copy()) for i in range(0, len(samples), 2)]
        args = [int(a) if i == 2 else a for i, a in enumerate(args)]  # n is a count
        self.call(form, self.net.update_mini_batch, batch, *args)
        out: Arrays = []
        weights, biases = self.call(
            "reading net.weights and net.biases",
            lambda: (self.net.weights, self.net.biases),
            label="INTERFACE",
        )
        return {"weights": _list(weights, out), "biases": _list(biases, out), "_arrays": out}

    def total_cost(self, arrays: Arrays, layers: int, evals: list[list[Any]]) -> dict[str, Any]:
        """``total_cost(data, λ)`` at the parameters with one entry nudged, per evaluation
        ``[weights|biases, i, entry, h, λ]``; stops at the first that raises."""
        params, samples = arrays[: 2 * layers], arrays[2 * layers :]
        data = [(samples[i], samples[i + 1]) for i in range(0, len(samples), 2)]
        values: list[Any] = []
        try:
            for name, i, entry, h, lmbda in evals:
                nudged = [p.copy() for p in params]
                nudged[(0 if name == "weights" else layers) + i][tuple(entry)] += h
                self.set_params(nudged, layers)
                copies = [(x.copy(), y.copy()) for x, y in data]
                value = self.call("total_cost(data, lmbda)", self.net.total_cost, copies, lmbda)
                values.append(_number(value))
        except Failed as exc:
            return {"values": values, "error": exc.error}
        return {"values": values}

    def load_functions(self, path: str, names: list[str], within: str | None) -> dict[str, Any]:
        """Import the file and find the layer functions among ``names``: the module's own, or
        the attributes of its object ``within`` (a class of static methods, say)."""
        module = self._import(path)
        if isinstance(module, dict):
            return module
        file = Path(path)
        target = module if within is None else getattr(module, within, None)
        if target is None:
            return _load_error(f"{file.name} has no {within!r}")
        if isinstance(target, type):
            self.files = _source_files(target)
        self.functions = {
            n: fn for n in names[:MAX_ITEMS] if callable(fn := getattr(target, n, None))
        }
        defined = sorted(
            str(k) for k, v in vars(target).items() if callable(v) and not str(k).startswith("_")
        )
        return {
            "functions": list(self.functions),
            "signatures": {n: _signature(fn) for n, fn in self.functions.items()},
            "defined": defined[:20],
        }

    def layer(
        self,
        function: str,
        shown: str,
        params: dict[str, Any] | None = None,
        cache: str | None = None,
        keep: str | None = None,
        returns: int = 1,
        arrays: Arrays | None = None,
    ) -> dict[str, Any]:
        """``function(*arrays[, cache][, params])``, a layer function of the learner's: with
        ``keep``, its result is read as (…, cache) and the cache, the learner's own data, stays
        in this process under that name for a later call's ``cache``; the rest is described
        (``returns`` arrays: a tuple of them, or one)."""
        fn = self.functions.get(function)
        if fn is None:  # the checker asks only for what load_functions found
            return {"error": {"label": "INTERFACE", "call": shown, "text": "not defined"}}
        args: list[Any] = [a.copy() for a in arrays or []]
        if cache is not None:
            args.append(self.caches.pop(cache, None))
        if params is not None:
            args.append(dict(params))
        result = self.call(shown, fn, *args)
        if keep is not None:
            if not isinstance(result, tuple | list) or len(result) != 2:
                return {"kind": _kind(result)}
            result, self.caches[keep] = result[0], result[1]
        out: Arrays = []
        if returns == 1:
            return {"results": [_element(result, out)], "_arrays": out}
        if not isinstance(result, tuple | list) or len(result) != returns:
            return {"kind": _kind(result)}
        return {"results": [_element(r, out) for r in result], "_arrays": out}

    def load_conv_net(self, path: str, name: str) -> dict[str, Any]:
        """Import the file and find network3.py's classes in it: ``name`` (the network),
        ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer; and which of the activations ``sigmoid``
        and ``tanh`` the module defines, and whether ConvPoolLayer takes ``stride`` and
        ``padding``."""
        module = self._import(path)
        if isinstance(module, dict):
            return module
        file = Path(path)
        found = {n: getattr(module, n, None) for n in (name, *CONV_NET_CLASSES)}
        missing = [n for n, c in found.items() if not isinstance(c, type)]
        if missing:
            classes = sorted(k for k, v in vars(module).items() if isinstance(v, type))
            listed = ", ".join(classes[:20]) or "none"
            return _load_error(
                f"{file.name} has no class {', '.join(missing)} (classes found: {listed})"
            )
        if not callable(getattr(found[name], "backprop", None)):
            return _load_error(
                f"{name} has no method backprop(x, y) returning (nabla_b, nabla_w), one array per "
                "layer each"
            )
        kinds: dict[str, type] = {n: c for n, c in found.items() if isinstance(c, type)}
        self.classes = kinds | {"Network": kinds[name]}
        self.module = module
        self.files = [f for c in kinds.values() for f in _source_files(c)]
        keywords = _parameters(kinds["ConvPoolLayer"])
        return {
            "activations": [a for a in ("sigmoid", "tanh") if callable(getattr(module, a, None))],
            "keywords": [k for k in ("stride", "padding") if k in keywords],
            "takes_batch": len(_parameters(kinds[name])) >= 2,
        }

    def conv_backprop(
        self,
        layers: list[dict[str, Any]],
        activation: str,
        image: list[int],
        seed: int,
        arrays: Arrays,
    ) -> dict[str, Any]:
        """Build the layers and ``Network(layers[, mini_batch_size])``, set each layer's ``w``
        and ``b`` (network3's names) to the arrays sent, then ``backprop(x, y)`` on the
        mini-batch (x: images (m, C, H, W), y: labels (m,)). The constructor's own shapes of w
        and b come back with the result (the checker reads them)."""
        np.random.seed(seed)  # noqa: NPY002 — the learner's constructors may draw from it
        random.seed(seed)
        built = self.call("constructing the layers", self._conv_layers, layers, activation, image)
        net_cls = self.classes["Network"]
        args = [built, image[0]] if len(_parameters(net_cls)) >= 2 else [built]
        net = self.call("constructing the network", net_cls, *args, label="INTERFACE")
        shapes = self.call(
            "reading each layer's w and b",
            lambda: [[_shape_of(getattr(lay, n, None)) for n in ("w", "b")] for lay in built],
            label="INTERFACE",
        )
        params, (x, y) = arrays[:-2], arrays[-2:]

        def assign() -> None:
            for lay, w, b in zip(built, params[0::2], params[1::2], strict=True):
                lay.w, lay.b = w.copy(), b.copy()
                if isinstance(getattr(lay, "params", None), list):
                    lay.params = [lay.w, lay.b]

        self.call("setting each layer's w and b", assign, label="INTERFACE")
        out: Arrays = []
        result = self.call("backprop(x, y)", net.backprop, x.copy(), y.copy())
        return {"built": shapes, "result": _pair(result, out), "_arrays": out}

    def _conv_layers(self, specs: list[dict[str, Any]], activation: str, image: list[int]) -> Any:
        """network3.py's layers, each constructed as its signature reads (stride and padding
        passed only where they are not 1 and 0)."""
        fn = getattr(self.module, activation)
        built = []
        for spec in specs:
            kind = spec["kind"]
            if kind == "ConvPoolLayer":
                defaults = (("stride", 1), ("padding", 0))
                extra = {k: spec[k] for k, default in defaults if spec[k] != default}
                layer = self.classes[kind](
                    filter_shape=tuple(spec["filter_shape"]),
                    image_shape=tuple(spec["image_shape"]),
                    poolsize=tuple(spec["poolsize"]),
                    activation_fn=fn,
                    **extra,
                )
            elif kind == "FullyConnectedLayer":
                layer = self.classes[kind](spec["n_in"], spec["n_out"], activation_fn=fn)
            else:
                layer = self.classes[kind](spec["n_in"], spec["n_out"])
            built.append(layer)
        return built

    # --- calling the learner's code -----------------------------------------------------------

    def set_params(self, params: Arrays, layers: int) -> None:
        def assign() -> None:
            self.net.weights = [w.copy() for w in params[:layers]]
            self.net.biases = [b.copy() for b in params[layers:]]

        self.call("setting net.weights and net.biases", assign, label="INTERFACE")

    def call(self, what: str, fn: Any, *args: Any, label: str = "CRASH", **kwargs: Any) -> Any:
        """Record that the call starts, run it quietly; an exception becomes :class:`Failed`."""
        self.calls += 1
        text = what.encode()[:PROGRESS_TEXT]
        os.pwrite(self.progress, PROGRESS.pack(time.monotonic(), self.calls, len(text)) + text, 0)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        except MemoryError:
            raise Failed({"label": "MEMORY", "call": what, "text": "MemoryError"}) from None
        except BaseException as exc:  # the learner's exception is the answer
            raise Failed(
                {"label": label, "call": what, "text": _describe(exc, self.files)}
            ) from None

    def _cost_class(self, name: str) -> Any:
        for c in self.cls.__mro__:
            module = inspect.getmodule(c)
            if module is not None and hasattr(module, name):
                return getattr(module, name)
        return None


def _load_error(message: str) -> dict[str, Any]:
    return {"error": {"label": "LOAD", "call": "loading", "text": message}}


def _describe(exc: BaseException, files: Sequence[Path]) -> str:
    """``ValueError: shapes … (network.py:57)``: the exception's first line, and the innermost
    frame that lies in the implementation's own files (a SyntaxError: its line, named once)."""
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        text = f"{type(exc).__name__}: {exc.msg}" if exc.msg else type(exc).__name__
        return f"{text[:MAX_TEXT]} ({Path(exc.filename or '?').name}:{exc.lineno})"
    try:
        shown = str(exc)
    except BaseException:  # a learner's __str__ may raise too
        shown = ""
    text = f"{type(exc).__name__}: {shown}".splitlines()[0] if shown else type(exc).__name__
    own = {p.resolve() for p in files}
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() in own
    ]
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return text[:MAX_TEXT] + where


def _source_files(cls: type) -> list[Path]:
    files = []
    for c in cls.__mro__:
        with contextlib.suppress(TypeError, OSError):
            files.append(Path(inspect.getfile(c)))
    return files


def _signature(method: Any) -> dict[str, Any] | None:
    """How many positional arguments the method accepts (0…5), and its signature as text."""
    if not callable(method):
        return None
    try:
        sig = inspect.signature(method)
    except (TypeError, ValueError):
        return {"text": "(…)", "accepts": None}
    accepts = []
    for n in range(6):
        try:
            sig.bind(*([None] * n))
            accepts.append(n)
        except TypeError:
            pass
    return {"text": str(sig)[:MAX_TEXT], "accepts": accepts}


def _shape_of(value: Any) -> list[int] | None:
    """An array's shape as a list; None for what has none (no attribute, not an array)."""
    if value is None:
        return None
    return [int(n) for n in np.shape(value)]


def _parameters(cls: type) -> list[str]:
    """The names of the parameters the class's constructor takes (none if they cannot be read)."""
    try:
        return list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return []


def _kind(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def _pair(result: Any, out: Arrays) -> dict[str, Any]:
    """backprop's result: ``{"pair": [list, list]}``, ``{"two_arrays": …}`` or its kind."""
    if not isinstance(result, Sequence) or len(result) != 2:
        return {"kind": _kind(result)}
    if any(isinstance(r, np.ndarray) and r.dtype != object for r in result):
        return {"two_arrays": True}
    return {"pair": [_list(result[0], out), _list(result[1], out)]}


def _list(values: Any, out: Arrays) -> dict[str, Any]:
    """A list of arrays: each element as an array (sent), an oversized one by its shape alone,
    one that is no array of numbers by its kind."""
    if not isinstance(values, Sequence | Iterator | np.ndarray) or isinstance(values, str | bytes):
        return {"kind": _kind(values)}
    items = []
    for count, value in enumerate(values):
        if count >= MAX_ITEMS:
            return {"kind": f"a {type(values).__name__} of more than {MAX_ITEMS} items"}
        items.append(_element(value, out))
    return {"items": items}


def _element(value: Any, out: Arrays) -> dict[str, Any]:
    """An array sent as it is if it is float32 or float64; any other dtype (float16, complex,
    integer, bool, object, string) described by its dtype and shape, never converted."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return {"kind": _kind(value)}
    if array.dtype == object and array.ndim == 0:  # not an array at all: None, a dict, ...
        return {"kind": _kind(value)}
    if array.dtype.kind != "f" or array.dtype.itemsize not in (4, 8):
        return {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.nbytes > MAX_ARRAY_BYTES // 2:
        return {"shape": list(array.shape), "dtype": str(array.dtype)}
    out.append(array)
    return {"array": len(out) - 1}


def _built_shapes(net: Any) -> dict[str, Any]:
    """Per list, each element's shape (None: not a list or array); ``absent``: which of the two
    the network has no attribute for, and then the names of those it has."""
    built: dict[str, Any] = {
        name: [list(np.shape(v)) for v in values][:MAX_ITEMS]
        if isinstance(values := getattr(net, name, None), Sequence | np.ndarray)
        else None
        for name in ("weights", "biases")
    }
    built["absent"] = [n for n in ("weights", "biases") if not hasattr(net, n)]
    if built["absent"]:
        built["attributes"] = sorted(str(k) for k in getattr(net, "__dict__", {}))[:20]
    return built


def _number(value: Any) -> dict[str, Any]:
    try:
        return {"number": float(value), "dtype": str(getattr(value, "dtype", type(value).__name__))}
    except (TypeError, ValueError, OverflowError):
        return {"kind": _kind(value)}


def serve(inp: int, out: int, progress: int) -> None:
    """Answer requests until the checker closes the request pipe."""
    worker, reader = Worker(out, progress), Reader()
    write_all(out, encode({"ready": True}))  # started: none of the learner's code has run yet
    while data := os.read(inp, 1 << 16):
        for header, arrays in reader.feed(data):
            op, args = header.pop("op"), {k: v for k, v in header.items() if k != "arrays"}
            if arrays:
                args["arrays"] = arrays
            try:
                reply = getattr(worker, op)(**args)
            except Failed as exc:
                reply = {"error": exc.error}
            sent = reply.pop("_arrays", [])
            write_all(out, encode({"reply": reply}, sent))


if __name__ == "__main__":
    np.seterr(all="ignore")
    serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
