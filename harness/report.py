"""The HTML discrepancy report: ``python -m harness.report RESULTS.json OUT.html``.

Reads only the results file the gate writes (see suite.results) and renders one self-contained
page with Jinja2 (templates/report.html.j2): inline CSS, figures as inline SVG, no script, nothing
fetched. It imports neither pytest, the oracles nor the reference. The page shows

- a summary grid, architectures × oracles, coloured by the worst error/allowed, failures first;
- per architecture: its spec, a per-layer table of δ, ∂C/∂b, ∂C/∂w per oracle, every failure with
  the command that reruns it, a heatmap of the ∂C/∂w difference where an oracle disagrees most,
  per map quantity (δ^l, ∂C/∂w^l of a convolution or pool) its per-channel heat maps, and ‖δ^l‖
  per layer; the max-pools' tied and nearly tied windows counted like the FD oracle's kinks;
- the environment the numbers come from;
- with ``--upstream``, the framework bugs harness.upstream reproduced (``nox -s upstream``).

At scale, passing architectures are collapsed and figures are drawn for at most ``--figures``
architectures (failing ones first, then those closest to their tolerance).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from harness import parts
from harness.report_views import (
    BANDS,
    GATE_TEST,
    QUANTITIES,
    QUANTITY_HTML,
    draw_figures,
    fmt_num,
    fmt_ratio,
    group,
    message,
    oracle_rows,
    passed,
    pool_tie_counts,
    rerun_command,
    subtest_id,
    truth_rows,
)
from suite.diffmap import TOP_CHANNELS
from suite.results import (
    SCHEMA,
    UPSTREAM_SCHEMA,
    Record,
    by_dtype_and_oracle,
    oracle_label,
    read_records,
    tally,
)

FIGURES = 100
TEMPLATES = Path(__file__).with_name("templates")


def training_view(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The training section from harness.training_report's JSON (or None): its curves as inline
    SVG and, per case and run, the final drift, its worst ratio to the drift model, and the
    accuracy."""
    if data is None:
        return None
    import tempfile

    from harness import training_plot

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "training.svg"
        training_plot.plot(data, path)
        svg = path.read_text(encoding="utf-8")
    svg = svg[svg.index("<svg") :]  # drop the XML prolog to inline it
    cases = [
        {
            "id": case["id"],
            "steps": case["steps"],
            "runs": [
                {"trainer": run["trainer"], "dtype": run["dtype"], **run["final"]}
                for run in case["runs"]
            ],
        }
        for case in data["cases"]
    ]
    return {"svg": svg, "cases": cases}


