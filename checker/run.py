"""Check one implementation: every case (architecture × cost), each check in order, one verdict.

A case runs ``backprop(x, y)`` on every sample of its mini-batch (BP1–BP4), then, if the class
has them, ``update_mini_batch`` on the whole mini-batch (SGD) and ``total_cost`` (COST). The first
finding ends the case; an exception or a wrong form is that case's finding, and the next case runs.
"""

from __future__ import annotations

import dataclasses

from checker.adapter import NETWORK2, Adapter, costs_of
from checker.architectures import sigmoid_architectures
from checker.diagnosis import diagnose_sample, diagnose_total_cost, diagnose_update
from checker.load import load_class
from checker.verdict import CaseVerdict, Finding, ImplementationError, Verdict
from reference import Architecture, Step, make_case

#: The SGD step of every case. n ≠ m, so an L2 term divided by the wrong one shows; λ as the
#: book's network2 examples use.
STEP = Step(eta=0.5, lmbda=5.0, n=1000)


#: Classes that have hung in this process: their later cases are not run (each would wait out the
#: limit again) but answered at once.
_HUNG: dict[type, str] = {}


def check_case(cls: type, arch: Architecture) -> CaseVerdict:
    """Every check of one case; the first finding, or a pass listing what was compared."""
    if cls in _HUNG:
        return CaseVerdict(arch, Finding("HANG", f"not run: {_HUNG[cls]}"))
    verdict = _check_case(cls, arch)
    if verdict.finding is not None and verdict.finding.label == "HANG":
        _HUNG[cls] = f"{verdict.finding.message} in case {arch.id}"
    return verdict


def _check_case(cls: type, arch: Architecture) -> CaseVerdict:
    checked: list[str] = []
    try:
        net = Adapter.construct(cls, arch)
        params, batch = make_case(arch)
        one = dataclasses.replace(arch, batch=1)
        for s in range(arch.batch):
            x, y = batch.x[:, s : s + 1], batch.y[:, s : s + 1]
            nabla_b, nabla_w = net.backprop(params, x, y)
            finding = diagnose_sample(one, params, x, y, nabla_b, nabla_w)
            if finding is not None:
                return CaseVerdict(arch, _at_sample(finding, s, arch.batch))
        checked.append("backprop")
        form = net.update_form()
        if form is not None:
            step = STEP if form == NETWORK2 else Step(eta=STEP.eta)
            samples = [(batch.x[:, s : s + 1], batch.y[:, s : s + 1]) for s in range(arch.batch)]
            new = net.update(params, samples, step, form)
            finding = diagnose_update(arch, params, batch, step, form, new)
            if finding is not None:
                return CaseVerdict(arch, finding)
            checked.append("update_mini_batch")
        if net.has("total_cost"):
            finding = diagnose_total_cost(arch, params, batch, net.total_cost_fn(), STEP.lmbda)
            if finding is not None:
                return CaseVerdict(arch, finding)
            checked.append("total_cost")
    except ImplementationError as exc:
        return CaseVerdict(arch, exc.finding)
    return CaseVerdict(arch, None, tuple(checked))


def cases_for(cls: type, random_count: int, seed: int) -> list[Architecture]:
    """The all-sigmoid architectures, once per cost the class offers (network2's form: both)."""
    return sigmoid_architectures(random_count, seed, costs_of(cls))


def check_class(cls: type, name: str, random_count: int, seed: int) -> Verdict:
    """The verdict on a class over every case."""
    cases = tuple(check_case(cls, arch) for arch in cases_for(cls, random_count, seed))
    return Verdict(name, cases, notes=_notes(cls))


def check_spec(spec: str, random_count: int, seed: int) -> Verdict:
    """Load ``path.py:ClassName`` and check it; a load failure is the verdict."""
    try:
        cls = load_class(spec)
    except ImplementationError as exc:
        return Verdict(spec, load_failure=exc.finding)
    return check_class(cls, spec, random_count, seed)


def _notes(cls: type) -> tuple[str, ...]:
    missing = [
        m for m in ("update_mini_batch", "total_cost") if not callable(getattr(cls, m, None))
    ]
    return tuple(f"no {m}: not checked" for m in missing)


def _at_sample(finding: Finding, s: int, m: int) -> Finding:
    if m == 1:
        return finding
    return dataclasses.replace(finding, message=f"{finding.message} (sample {s + 1} of {m})")
