"""Drive a network.py- or network2.py-style class, running in its own process, with the harness's
parameters and samples.

:class:`Implementation` loads ``path.py:ClassName`` in a worker (:mod:`checker.sandbox`), which
constructs ``Class(sizes)`` (or ``Class(sizes, cost=QuadraticCost)`` / ``cost=CrossEntropyCost``
when the constructor takes a cost), overwrites ``weights`` and ``biases`` with a case's seeded
parameters, and calls ``backprop(x, y)``, ``update_mini_batch`` and ``total_cost``. What comes back
is checked for form by :mod:`checker.replies` before any number is compared; a wrong form, or an
exception, is raised as an :class:`ImplementationError` naming what was expected. Nothing of the
learner's runs here.

Softmax (book ch. 3): a class that takes a cost and whose module (or a base's) defines
``LogLikelihoodCost``, the book's name, is also constructed with ``cost=LogLikelihoodCost`` on
architectures whose output layer is a softmax (hidden layers sigmoid); under that cost it must
apply softmax at its output. The worker looks the names up in the learner's modules and reports
the ones it found (``cost_classes`` of its load reply); nothing is imported here.

Conventions: before its first case, the class is constructed on :data:`checker.layout.PROBE`
and the shapes it builds are read (the construct reply's ``built``); backprop is then tried there
in each sample form those allow. Every call after that sends parameters and samples in the
convention found and maps what comes back to the book's shapes (:class:`checker.layout.Layout`).
A load failure of Python 2 code says so (:mod:`checker.python2`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from checker import layout as conventions
from checker.cost_classes import COST_CLASSES
from checker.layout import BOOK, PROBE, Layout
from checker.load import check_spec_form, split_spec
from checker.python2 import load_hint
from checker.replies import Received, malformed, short, swapped_fits, text
from checker.sandbox import Child
from checker.usage import Limits
from checker.verdict import Finding, ImplementationError
from reference import Architecture, Params, Step, make_case
from reference.types import Array

#: Costs checked only when the implementation's modules define their class (softmax output).
OPTIONAL_COSTS = ("log_likelihood",)
REQUIRED_CLASSES = tuple(n for c, n in COST_CLASSES.items() if c not in OPTIONAL_COSTS)

#: ``update_mini_batch``'s two forms: network.py's and network2.py's with the L2 term.
NETWORK, NETWORK2 = (
    "update_mini_batch(mini_batch, eta)",
    "update_mini_batch(mini_batch, eta, lmbda, n)",
)
TOTAL_COST = "total_cost(data, lmbda)"
#: The types a cost may come in (the worker's description: a NumPy dtype or a Python type).
COST_DTYPES = ("float", "float32", "float64")


@dataclass(frozen=True)
class Forms:
    """How a constructed network's optional methods are called: a book form, or None with a note
    saying why not (absent, or another signature)."""

    update: str | None
    total_cost: bool
    notes: tuple[str, ...] = ()
    mismatches: tuple[str, ...] = ()  # the notes that are another signature (``--strict``)


@dataclass
class Implementation:
    """One implementation under test, loaded in a worker of its own (close it when done)."""

    spec: str
    child: Child
    name: str = ""
    takes_cost: bool = False
    cost_classes: tuple[str, ...] = ()
    methods: tuple[str, ...] = field(default=())
    #: The convention it is judged in (:mod:`checker.layout`), found at its first backprop; or
    #: the INTERFACE finding that none can be mapped.
    found: Layout | Finding | None = None

    @classmethod
    def open(cls, spec: str, limits: Limits) -> Implementation:
        """Start the worker and load the class; ImplementationError (LOAD, or what ended the
        worker while importing: HANG, CRASH) if it does not load — the worker is closed then."""
        path, name = split_spec(spec)
        check_spec_form(spec, path)
        child = Child(limits, path)
        try:
            reply, _ = child.request({"op": "load", "path": str(path.resolve()), "name": name})
            error = reply.get("error")
            if error is not None:
                message = text(error, "text")
                raise ImplementationError(Finding("LOAD", message + load_hint(path, message)))
            impl = cls(spec, child)
            impl.name = text(reply, "name")
            impl.takes_cost = reply.get("takes_cost") is True
            impl.cost_classes = tuple(_strings(reply.get("cost_classes")))
            impl.methods = tuple(_strings(reply.get("methods")))
        except ImplementationError as exc:
            exc.output = child.tail()  # what it printed before it failed to load
            child.close()  # LOAD, or what ended the import: HANG, MEMORY, CRASH
            raise
        except BaseException:  # the worker could not start (ConfigurationError), or ^C
            child.close()
            raise
        return impl

    def close(self) -> None:
        self.child.close()

    @property
    def costs(self) -> tuple[str, ...]:
        """The costs it is checked with: quadratic, and cross-entropy if it takes a cost; the
        log-likelihood (softmax output) if the worker also found ``LogLikelihoodCost``."""
        if not self.takes_cost:
            return ("quadratic",)
        return tuple(
            cost
            for cost, name in COST_CLASSES.items()
            if cost not in OPTIONAL_COSTS or name in self.cost_classes
        )

    @property
    def dead(self) -> Finding | None:
        """The finding that ended its worker (HANG, CRASH…): later cases are not run."""
        return self.child.dead

    def output_tail(self) -> str:
        return self.child.tail()

    # --- the calls ------------------------------------------------------------------------------

    def backprop(
        self, arch: Architecture, params: Params, samples: Sequence[tuple[Array, Array]]
    ) -> tuple[Forms, list[Received], ImplementationError | None]:
        """Construct ``Class(sizes[, cost=…])`` after seeding the worker's generators, then
        ``backprop(x, y)`` on each sample in order (one round trip): the network's forms, what
        each call returned, and the error that stopped the run of samples (None if all
        returned). A constructor that raises is INTERFACE."""
        cost = None
        if self.takes_cost:
            wanted = COST_CLASSES.get(arch.cost)
            if wanted is None:  # a cost of the reference's with no network2.py class
                raise ImplementationError(
                    Finding(
                        "INTERFACE",
                        f"{self.name}(sizes, cost=…) takes a cost, but the cost {arch.cost!r} has "
                        f"no network2.py class to pass it (the checker knows "
                        f"{', '.join(COST_CLASSES.values())})",
                    )
                )
            if wanted not in self.cost_classes:
                raise ImplementationError(
                    Finding(
                        "INTERFACE",
                        f"{self.name}(sizes, cost=…) takes a cost, but its module has no class "
                        f"{wanted} (expected network2.py's {', '.join(REQUIRED_CLASSES)})",
                    )
                )
            cost = arch.cost
        layout = self.layout(arch)
        sizes = list(arch.sizes)
        shown = f"{self.name}({sizes}{', cost=' + COST_CLASSES[cost] if cost else ''})"
        reply, got = self._backprop(layout, arch, cost, params, samples)
        error = _error(reply, {"constructing": f"constructing {shown}"}, "CRASH")
        if error is not None and error.finding.message.startswith("constructing "):
            raise error
        signatures = reply.get("signatures")
        results = reply.get("results")
        if not isinstance(results, list):
            raise malformed("backprop")
        # one answer per sample, or the answers before the call that raised
        if len(results) != len(samples) if error is None else len(results) >= len(samples):
            raise short("backprop(x, y)", len(results), len(samples))
        found = forms(signatures if isinstance(signatures, dict) else {})
        got = layout.to_book(arch.sizes, results, got)
        return found, [Received(r, got) for r in results], error

    def _backprop(
        self,
        layout: Layout,
        arch: Architecture,
        cost: str | None,
        params: Params,
        samples: Sequence[tuple[Array, Array]],
    ) -> tuple[dict[str, Any], list[Any]]:
        """One round trip: construct, set ``params`` and call backprop on each sample, all in
        the learner's ``layout``."""
        construct = {"sizes": list(arch.sizes), "seed": arch.seed, "cost": cost}
        xy = [layout.sample(v) for pair in samples for v in pair]
        header = {"op": "backprop", "layers": len(params.weights), "construct": construct}
        # constructing and reading what it built, then per sample: setting the parameters, backprop
        calls = 2 + 2 * len(samples)
        return self.child.request(header, [*layout.params(params), *xy], calls=calls)

    # --- the learner's convention ---------------------------------------------------------------

    def layout(self, arch: Architecture) -> Layout:
        """The convention it is judged in, found once (on the probe net, with this case's cost);
        ImplementationError (INTERFACE) when its arrays fit no convention the checker can map."""
        if self.found is None:
            self.found = self._find_layout(arch)
        if isinstance(self.found, Finding):
            raise ImplementationError(self.found)
        return self.found

    def _find_layout(self, arch: Architecture) -> Layout | Finding:
        """Read the storage from what the constructor builds on :data:`PROBE`, then try backprop
        there in each sample form that storage allows: the first whose pair has the book's shapes
        (either order) is the convention. The book's storage that fits no form is judged as the
        book's (its cases then say what is wrong); another storage that fits none is INTERFACE."""
        cost = arch.cost if self.takes_cost else None
        if cost is not None and COST_CLASSES.get(cost) not in self.cost_classes:
            return BOOK  # every case says so (INTERFACE)
        probe = Architecture(PROBE, _activations(arch), arch.cost, batch=1, seed=arch.seed)
        construct = {"op": "construct", "sizes": list(PROBE), "seed": arch.seed, "cost": cost}
        reply, _ = self.child.request(construct, calls=2)
        if reply.get("error") is not None:
            return BOOK  # the constructor raised: every case says so
        found = conventions.storage(self.name, PROBE, reply.get("built"))
        if found is None:
            return BOOK
        if isinstance(found, Finding):
            return found
        params, batch = make_case(probe)
        sample = [(batch.x[:, :1], batch.y[:, :1])]
        tried = []
        for layout in conventions.layouts(*found):
            reply, got = self._backprop(layout, probe, cost, params, sample)
            results = reply.get("results")
            if isinstance(results, list) and len(results) == 1:
                received = Received(results[0], layout.to_book(PROBE, results, got))
                if swapped_fits(probe, _reversed(received)):
                    return layout
                if swapped_fits(probe, received):
                    return conventions.swapped(layout)
                tried.append(f"as {conventions.SAMPLE_FORMS[layout.samples]}: {_shapes(received)}")
            else:
                error = reply.get("error")
                tried.append(
                    f"as {conventions.SAMPLE_FORMS[layout.samples]}: it raised "
                    f"{text(error, 'text')}"
                )
        if found == ("book", "column"):
            return BOOK
        stored = Layout(*found).note() or ""
        return Finding(
            "INTERFACE",
            f"{stored.split(':')[0]}, but with samples fed "
            f"{'; '.join(tried)}; expected lists of one array per layer 2…L "
            "(the checker cannot map it: use the book's shapes)",
        )

    def update(
        self, params: Params, samples: Sequence[tuple[Array, Array]], step: Step, form: str
    ) -> tuple[Received, Received]:
        """``update_mini_batch`` on a list of (x, y) pairs: the new weights and biases as sent."""
        args = [step.eta, step.lmbda, step.n] if form == NETWORK2 else [step.eta]
        layout = self.found if isinstance(self.found, Layout) else BOOK
        xy = [layout.sample(v, update=True) for pair in samples for v in pair]
        header = {"op": "update", "layers": len(params.weights), "args": args, "form": form}
        # setting the parameters, the update, reading the parameters
        reply, got = self.child.request(header, [*layout.params(params), *xy], calls=3)
        _raise(reply, {}, "CRASH")
        sizes = [w.shape[1] for w in params.weights[:1]] + [w.shape[0] for w in params.weights]
        got = layout.to_book(sizes, [reply.get("weights"), reply.get("biases")], got)
        return Received(reply.get("weights"), got), Received(reply.get("biases"), got)

    def total_costs(
        self, params: Params, data: Sequence[tuple[Array, Array]], evals: list[list[Any]]
    ) -> list[float]:
        """``total_cost(data, λ)`` at ``params`` with one entry nudged per evaluation
        ``[weights|biases, i, entry, h, λ]``: the costs, each a finite number."""
        layout = self.found if isinstance(self.found, Layout) else BOOK
        xy = [layout.sample(v, update=True) for pair in data for v in pair]
        evals = [
            [name, i, layout.entry(name, entry), h, lmbda] for name, i, entry, h, lmbda in evals
        ]
        header = {"op": "total_cost", "layers": len(params.weights), "evals": evals}
        calls = 2 * len(evals)  # per evaluation: setting the parameters, total_cost
        reply, _ = self.child.request(header, [*layout.params(params), *xy], calls=calls)
        values = reply.get("values")
        if not isinstance(values, list) or len(values) > len(evals):
            raise malformed("total_cost")
        costs = []
        for value, (_, _, _, _, lmbda) in zip(values, evals, strict=False):
            number = value.get("number") if isinstance(value, dict) else None
            if not isinstance(number, float | int):
                kind = text(value, "kind") if isinstance(value, dict) else "something else"
                raise ImplementationError(
                    Finding("INTERFACE", f"total_cost returned {kind}, expected a number")
                )
            dtype = value.get("dtype")
            if dtype not in COST_DTYPES:
                raise ImplementationError(
                    Finding(
                        "INTERFACE",
                        f"total_cost returned a {text(value, 'dtype')} number; accepted: a "
                        "float, float32 or float64 (float16, complex, integer, bool or string "
                        "costs are not)",
                    )
                )
            if not np.isfinite(number):
                raise ImplementationError(
                    Finding("NONFINITE", f"total_cost(data, {lmbda:g}) returned {number}")
                )
            costs.append(float(number))
        _raise(reply, {}, "CRASH")
        if len(costs) != len(evals):
            raise malformed("total_cost")
        return costs


