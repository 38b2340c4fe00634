"""The HTML discrepancy report: ``python -m harness.report RESULTS.json OUT.html``.

Reads only the results file the gate writes (see harness.results) and renders one self-contained
page with Jinja2 (templates/report.html.j2): inline CSS, figures as inline SVG, no script, nothing
fetched. It imports neither pytest, the oracles nor the reference. The page shows

- a summary grid, architectures × oracles, coloured by the worst error/allowed, failures first;
- per architecture: its spec, a per-layer table of δ, ∂C/∂b, ∂C/∂w per oracle, every failure with
  the command that reruns it, a heatmap of the ∂C/∂w difference where an oracle disagrees most, and
  ‖δ^l‖ per layer;
- the environment the numbers come from.

At scale, passing architectures are collapsed and figures are drawn for at most ``--figures``
architectures (failing ones first, then those closest to their tolerance).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

SCHEMA = 1  # the results-file version this renderer reads (harness.results.SCHEMA)
QUANTITIES = ("delta", "nabla_b", "nabla_w")
QUANTITY_HTML = {
    "delta": "δ<sup>l</sup>",
    "nabla_b": "∂C/∂b<sup>l</sup>",
    "nabla_w": "∂C/∂w<sup>l</sup>",
}
#: Colour bands of error/allowed (presentation only; the verdict is ratio ≤ 1, harness.tolerances).
BANDS = ((0.01, "b0", "≤ 0.01"), (0.1, "b1", "≤ 0.1"), (0.5, "b2", "≤ 0.5"), (1.0, "b3", "≤ 1"))
FIGURES = 100
TEMPLATES = Path(__file__).with_name("templates")
GATE_TEST = "tests/test_gate.py"


def band(ratio: float | None, status: str = "") -> str:
    """The CSS class of a ratio's colour band: b0…b3 pass, fail, error, or none."""
    if status == "error":
        return "error"
    if ratio is None:
        return "none"
    for top, name, _ in BANDS:
        if ratio <= top:
            return name
    return "fail"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "–"
    if math.isinf(ratio):
        return "∞"
    return "0" if ratio == 0 else f"{ratio:.2g}" if ratio < 10 else f"{ratio:.3g}"


def fmt_num(x: float | None) -> str:
    if x is None:
        return "–"
    return "∞" if math.isinf(x) else "0" if x == 0 else f"{x:.2e}"


def passed(rec: dict[str, Any]) -> bool:
    return rec["kind"] == "comparison" and bool(rec["passed"])


def message(rec: dict[str, Any]) -> str:
    """One line, as the gate prints it: what, where, how far, and the allowed."""
    if rec["kind"] == "error":
        return str(rec["message"])
    what = f"{rec['quantity']} of layer {rec['layer']} ({rec['oracle']} vs reference)"
    if rec.get("problem"):
        return f"{what}: {rec['problem']}"
    where = tuple(rec.get("worst_index") or ())
    text = (
        f"{what}: max abs error {fmt_num(rec['max_abs'])} at {where}, max rel error "
        f"{fmt_num(rec['max_rel'])}, allowed {fmt_num(rec['allowed'])} "
        f"(error/allowed {fmt_ratio(rec['ratio'])})"
    )
    if rec.get("excluded"):
        text += f"; {rec['excluded']} elements excluded (perturbation crossed a ReLU kink)"
    return text


def rerun_command(rec: dict[str, Any], env: dict[str, Any]) -> str:
    """The exact command that reruns this one case from the repository root."""
    words = ["python", "-m", "pytest", rec["test"]]
    if rec["test"].startswith(GATE_TEST):
        words += ["--random-count", str(env.get("random_count", 60))]
        words += ["--random-seed", str(env.get("random_seed", 0))]
        words += ["--oracle", str(rec["oracle"])]
        if rec.get("dtype", "float64") != "float64":
            words += ["--dtype", str(rec["dtype"])]
    return " ".join(shlex.quote(w) for w in words)


