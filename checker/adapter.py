"""Drive a network.py- or network2.py-style class with the harness's parameters and samples.

The adapter constructs ``Class(sizes)`` (or ``Class(sizes, cost=QuadraticCost)`` /
``cost=CrossEntropyCost`` when the constructor takes a cost), overwrites ``weights`` and ``biases``
with a case's seeded parameters, and calls ``backprop(x, y)``, ``update_mini_batch`` and
``total_cost``. What comes back is checked for form — a pair of lists, one array per layer 2…L of
the right shape, all finite — before any number is compared; a form that is wrong, or an
exception, is raised as an :class:`ImplementationError` naming what was expected.

Softmax (book ch. 3): a class whose module (or a base's) defines ``LogLikelihoodCost``, the
book's name, is also constructed with ``cost=LogLikelihoodCost`` on architectures whose output
layer is a softmax (hidden layers sigmoid); under that cost it must apply softmax at its output.
"""

from __future__ import annotations

import contextlib
import inspect
import random
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from checker.load import describe, quiet, source_files
from checker.verdict import Finding, ImplementationError
from reference import Architecture, Params, Step
from reference.types import Array

#: Seconds one call into the learner's code may run before it is stopped and reported as HANG:
#: the slowest honest call here (a mini-batch of [784, 30, 10]) takes milliseconds, and an endless
#: loop would otherwise stall the whole run.
CALL_LIMIT_S = 10.0

#: The book's names for its cost classes (network2.py), looked up in the implementation's modules.
COST_CLASSES = {
    "quadratic": "QuadraticCost",
    "cross_entropy": "CrossEntropyCost",
    "log_likelihood": "LogLikelihoodCost",
}
#: Costs checked only when the implementation's modules define their class (softmax output).
OPTIONAL_COSTS = ("log_likelihood",)

#: ``update_mini_batch``'s two forms: network.py's and network2.py's with the L2 term.
NETWORK, NETWORK2 = (
    "update_mini_batch(mini_batch, eta)",
    "update_mini_batch(mini_batch, eta, lmbda, n)",
)


def takes_cost(cls: type) -> bool:
    """True for network2.py's form: the constructor has a ``cost`` parameter."""
    try:
        return "cost" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def costs_of(cls: type) -> tuple[str, ...]:
    """The costs an implementation can be checked with: quadratic, and cross-entropy if it takes
    a cost; the log-likelihood (softmax output) if its modules also define ``LogLikelihoodCost``."""
    if not takes_cost(cls):
        return ("quadratic",)
    return tuple(
        cost
        for cost, name in COST_CLASSES.items()
        if cost not in OPTIONAL_COSTS or _defined_for(cls, name)
    )


def _defined_for(cls: type, name: str) -> bool:
    """Whether a module defining ``cls`` or one of its bases has ``name``."""
    return any(hasattr(inspect.getmodule(c), name) for c in cls.__mro__)


def cost_class(cls: type, cost: str) -> Any:
    """The book-named cost class (``QuadraticCost``…) from the modules defining ``cls`` or its
    bases."""
    name = COST_CLASSES[cost]
    for c in cls.__mro__:
        module = inspect.getmodule(c)
        if module is not None and hasattr(module, name):
            return getattr(module, name)
    raise ImplementationError(
        Finding(
            "INTERFACE",
            f"{cls.__name__}(sizes, cost=…) takes a cost, but its module has no class {name} "
            f"(expected network2.py's {', '.join(COST_CLASSES.values())})",
        )
    )


