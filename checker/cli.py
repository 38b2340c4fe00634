"""``python -m checker [path/to/file.py:ClassName …]``: one verdict line per implementation.

With no implementation named, the mutation self-test: the correct implementations and every
mutant of the catalogue, one table row each (expected against found label). Exit status 0 only
when every implementation passes — or, for the catalogue, when every mutant gets its intended
label and the correct implementations pass.

Each implementation runs in a process of its own under limits (``--timeout`` per call,
``--total-timeout`` per implementation, ``--memory``) and, where the kernel allows it, in
bubblewrap's namespaces (:mod:`checker.isolation`; where not, one line on stderr says so, the
results record the level, and ``--require-isolation`` makes it an error, exit 2); its output
never reaches this stdout, so every verdict line starts a line; under a failing verdict, one
line per further cause. ``--cost`` checks with other costs than the class offers; ``--2to3``
checks a Python 3 copy of a Python 2 file (:mod:`checker.python2`). ``--layers FILE.py`` checks
a file's conv and max-pool layer functions instead, as course assignments write them
(:mod:`checker.layer_check`), and ``--conv-network FILE.py`` a network3-style conv network
(:mod:`checker.conv_check`), under the same limits and isolation; the self-test runs the conv
network's mutants too (:mod:`checker.mutants.conv_catalogue`). ``--results`` is removed
when the run starts and written whole when it ends: a run that dies leaves no results file
behind.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from checker.architectures import RANDOM_COUNT
from checker.conv_check import check_conv_network
from checker.isolation import NAMESPACES, Level, level
from checker.layer_check import check_layers
from checker.layer_verdict import LayerVerdict
from checker.mutants import CORRECT, Mutant, list_mutants
from checker.mutants.conv_catalogue import CORRECT_CONV, ConvMutant, list_conv_mutants
from checker.python2 import converted
from checker.quoting import quoted
from checker.run import Options, check_spec
from checker.usage import CLI_FLAGS, OPTIONS, ConfigurationError, Limits, limits
from checker.verdict import Verdict
from reference.costs import COSTS
from suite import results

#: Lines of the implementation's own output shown under a failing verdict (at most).
TAIL_LINES = 8


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m checker",
        description="Check a network.py/network2.py-style backprop equation by equation "
        "(BP1, BP2, BP3, BP4, SGD) against the reference. With no FILE.py:CLASS, run the "
        "mutant catalogue and print its verdict table.",
    )
    parser.add_argument(
        "impl",
        nargs="*",
        metavar="FILE.py:CLASS",
        help="an implementation to check (the class defaults to Network)",
    )
    parser.add_argument(
        "--random-count",
        type=int,
        default=RANDOM_COUNT,
        help=f"seeded random architectures added to the curated ones (default {RANDOM_COUNT})",
    )
    parser.add_argument("--random-seed", type=int, default=0, help="their seed (default 0)")
    parser.add_argument("--cases", action="store_true", help="also print every case's verdict")
    parser.add_argument("--results", metavar="PATH", help="write the verdicts to this JSON file")
    for option in OPTIONS:  # --timeout, --total-timeout, --memory, --isolation
        parser.add_argument(option.cli, dest=option.field, **option.kwargs)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="an update_mini_batch or total_cost whose signature is not the book's fails "
        "(INTERFACE) instead of being noted as not checked",
    )
    parser.add_argument(
        "--cost",
        action="append",
        choices=sorted(COSTS),
        help="check with this cost (repeatable) instead of those the class offers: a class "
        "without cost= whose backprop is written for the cross-entropy, say",
    )
    parser.add_argument(
        "--2to3",
        dest="two_to_three",
        action="store_true",
        help="convert a temporary copy of each FILE.py (and the .py files beside it) from "
        "Python 2 with fissix (2to3's fixers) and check that; the files are left unchanged",
    )
    parser.add_argument(
        "--tails",
        action="store_true",
        help="check on the tails family instead (saturated sigmoid nets, |z| 20…745, y ∈ {0, 1}: "
        "where the book's σ(1 − σ) and a − y lose their digits); needs FILE.py:CLASS",
    )
    parser.add_argument(
        "--layers",
        action="append",
        metavar="FILE.py[:NAME]",
        help="check the conv and max-pool layer functions of FILE.py (repeatable): "
        "conv_forward(x, w, b, conv_param) -> (out, cache), conv_backward(dout, cache) -> "
        "(dx, dw, db), max_pool_forward(x, pool_param) -> (out, cache), max_pool_backward(dout, "
        "cache) -> dx, samples first; with :NAME, those of the object NAME in it",
    )
    parser.add_argument(
        "--conv-network",
        action="append",
        metavar="FILE.py[:NAME]",
        help="check the convolutional network of FILE.py (repeatable), network3.py's classes "
        "in NumPy: ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer and NAME (default Network), "
        "whose backprop(x, y) on a mini-batch returns (nabla_b, nabla_w), one array per layer",
    )
    parser.add_argument(
        "--require-isolation",
        action="store_true",
        help="exit 2 unless the kernel's isolation is available (what an autograder sets)",
    )
    args = parser.parse_args(argv)
    if args.tails and not args.impl:
        parser.error("--tails checks an implementation: name FILE.py:CLASS")
    if args.random_count < 0:
        parser.error(f"--random-count must be >= 0, got {args.random_count}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Exit 0: every verdict as expected; 1: one is not; 2: a usage error, or a configuration
    the checker cannot run under (``--memory`` too small to start the worker)."""
    args = parse(argv)
    try:
        return run(args)
    except ConfigurationError as exc:
        print(f"python -m checker: error: {exc.said(CLI_FLAGS)}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    if args.results:  # no earlier verdict may stand in for this run's
        with contextlib.suppress(FileNotFoundError):
            Path(args.results).unlink()
    isolated = level(args.isolation)
    if isolated.name != NAMESPACES:
        print(isolated.line(), file=sys.stderr, flush=True)
        if args.require_isolation:
            return 2
    costs = tuple(dict.fromkeys(args.cost)) if args.cost else None
    given = limits(lambda option: getattr(args, option.field))
    options = Options(given, args.strict, costs, tails=args.tails)
    layer_verdicts = [report_layers(spec, args) for spec in args.layers or []]
    layer_verdicts += [report_layers(spec, args, conv=True) for spec in args.conv_network or []]
    verdicts: list[Verdict] = []
    expected: list[str] = []
    conv_ok = True
    if args.impl:
        for spec in args.impl:
            verdict = check_one(spec, args, options)
            verdicts.append(verdict)
            expected.append("PASS")
            print(verdict.line(), flush=True)
            for line in verdict.cause_lines():
                print(f"    {line}")
            print_output(verdict)
            if args.cases:
                print_cases(verdict)
    elif not layer_verdicts:  # nothing named: the mutation self-test
        mutants = CORRECT + list_mutants()
        verdicts = [
            check_spec(m.spec, args.random_count, args.random_seed, options, name=m.name)
            for m in mutants
        ]
        expected = [m.expected for m in mutants]
        print(table(mutants, verdicts))
        if args.cases:
            for verdict in verdicts:
                print(verdict.line())
                print_cases(verdict)
        conv_ok = conv_self_test(given)
    if args.results:
        write(Path(args.results), verdicts, expected, args, isolated, layer_verdicts)
    as_expected = all(v.label == e for v, e in zip(verdicts, expected, strict=True))
    if not (args.impl or layer_verdicts) and not conv_ok:
        return 1
    return 0 if as_expected and all(v.passed for v in layer_verdicts) else 1


def report_layers(spec: str, args: argparse.Namespace, conv: bool = False) -> LayerVerdict:
    """One file's layer functions (``conv``: its conv network): the verdict line, a line per
    further cause, its output."""
    check = check_conv_network if conv else check_layers
    verdict = check(spec, limits(lambda option: getattr(args, option.field)))
    print(verdict.line(), flush=True)
    for line in verdict.cause_lines():
        print(f"    {line}")
    print_output(verdict)
    if args.cases:
        for case in verdict.cases:
            print(f"    {case.line()}")
    return verdict


def intended(mutant: ConvMutant, verdict: LayerVerdict) -> bool:
    """Whether a conv network got its intended (label, layer, cause phrase): its headline's."""
    label, layer, phrase = mutant.intended
    if label == "PASS":
        return verdict.passed
    causes = verdict.causes()
    if not causes:
        return False
    finding = causes[0][2]
    return (finding.label, finding.layer) == (label, layer) and phrase in finding.cause


def conv_self_test(given: Limits) -> bool:
    """The conv network's correct net and every mutant of its catalogue, one row each: the
    intended heading and cause phrase against the verdict's headline. True when all agree."""
    mutants = [CORRECT_CONV, *list_conv_mutants()]
    rows = [["", "conv network", "expected", "found", "planted bug"]]
    agree = []
    for mutant in mutants:
        verdict = check_conv_network(mutant.spec, given, name=mutant.name)
        causes = verdict.causes()
        found = f"{causes[0][2].heading}: {causes[0][2].cause[:40]}" if causes else verdict.label
        label, layer, phrase = mutant.intended
        want = "PASS" if label == "PASS" else f"{label} ({layer}): {phrase}"
        agree.append(intended(mutant, verdict))
        what = mutant.description if label != "PASS" else "(correct implementation)"
        rows.append(["ok" if agree[-1] else "MISSED", mutant.name, want, found, what])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    lines.append(
        f"{sum(agree)} of {len(agree)} conv networks as intended ({len(agree) - 1} mutants)"
    )
    print("\n" + "\n".join(lines))
    return all(agree)


def check_one(spec: str, args: argparse.Namespace, options: Options) -> Verdict:
    """One implementation's verdict; with ``--2to3``, of a converted copy (said first)."""
    if not args.two_to_three:
        return check_spec(spec, args.random_count, args.random_seed, options)
    with converted(spec) as (copy, note):
        print(note, flush=True)
        return check_spec(copy, args.random_count, args.random_seed, options, name=spec)


def print_output(verdict: Verdict | LayerVerdict) -> None:
    """Under a failing verdict, the last lines of what the implementation printed, each quoted
    (:func:`checker.quoting.quoted`), so none can pass for a verdict line."""
    lines = quoted(verdict.output, TAIL_LINES, 200)
    if lines:
        print("    the implementation's last output (quoted, control characters escaped):")
        for line in lines:
            print(line)


def print_cases(verdict: Verdict) -> None:
    for case in verdict.cases:
        print(f"    {case.line()}")


def table(mutants: list[Mutant], verdicts: list[Verdict]) -> str:
    """One row per implementation: expected and found label, where, how far, what it plants."""
    rows = [
        [
            "",
            "implementation",
            "expected",
            "found",
            "where",
            "error / allowed",
            "cases",
            "planted bug",
        ]
    ]
    for mutant, verdict in zip(mutants, verdicts, strict=True):
        worst = verdict.worst
        finding = worst[1] if worst else None
        where = ""
        if worst and finding:
            where = (f"layer {finding.layer}, " if finding.layer else "") + worst[0]
        size = (
            f"{finding.max_abs:.2g} / {finding.allowed:.2g}"
            if finding and finding.max_abs is not None and finding.allowed
            else ""
        )
        rows.append(
            [
                "ok" if verdict.label == mutant.expected else "MISSED",
                mutant.name,
                mutant.expected,
                verdict.label,
                where,
                size,
                f"{len(verdict.failures)}/{len(verdict.cases)} fail"
                + (f", {len(verdict.not_run)} not run" if verdict.not_run else ""),
                mutant.description if mutant.expected != "PASS" else "(correct implementation)",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    caught = sum(r[0] == "ok" for r in rows[1:])
    lines.insert(1, "-" * max(len(line) for line in lines))
    lines.append(
        f"{caught} of {len(rows) - 1} as expected "
        f"({len(mutants) - len(CORRECT)} mutants, {len(CORRECT)} correct implementations)"
    )
    return "\n".join(lines)


def write(
    path: Path,
    verdicts: list[Verdict],
    expected: list[str],
    args: argparse.Namespace,
    isolated: Level,
    layer_verdicts: Sequence[LayerVerdict] = (),
) -> None:
    """Every case's verdict and each implementation's overall verdict, as results records.

    A case of a mutant is not judged alone (a bug may hide on some cases): its ``as_expected``
    is None; the mutant's overall record carries the judgement.
    """
    records = []
    for verdict, want in zip(verdicts, expected, strict=True):
        records.append((verdict.impl, results.verdict_record(verdict.impl, verdict.as_dict(want))))
        for case in verdict.cases:
            judged = case.passed if want == "PASS" else None
            fields = case.as_dict() | {"expected": want, "as_expected": judged}
            rec = results.verdict_record(verdict.impl, fields, case.arch)
            records.append((f"{verdict.impl}[{case.case}]", rec))
    for layers in layer_verdicts:  # one record per file of layer functions (or conv network)
        kind = "conv" if layers.outputs == "gradient" else "layers"
        records.append(
            (f"{kind}:{layers.impl}", results.verdict_record(layers.impl, layers.as_dict()))
        )
    env = results.run_environment(args.random_seed, args.random_count)
    env |= {"isolation": isolated.name, "isolation_detail": isolated.detail}
    results.write(path, records, env)


if __name__ == "__main__":
    sys.exit(main())