@dataclass
class Cell:
    """One architecture × oracle: the worst ratio over its comparisons, and the counts."""

    ratio: float | None = None
    comparisons: int = 0
    failed: int = 0
    errors: int = 0
    excluded: int = 0

    not_applicable: int = 0

    def add(self, rec: dict[str, Any]) -> None:
        if rec["kind"] == "not_applicable":
            self.not_applicable += 1
            return
        if rec["kind"] == "error":
            self.errors += 1
            return
        self.comparisons += 1
        self.failed += not rec["passed"]
        self.excluded += int(rec.get("excluded", 0))
        self.ratio = max(self.ratio or 0.0, float(rec["ratio"]))

    @property
    def status(self) -> str:
        if self.errors:
            return "error"
        if self.failed:
            return "fail"
        if self.comparisons:
            return "pass"
        return "n/a" if self.not_applicable else ""

    @property
    def css(self) -> str:
        return band(self.ratio, self.status)

    @property
    def text(self) -> str:
        if self.errors:
            return "error"
        return "n/a" if self.status == "n/a" else fmt_ratio(self.ratio)


@dataclass
class ArchView:
    """Everything the page shows about one architecture, built from its records."""

    id: str
    spec: dict[str, Any]
    dtype: str
    records: list[dict[str, Any]] = field(default_factory=list)
    cells: dict[str, Cell] = field(default_factory=lambda: defaultdict(Cell))
    figures: dict[str, str] = field(default_factory=dict)
    detailed: bool = False  # figures and hover details drawn (bounded by --figures)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "error"]

    @property
    def problems(self) -> list[tuple[dict[str, Any], int]]:
        """Each distinct error (a crash repeats for every comparison of its oracle) with its
        count, then each failed comparison."""
        seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for rec in self.errors:
            seen.setdefault((rec["oracle"], rec["message"]), []).append(rec)
        return [(recs[0], len(recs)) for recs in seen.values()] + [(r, 1) for r in self.failures]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "comparison" and not r["passed"]]

    @property
    def status(self) -> str:
        return "error" if self.errors else "fail" if self.failures else "pass"

    @property
    def odd_one_out(self) -> str:
        """Who disagrees with whom, and the reference's first broken equation (or "")."""
        from harness.disagreement import verdict

        return verdict(self.records)

    @property
    def not_applicable(self) -> list[str]:
        """The oracles that cannot judge this net, with why (one line each)."""
        found = {r["oracle"]: r["message"] for r in self.records if r["kind"] == "not_applicable"}
        return [f"{oracle}: {text}" for oracle, text in sorted(found.items())]

    @property
    def worst(self) -> float | None:
        ratios = [c.ratio for c in self.cells.values() if c.ratio is not None]
        return max(ratios) if ratios else None

    @property
    def sort_key(self) -> tuple[int, float, str]:
        """Errors, then failures, then passes; within each, the worst ratio first."""
        rank = {"error": 0, "fail": 1, "pass": 2}[self.status]
        return rank, -(self.worst or 0.0), self.id

    @property
    def comparisons(self) -> int:
        return sum(r["kind"] == "comparison" for r in self.records)

    @property
    def layers(self) -> list[int]:
        return sorted({r["layer"] for r in self.records if r["kind"] == "comparison"})

    def table(self, oracles: Sequence[str]) -> list[dict[str, Any]]:
        """Rows of the per-layer table: layer, width, and per (quantity, oracle) one cell."""
        at = {(r["quantity"], r["layer"], r["oracle"]): r for r in self.records if "layer" in r}
        sizes = self.spec.get("sizes")
        rows = []
        for layer in self.layers:
            cells = []
            for quantity in QUANTITIES:
                for i, oracle in enumerate(oracles):
                    rec = at.get((quantity, layer, oracle))
                    if rec and rec["kind"] == "not_applicable":
                        cells.append({"text": "n/a", "css": "none", "title": rec["message"]})
                        cells[-1]["excluded"] = 0
                        continue
                    css = band(rec["ratio"]) if rec else "none"
                    cells.append(
                        {
                            "text": fmt_ratio(rec["ratio"]) if rec else "–",
                            "css": css if i else f"{css} group",
                            "title": message(rec) if rec else "",
                            "excluded": int(rec.get("excluded", 0)) if rec else 0,
                        }
                    )
            width = sizes[layer - 1] if isinstance(sizes, list) and len(sizes) >= layer else ""
            rows.append({"layer": layer, "width": width, "cells": cells})
        return rows

    def spec_rows(self) -> list[tuple[str, str]]:
        s = self.spec
        sizes = s.get("sizes")
        shape = " → ".join(str(n) for n in sizes) if isinstance(sizes, list) else repr(sizes)
        acts = s.get("activations")
        acts = acts if isinstance(acts, str) else ", ".join(str(a) for a in acts or [])
        return [
            ("layer sizes n_1 … n_L", shape),
            ("activations (layers 2 … L)", str(acts)),
            ("cost", str(s.get("cost"))),
            ("batch m", str(s.get("batch"))),
            ("seed · init · dtype", f"{s.get('seed')} · {s.get('init')} · {self.dtype}"),
        ]


