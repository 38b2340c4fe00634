"""The odd one out: when comparisons fail, who disagrees with whom, and which equation broke.

Every comparison is the reference against one oracle, so for one architecture and one quantity
of one layer the results say which oracles the reference agrees with. Two readings:

- the reference disagrees with every oracle that can see the difference: the reference is likely
  wrong. An oracle that passed "cannot see it" when its allowed error is at least half the
  smallest error the failing oracles prove (max_abs − allowed): a reference off by e from the
  truth passes an oracle within a of the truth whenever e ≤ 2a (FD against a 1e-9 BP2 error).
  Then, as the checker does for a learner's code, the first equation it breaks, going from the
  output layer back: BP1 (δ^L wrong), BP2 at layer l (δ^{l+1} right, δ^l wrong), else BP3 or
  BP4 at the layer nearest the output whose ∂C/∂b^l or ∂C/∂w^l is wrong while δ^l is right;
- only some oracles disagree while others that can see as much agree with the reference: likely
  those oracles (or their tolerance).

Works on typed results records (:class:`suite.results.Record`) through :func:`status`,
:func:`place` and :func:`error_proven`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from suite.results import Record

Key = tuple[str, int]  # (quantity, layer)

SYMBOL = {"delta": "δ", "nabla_b": "∂C/∂b", "nabla_w": "∂C/∂w"}


def status(rec: Record) -> str:
    """The record's status: pass, fail, error (the oracle could not run) or not_applicable.
    A comparison judged by the ground truth ("exact", "torch~exact") is not the reference
    against an oracle: it has no say here (status "truth"); nor has a failure that a known
    upstream bug explains (status "known": the oracle, not the reference, is wrong there)."""
    if rec.oracle == "exact" or rec.oracle.endswith("~exact"):
        return "truth"
    if rec.kind == "comparison" and not rec.passed and rec.known_bug is not None:
        return "known"  # a framework's known bug explains it (strict xfail): no say either
    if rec.kind == "comparison":
        return "pass" if rec.passed else "fail"
    return rec.kind


def place(rec: Record) -> Key:
    """The (quantity, layer) a comparison record judges."""
    return rec.quantity, rec.layer


def error_proven(rec: Record) -> float:
    """How far the reference must be from the truth if this failing oracle is right."""
    return rec.max_abs - rec.allowed


def name(key: Key) -> str:
    """``δ^3``, ``∂C/∂w^2``: a quantity of a layer as the book writes it."""
    return f"{SYMBOL.get(key[0], key[0])}^{key[1]}"


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def odd_ones(records: Iterable[Record]) -> dict[Key, tuple[str, list[str], list[str]]]:
    """Per (quantity, layer) with a failure: ("reference", failing, blind passers) when the
    reference disagrees with every oracle that can see it, else ("oracles", failing, passers)."""
    at: dict[Key, dict[str, Record]] = defaultdict(dict)
    for rec in records:
        if rec.kind == "comparison":
            at[place(rec)][rec.oracle] = rec
    found: dict[Key, tuple[str, list[str], list[str]]] = {}
    for key, by_oracle in at.items():
        failing = sorted(o for o, r in by_oracle.items() if status(r) == "fail")
        if not failing:
            continue
        passing = sorted(o for o, r in by_oracle.items() if status(r) == "pass")
        proven = min(error_proven(by_oracle[o]) for o in failing)
        seeing = [o for o in passing if 2 * by_oracle[o].allowed < proven]
        if seeing:
            found[key] = ("oracles", failing, seeing)
        else:
            found[key] = ("reference", failing, passing)
    return found


def first_equation(wrong: Iterable[Key], depth: int) -> str:
    """The first equation the reference breaks, from the (quantity, layer)s it gets wrong:
    "BP2 at layer 3: δ^4 agrees with every oracle, δ^3 does not"."""
    wrong = set(wrong)
    deltas = [layer for q, layer in wrong if q == "delta"]
    if deltas:
        layer = max(deltas)
        if layer == depth:
            return f"BP1 at layer {layer}: δ^{layer} (the output error) does not agree"
        return f"BP2 at layer {layer}: δ^{layer + 1} agrees with every oracle, δ^{layer} does not"
    layer = max(layer for _, layer in wrong)
    equation, key = ("BP3", ("nabla_b", layer))
    if key not in wrong:
        equation, key = ("BP4", ("nabla_w", layer))
    return f"{equation} at layer {layer}: δ^{layer} agrees with every oracle, {name(key)} does not"


def verdict(records: Sequence[Record]) -> str:
    """One line for one architecture's records: the odd one out, or "" if nothing failed."""
    errored = sorted({r.oracle for r in records if status(r) == "error"})
    odd = odd_ones(records)
    if not odd and not errored:
        return ""
    oracles = sorted({r.oracle for r in records})
    missing = sorted({r.oracle for r in records if status(r) == "not_applicable"})
    parts = []
    wrong = [key for key, (who, _, _) in odd.items() if who == "reference"]
    if wrong:
        depth = max(r.layer for r in records if r.kind == "comparison")
        seen = sorted({o for key in wrong for o in odd[key][1]})
        blind = sorted({o for key in wrong for o in odd[key][2]})
        line = (
            f"the reference is the odd one out: {first_equation(wrong, depth)} "
            f"(it disagrees with every oracle that can see it: {_join(seen)}"
        )
        line += f"; {_join(blind)} cannot see an error this small)" if blind else ")"
        parts.append(line)
    blamed: dict[str, list[Key]] = defaultdict(list)
    for key, (who, failing, _) in sorted(odd.items()):
        if who == "oracles":
            for oracle in failing:
                blamed[oracle].append(key)
    if blamed:
        agree = [o for o in oracles if o not in blamed and o not in errored and o not in missing]
        where = "; ".join(
            f"{o} on {', '.join(name(k) for k in keys)}" for o, keys in sorted(blamed.items())
        )
        who = f"only {_join(sorted(blamed))} disagree{'s' if len(blamed) == 1 else ''}"
        parts.append(
            f"{who} ({where}); the reference agrees with "
            f"{_join(agree) if agree else 'no other oracle'}: likely "
            f"{'that oracle' if len(blamed) == 1 else 'those oracles'} or its tolerance"
        )
    if errored:
        parts.append(f"{_join(errored)} could not run")
    return "; ".join(parts)


def verdicts(records: Iterable[Record]) -> dict[str, str]:
    """Architecture id → its one line, for every architecture where something failed."""
    by_arch: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        if rec.kind in ("comparison", "error", "not_applicable"):
            by_arch[rec.arch_id].append(rec)
    found = {arch: verdict(recs) for arch, recs in by_arch.items()}
    return {arch: line for arch, line in sorted(found.items()) if line}