def forms(signatures: dict[str, Any]) -> Forms:
    """The book form of ``update_mini_batch`` and ``total_cost`` from their signatures, or a note:
    absent, or another signature (not checked; ``--strict`` makes it INTERFACE)."""
    notes, mismatches = [], []
    update: str | None = None
    sig = signatures.get("update_mini_batch")
    if not isinstance(sig, dict):
        notes.append("no update_mini_batch: not checked")
    else:
        accepts = sig.get("accepts")
        if not isinstance(accepts, list) or 4 in accepts:
            update = NETWORK2 if isinstance(accepts, list) else NETWORK
        elif 2 in accepts:
            update = NETWORK
        else:
            note = (
                f"update_mini_batch{text(sig, 'text')} is not the book's {NETWORK} or "
                f"{NETWORK2}: not checked"
            )
            notes.append(note)
            mismatches.append(note)
    total = False
    sig = signatures.get("total_cost")
    if not isinstance(sig, dict):
        notes.append("no total_cost: not checked")
    else:
        accepts = sig.get("accepts")
        total = not isinstance(accepts, list) or 2 in accepts
        if not total:
            note = f"total_cost{text(sig, 'text')} is not the book's {TOTAL_COST}: not checked"
            notes.append(note)
            mismatches.append(note)
    return Forms(update, total, tuple(notes), tuple(mismatches))