def upstream_view(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The "Framework bugs found" section from harness.upstream's JSON (or None): one row per
    known bug, and per probe that reproduced (a new bug with no entry yet), with its worst
    element: op, input, the framework's value, the truth, ulps, link, and what became of it."""
    if data is None:
        return None
    if data.get("schema") != UPSTREAM_SCHEMA:
        raise ValueError(
            f"upstream schema {data.get('schema')!r}, this report reads {UPSTREAM_SCHEMA}"
        )
    records = [*data["bugs"], *(p for p in data["probes"] if p["status"] == "reproduced")]
    rows = []
    for rec in records:
        worst = rec["worst"] or {}
        on = ", ".join(
            f"{name} {(v or 'not installed').split('+')[0]}" for name, v in rec["versions"].items()
        )
        if rec["status"] == "reproduced":
            status, css = f"reproduced on {on}", "fail"
        elif rec["status"] == "error":
            status, css = f"could not run on {on}: {rec['problem']}", "error"
        elif rec["fixed_in"]:
            status, css = f"fixed in {rec['fixed_in']} (not reproduced on {on})", "b0"
        else:
            status, css = f"not reproduced on {on}: fixed?", "b0"
        rows.append(
            {
                "id": rec["id"],
                "known": rec["known"],
                "url": rec["url"],
                "op": rec["op"],
                "input": worst.get("input", "–"),
                "value": repr(worst["value"]) if "value" in worst else "–",
                "truth": repr(worst["truth"]) if "truth" in worst else "–",
                "ulps": fmt_num(worst.get("ulps")),
                "status": status,
                "css": css,
                "snippet": rec["snippet"],
            }
        )
    return {
        "rows": rows,
        "reproduced": sum(r["status"] == "reproduced" for r in data["bugs"]),
        "known": len(data["bugs"]),
        "probes": len(data["probes"]),
        "criterion": data["criterion"],
        "environment": data["environment"],
    }


def render(
    results: dict[str, Any],
    figures: int = FIGURES,
    source: str = "results.json",
    training: dict[str, Any] | None = None,
    upstream: dict[str, Any] | None = None,
) -> str:
    """The page for a results file's contents (and, if given, harness.training_report's curves and
    harness.upstream's framework bugs)."""
    if results.get("schema") != SCHEMA:
        raise ValueError(f"results schema {results.get('schema')}, this report reads {SCHEMA}")
    every = read_records(results["records"])
    records = [r for r in every if r.kind in ("comparison", "error")]
    # comparisons an oracle cannot make (the complex step on a relu net): shown, counted, apart
    declined = [r for r in every if r.kind == "not_applicable"]
    # implementations under test (checker/): one overall verdict record each
    verdicts = [r.verdict for r in every if r.kind == "verdict" and r.arch is None]
    env = results.get("environment", {})
    oracles = sorted({r.oracle for r in records + declined})
    archs = sorted(group(records + declined).values(), key=lambda a: a.sort_key)
    drawn = archs[: max(figures, 0)]
    for index, arch in enumerate(drawn):
        arch.detailed = True
        draw_figures(arch, oracles, index)
    comparisons = [r for r in records if r.kind == "comparison"]
    failed = [r for r in comparisons if r.failed()]
    errors = [r for r in records if r.kind == "error"]
    groups = tally(records + declined, by_dtype_and_oracle)
    ratios = {oracle_label(d, o, (k[0] for k in groups)): t.ratios for (d, o), t in groups.items()}

    from harness import report_plots

    histogram = report_plots.ratio_histogram(ratios, "hist") if comparisons else ""
    checker = checker_view(verdicts) if verdicts and not records else None
    template = jinja_environment().get_template("report.html.j2")
    return template.render(
        archs=archs,
        oracles=oracles,
        quantities=[(q, QUANTITY_HTML[q]) for q in QUANTITIES],
        bands=BANDS,
        env=env,
        counts={
            "architectures": len(archs),
            "comparisons": len(comparisons),
            "passed": len(comparisons) - len(failed),
            "failed": len(failed),
            "errors": len(errors),
            "errored_cases": len({(r.arch_id, r.oracle) for r in errors}),
            "failing_archs": sum(a.status != "pass" for a in archs),
            "excluded": sum(r.excluded for r in comparisons),
            "ties": pool_tie_counts(records + declined)[0],
            "near_ties": pool_tie_counts(records + declined)[1],
            "drawn": len(drawn),
            "not_applicable": len(declined),
            "declined_nets": len({(r.arch_id, r.oracle) for r in declined}),
        },
        worst=max((r.ratio for r in comparisons), default=None),
        oracle_rows=oracle_rows(groups),
        truth_rows=truth_rows(comparisons),
        histogram=histogram,
        source=source,
        rerun_all=rerun_all(env),
        example=example(records),
        message=message,
        rerun=lambda rec: rerun_command(rec, env),
        subtest_id=subtest_id,
        fmt_ratio=fmt_ratio,
        training=training_view(training),
        upstream=upstream_view(upstream),
        verdicts=verdicts,
        checker=checker,
        fmt_num=fmt_num,
        top_channels=TOP_CHANNELS,
        notes=[f"{r.test}: {r.note}" for r in every if r.note],
        incomplete=parts.incomplete_line(env),
        empty=not comparisons and not verdicts,
    )


def checker_view(verdicts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A checker results file's headline: how many implementations pass and fail, with which
    labels, and how many verdicts are not the expected one (a mutant is expected to fail)."""
    labels: Counter[str] = Counter()
    for v in verdicts:
        labels[str(v.get("label"))] += 1
    failed = sum(n for label, n in labels.items() if label != "PASS")
    expected_failures = sum(v.get("expected", "PASS") != "PASS" for v in verdicts)
    headline = f"{failed} of {len(verdicts)} implementations fail"
    if expected_failures:
        headline += f" ({expected_failures} mutants expected to)"
    return {
        "headline": headline,
        "labels": ", ".join(f"{label} ×{n}" for label, n in sorted(labels.items())),
        "unexpected": sum(v.get("as_expected") is False for v in verdicts),
        "expected_failures": expected_failures,
    }


def example(records: Sequence[Record]) -> Record | None:
    """The case whose rerun command the environment section shows: the first error or failure,
    else the comparison closest to its allowed error."""
    bad = [r for r in records if not passed(r)]
    if bad:
        return bad[0]
    return max(records, key=lambda r: r.ratio, default=None)


def rerun_all(env: dict[str, Any]) -> str:
    return (
        f"python -m pytest {GATE_TEST} -n auto "
        f"--random-count {env.get('random_count', 60)} --random-seed {env.get('random_seed', 0)} "
        "--results reports/results.json && python -m harness.report reports/results.json "
        "reports/index.html"
    )


def jinja_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.report", description="Render the gate's results file as HTML."
    )
    parser.add_argument("results", type=Path, help="the results file (pytest --results PATH)")
    parser.add_argument("out", type=Path, help="the HTML file to write")
    parser.add_argument(
        "--figures",
        type=int,
        default=FIGURES,
        help=f"draw figures for at most this many architectures, failing ones first "
        f"(default {FIGURES})",
    )
    parser.add_argument(
        "--training",
        type=Path,
        default=None,
        help="also show the training runs of this file (python -m harness.training_report --out F)",
    )
    parser.add_argument(
        "--upstream",
        type=Path,
        default=None,
        help="also show the framework bugs of this file (python -m harness.upstream --out PATH)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        results = parts.load(args.results)  # or a killed run's parts, marked incomplete
        training = json.loads(args.training.read_text(encoding="utf-8")) if args.training else None
        upstream = json.loads(args.upstream.read_text(encoding="utf-8")) if args.upstream else None
        page = render(
            results, args.figures, source=str(args.results), training=training, upstream=upstream
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"harness.report: cannot render {args.results}: {exc!r}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    seconds = time.perf_counter() - start
    print(
        f"wrote {args.out} ({len(page.encode()) / 1e6:.2f} MB, "
        f"{len(results['records'])} records) in {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