@dataclass
class Adapter:
    """One constructed network of the class under test, for one case."""

    cls: type
    arch: Architecture
    net: Any

    @classmethod
    def construct(cls, impl: type, arch: Architecture) -> Adapter:
        """Seed NumPy's and Python's global generators, then ``impl(sizes[, cost=…])``."""
        sizes = list(arch.sizes)
        kwargs = {"cost": cost_class(impl, arch.cost)} if takes_cost(impl) else {}
        shown = f"{impl.__name__}({sizes}{', cost=' + COST_CLASSES[arch.cost] if kwargs else ''})"
        np.random.seed(arch.seed)  # noqa: NPY002 — the learner's code may draw from it
        random.seed(arch.seed)
        with guarded(impl, f"constructing {shown}", "INTERFACE"):
            net = impl(sizes, **kwargs)
        return cls(impl, arch, net)

    def has(self, method: str) -> bool:
        """Whether the network has this (optional) method."""
        return callable(getattr(self.net, method, None))

    @property
    def layers(self) -> range:
        return range(2, self.arch.depth + 1)

    def set_params(self, params: Params) -> None:
        """Overwrite ``weights`` and ``biases`` with copies of the case's parameters."""
        with guarded(self.cls, "setting net.weights and net.biases", "INTERFACE"):
            self.net.weights = [w.copy() for w in params.weights]
            self.net.biases = [b.copy() for b in params.biases]

    def backprop(self, params: Params, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
        """``backprop(x, y)`` for one sample (column vectors) at ``params``: checked lists."""
        self.set_params(params)
        with guarded(self.cls, "backprop(x, y)", "CRASH"):
            result = self.net.backprop(x.copy(), y.copy())
        if not isinstance(result, Sequence) or len(result) != 2:
            raise ImplementationError(
                Finding(
                    "INTERFACE",
                    f"backprop(x, y) returned {_kind(result)}, expected a pair (nabla_b, nabla_w)",
                )
            )
        if any(isinstance(r, np.ndarray) and r.dtype != object for r in result):
            raise ImplementationError(
                Finding(
                    "INTERFACE",
                    "backprop(x, y) returned two arrays, expected (nabla_b, nabla_w): two lists "
                    f"of one array per layer 2…{self.arch.depth}",
                )
            )
        nabla_b = self.arrays(result[0], "nabla_b", "from backprop(x, y)", biases=True)
        nabla_w = self.arrays(result[1], "nabla_w", "from backprop(x, y)", biases=False)
        return nabla_b, nabla_w

    def update_form(self) -> str | None:
        """NETWORK or NETWORK2 by ``update_mini_batch``'s parameters; None if there is none."""
        if not self.has("update_mini_batch"):
            return None
        method = self.net.update_mini_batch
        try:
            count = len(inspect.signature(method).parameters)
        except (TypeError, ValueError):
            count = 2
        if count < 2:
            raise ImplementationError(
                Finding(
                    "INTERFACE",
                    f"update_mini_batch takes {count} arguments, expected {NETWORK} or {NETWORK2}",
                )
            )
        return NETWORK2 if count >= 4 else NETWORK

    def update(
        self, params: Params, samples: Sequence[tuple[Array, Array]], step: Step, form: str
    ) -> Params:
        """``update_mini_batch`` on a list of (x, y) pairs; the new weights and biases, checked."""
        self.set_params(params)
        mini_batch = [(x.copy(), y.copy()) for x, y in samples]
        args = (step.eta, step.lmbda, step.n) if form == NETWORK2 else (step.eta,)
        with guarded(self.cls, form, "CRASH"):
            self.net.update_mini_batch(mini_batch, *args)
        where = f"after {form}"
        with guarded(self.cls, "reading net.weights and net.biases", "INTERFACE"):
            weights, biases = self.net.weights, self.net.biases
        return Params(
            tuple(self.arrays(weights, "weights", where, biases=False)),
            tuple(self.arrays(biases, "biases", where, biases=True)),
        )

    def total_cost_fn(self) -> Callable[[Params, Sequence[tuple[Array, Array]], float], float]:
        """``(params, data, λ) → total_cost(data, λ)`` at those parameters."""

        def total_cost(params: Params, data: Sequence[tuple[Array, Array]], lmbda: float) -> float:
            self.set_params(params)
            with guarded(self.cls, "total_cost(data, lmbda)", "CRASH"):
                value = self.net.total_cost([(x.copy(), y.copy()) for x, y in data], lmbda)
            try:
                cost = float(value)
            except (TypeError, ValueError):
                raise ImplementationError(
                    Finding("INTERFACE", f"total_cost returned {_kind(value)}, expected a number")
                ) from None
            if not np.isfinite(cost):
                raise ImplementationError(
                    Finding("NONFINITE", f"total_cost(data, {lmbda:g}) returned {cost}")
                )
            return cost

        return total_cost

    def arrays(self, values: Any, name: str, where: str, *, biases: bool) -> list[Array]:
        """``values`` as float64 arrays, one per layer 2…L, of the shapes the architecture gives;
        wrong count → SHAPE, wrong shape → SHAPE at that layer, NaN/Inf → NONFINITE there (the
        layer nearest the output first, as backprop goes)."""
        sizes, count = self.arch.sizes, self.arch.depth - 1
        if not isinstance(values, Sequence | Iterator | np.ndarray) or isinstance(
            values, str | bytes
        ):
            raise ImplementationError(
                Finding(
                    "INTERFACE",
                    f"{name} {where} is {_kind(values)}, expected a list of "
                    f"{count} arrays (layers 2…{self.arch.depth})",
                )
            )
        values = list(values)
        if len(values) != count:
            raise ImplementationError(
                Finding(
                    "SHAPE",
                    f"{name} {where} has {len(values)} arrays, expected {count}, one "
                    f"per layer 2…{self.arch.depth} of {self.arch.id.split('_')[0]}",
                )
            )
        arrays: dict[int, Array] = {}
        for layer, value in reversed(list(zip(self.layers, values, strict=True))):
            want = (sizes[layer - 1], 1) if biases else (sizes[layer - 1], sizes[layer - 2])
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ImplementationError(
                    Finding(
                        "INTERFACE",
                        f"{name} of layer {layer} {where} is {_kind(value)}, "
                        f"expected an array of shape {want}",
                        layer,
                    )
                ) from None
            if array.shape != want:
                raise ImplementationError(
                    Finding(
                        "SHAPE",
                        f"{name} of layer {layer} {where} has shape {array.shape}, expected {want}",
                        layer,
                    )
                )
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
            arrays[layer] = array
        return [arrays[layer] for layer in self.layers]


class _Overran(BaseException):
    """Raised inside the learner's code when its time is up: a BaseException, so that the
    learner's own ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Overran` in the running code after ``seconds`` (SIGALRM). Only the main
    thread receives signals: elsewhere, or without setitimer, the call runs unlimited."""
    main = threading.current_thread() is threading.main_thread()
    if not (main and hasattr(signal, "setitimer")):
        yield
        return

    def overrun(signum: int, frame: object) -> None:
        raise _Overran

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def guarded(cls: type, what: str, label: str) -> Iterator[None]:
    """Run the learner's code quietly and for at most :data:`CALL_LIMIT_S`; an exception becomes
    a finding naming the call and line, an overrun a HANG finding."""
    try:
        with quiet(), time_limit(CALL_LIMIT_S):
            yield
    except ImplementationError:
        raise
    except _Overran:
        raise ImplementationError(
            Finding("HANG", f"{what} did not return within {CALL_LIMIT_S:g} s, so it was stopped")
        ) from None
    except (Exception, SystemExit) as exc:
        raise ImplementationError(
            Finding(label, f"{what} raised {describe(exc, source_files(cls))}")
        ) from exc


def _kind(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"