def _error(
    reply: dict[str, Any], calls: dict[str, str], label: str = "CRASH"
) -> ImplementationError | None:
    """The reply's error as an ImplementationError: ``call raised Type: message (file:line)``."""
    error = reply.get("error")
    if error is None:
        return None
    if not isinstance(error, dict):
        return malformed("an error")
    call = text(error, "call")
    call = calls.get(call, call)
    found = error.get("label")
    if found == "MEMORY":
        return ImplementationError(
            Finding(
                "MEMORY", f"{call} ran out of memory (MemoryError under the address-space limit)"
            )
        )
    if found not in ("CRASH", "INTERFACE"):
        found = label
    return ImplementationError(Finding(str(found), f"{call} raised {text(error, 'text')}"))


def _raise(reply: dict[str, Any], calls: dict[str, str], label: str) -> None:
    error = _error(reply, calls, label)
    if error is not None:
        raise error


def _activations(arch: Architecture) -> str | tuple[str, ...]:
    """The probe net's activations: sigmoid, with the case's output activation (softmax)."""
    out = arch.sigmas[-1].name
    return "sigmoid" if out == "sigmoid" else ("sigmoid", out)


def _reversed(got: Received) -> Received:
    """backprop's pair read the other way round (so that swapped_fits asks for the book's)."""
    node = got.node
    halves = node.get("pair") if isinstance(node, dict) else None
    if not isinstance(halves, list) or len(halves) != 2:
        return got
    return Received({"pair": [halves[1], halves[0]]}, got.arrays)


def _shapes(got: Received) -> str:
    """What a pair held, as shapes: ``([(3, 1), (2, 1)], [(3, 4), (2, 3)])``."""
    node = got.node
    halves = node.get("pair") if isinstance(node, dict) else None
    if not isinstance(halves, list) or len(halves) != 2:
        return f"it returned {text(node, 'kind') if isinstance(node, dict) else 'something else'}"
    shown = []
    for half in halves:
        items = half.get("items") if isinstance(half, dict) else None
        if not isinstance(items, list):
            shown.append(text(half, "kind"))
            continue
        shapes = [
            tuple(got.arrays[i["array"]].shape)
            if isinstance(i, dict)
            and isinstance(i.get("array"), int)
            and 0 <= i["array"] < len(got.arrays)
            else "?"
            for i in items
        ]
        shown.append(str(shapes))
    return f"it returned shapes ({shown[0]}, {shown[1]})"


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def spec_path(spec: str) -> Path:
    return split_spec(spec)[0]