def group(records: Iterable[dict[str, Any]]) -> dict[str, ArchView]:
    archs: dict[str, ArchView] = {}
    for rec in records:
        arch = rec["arch"]
        view = archs.setdefault(arch["id"], ArchView(arch["id"], arch, rec.get("dtype", "float64")))
        view.records.append(rec)
        view.cells[rec["oracle"]].add(rec)
    return archs


def draw_figures(arch: ArchView, oracles: Sequence[str], index: int) -> None:
    """The heatmap of the ∂C/∂w where an oracle disagrees most, and ‖δ^l‖ per layer."""
    from harness import report_plots

    maps = [r for r in arch.records if r.get("diff_map")]
    if maps:
        worst = max(maps, key=lambda r: (r["ratio"], r["max_abs"]))
        title = (
            f"∂C/∂w{report_plots.superscript(worst['layer'])}: |reference − {worst['oracle']}|\n"
            f"max {fmt_num(worst['max_abs'])} = {fmt_ratio(worst['ratio'])} × allowed"
        )
        arch.figures["heatmap"] = report_plots.heatmap(
            worst["diff_map"], worst["layer"], title, worst.get("worst_index") or (), f"a{index}h"
        )
    deltas = [r for r in arch.records if r.get("quantity") == "delta" and "reference_norm" in r]
    if deltas:
        layers = sorted({r["layer"] for r in deltas})
        batch = arch.spec.get("batch") or 1
        norm = {r["layer"]: r["reference_norm"] / math.sqrt(batch) for r in deltas}
        errors = {
            oracle: [
                next(
                    (r["max_abs"] for r in deltas if r["oracle"] == oracle and r["layer"] == layer),
                    math.nan,
                )
                for layer in layers
            ]
            for oracle in oracles
            if any(r["oracle"] == oracle for r in deltas)
        }
        arch.figures["norms"] = report_plots.delta_norms(
            layers, [norm[layer] for layer in layers], errors, f"a{index}n"
        )


def oracle_rows(records: Sequence[dict[str, Any]], oracles: Sequence[str]) -> list[dict[str, Any]]:
    """Per oracle: the worst ratio per quantity, comparisons, failures, errors, exclusions."""
    rows = []
    for oracle in oracles:
        mine = [r for r in records if r["oracle"] == oracle]
        worst = {}
        for quantity in QUANTITIES:
            ratios = [
                r["ratio"]
                for r in mine
                if r["kind"] == "comparison" and r.get("quantity") == quantity
            ]
            worst[quantity] = max(ratios) if ratios else None
        comparisons = [r for r in mine if r["kind"] == "comparison"]
        rows.append(
            {
                "oracle": oracle,
                "worst": [(fmt_ratio(worst[q]), band(worst[q])) for q in QUANTITIES],
                "comparisons": len(comparisons),
                "failed": sum(not r["passed"] for r in comparisons),
                "errors": sum(r["kind"] == "error" for r in mine),
                "not_applicable": sum(r["kind"] == "not_applicable" for r in mine),
                "excluded": sum(int(r.get("excluded", 0)) for r in comparisons),
            }
        )
    return rows


def training_view(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The training section from harness.training's JSON (or None): its curves as inline SVG and,
    per case and run, the final drift, its worst ratio to the drift model, and the accuracy."""
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


def render(
    results: dict[str, Any],
    figures: int = FIGURES,
    source: str = "results.json",
    training: dict[str, Any] | None = None,
) -> str:
    """The page for a results file's contents (and, if given, harness.training's curves)."""
    if results.get("schema") != SCHEMA:
        raise ValueError(f"results schema {results.get('schema')}, this report reads {SCHEMA}")
    every = results["records"]
    records = [r for r in every if r["kind"] in ("comparison", "error")]
    # comparisons an oracle cannot make (the complex step on a relu net): shown, counted, apart
    declined = [r for r in every if r["kind"] == "not_applicable"]
    # implementations under test (checker/): one overall verdict record each
    verdicts = [r for r in every if r["kind"] == "verdict" and r.get("arch") is None]
    env = results.get("environment", {})
    oracles = sorted({r["oracle"] for r in records + declined})
    archs = sorted(group(records + declined).values(), key=lambda a: a.sort_key)
    drawn = archs[: max(figures, 0)]
    for index, arch in enumerate(drawn):
        arch.detailed = True
        draw_figures(arch, oracles, index)
    comparisons = [r for r in records if r["kind"] == "comparison"]
    failed = [r for r in comparisons if not r["passed"]]
    errors = [r for r in records if r["kind"] == "error"]
    ratios: dict[str, list[float]] = defaultdict(list)
    for r in comparisons:
        ratios[r["oracle"]].append(r["ratio"])

    from harness import report_plots

    histogram = report_plots.ratio_histogram(ratios, "hist") if comparisons else ""
    template = environment().get_template("report.html.j2")
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
            "errored_cases": len({(r["arch"]["id"], r["oracle"]) for r in errors}),
            "failing_archs": sum(a.status != "pass" for a in archs),
            "excluded": sum(int(r.get("excluded", 0)) for r in comparisons),
            "drawn": len(drawn),
            "not_applicable": len(declined),
            "declined_nets": len({(r["arch"]["id"], r["oracle"]) for r in declined}),
        },
        worst=max((r["ratio"] for r in comparisons), default=None),
        oracle_rows=oracle_rows(records + declined, oracles),
        histogram=histogram,
        source=source,
        rerun_all=rerun_all(env),
        example=example(records),
        message=message,
        rerun=lambda rec: rerun_command(rec, env),
        fmt_ratio=fmt_ratio,
        training=training_view(training),
        verdicts=verdicts,
        fmt_num=fmt_num,
    )


def example(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The case whose rerun command the environment section shows: the first error or failure,
    else the comparison closest to its allowed error."""
    bad = [r for r in records if not passed(r)]
    if bad:
        return bad[0]
    return max(records, key=lambda r: r["ratio"], default=None)


def rerun_all(env: dict[str, Any]) -> str:
    return (
        f"python -m pytest {GATE_TEST} -n auto --dist loadgroup "
        f"--random-count {env.get('random_count', 60)} --random-seed {env.get('random_seed', 0)} "
        "--results reports/results.json && python -m harness.report reports/results.json "
        "reports/index.html"
    )


def environment() -> jinja2.Environment:
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
        help="also show the training runs of this file (python -m harness.training --out PATH)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        results = json.loads(args.results.read_text(encoding="utf-8"))
        training = json.loads(args.training.read_text(encoding="utf-8")) if args.training else None
        page = render(results, args.figures, source=str(args.results), training=training)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"harness.report: cannot render {args.results}: {exc}", file=sys.stderr)
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
