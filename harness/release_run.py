"""One release's run of the matrix (``nox -s releases``, inside that release's virtualenv).

``python -m harness.release_run FRAMEWORK`` runs, on the installed release of FRAMEWORK:
the gate's correctness families with that framework as the only oracle (curated, tails, softmax
and a fixed sample of RANDOM_COUNT random nets of seed 0, each against the reference and, on the
tails and the truth sample, against oracles/exact.py), the SGD trajectories of harness.training_runs
against the drift model, the large-shape paths (harness.large_shapes), and harness.upstream's
reproductions of the framework's known bugs. Writes reports/releases/<framework>-<version>.json
(the version's public part: "2.13.0+cpu" -> "2.13.0"). Exit 0 whatever it measured; 2 when it
could not run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.releases import FRAMEWORKS, OUT_DIR, SCHEMA, check_row, gate_checks, ratio

#: Random nets of the gate's draw (seed 0) the matrix runs: enough to cover every activation
#: and cost, a fraction of the gate's 60 to keep each release to a few minutes on 2 cores.
RANDOM_COUNT = 12


def run_gate(framework: str, workers: str) -> list[dict[str, Any]]:
    """The gate with ``framework`` as the only oracle; its results records."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        command = [
            sys.executable, "-m", "pytest", "tests/test_gate.py", "--oracle", framework,
            "--random-count", str(RANDOM_COUNT), "--random-seed", "0", "-n", workers,
            "-p", "no:logging", "-q", "--no-header", "--results", str(out),
        ]  # fmt: skip
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
        if not out.exists():
            raise RuntimeError(f"the gate wrote no results ({' '.join(command)})")
        records: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))["records"]
        return records


def sgd_checks(framework: str) -> list[dict[str, Any]]:
    """Each training case's whole trajectory against the drift model (largest ratio over the
    steps of ‖θ_t − θ_t^ref‖₂ / allowed_t)."""
    import numpy as np

    from harness import drift_metrics, drift_model, training_cases, training_runs

    rows = []
    for case in training_cases.CASES:
        trajectory = training_runs.run(case, framework, np.float64)
        drift = drift_metrics.drift(training_runs.reference_run(case), trajectory)
        allowed = drift_model.allowed_drift(case, np.float64)
        ratios = np.divide(
            drift.l2, allowed, out=np.where(drift.l2 > 0, np.inf, 0.0), where=allowed > 0
        )
        rows.append(
            check_row(
                f"sgd {case.cost}",
                "trajectory",
                "sgd steps vs drift model",
                float(ratios.max()),
                None,
                f"{case.id}-{framework}-step{int(np.argmax(ratios))}",
            )
        )
    return rows


def large_checks(framework: str) -> list[dict[str, Any]]:
    """The large-shape paths, one row per (case, quantity, path), the worst layer kept."""
    from harness import large_shapes

    worst: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in large_shapes.records(framework):
        if "max_abs" not in rec:  # the path crashed
            for quantity in ("delta", "nabla_b", "nabla_w"):
                worst[rec["family"], quantity, rec["path"]] = check_row(
                    rec["family"], quantity, rec["path"], float("inf"), None, rec["problem"]
                )
            continue
        key = (rec["family"], rec["quantity"], f"{rec['path']} vs reference")
        row = check_row(*key, ratio(rec), None, rec["case"])
        if key not in worst or row["ratio"] > worst[key]["ratio"]:
            worst[key] = row
    return [worst[k] for k in sorted(worst)]


def upstream_outcomes(framework: str) -> list[dict[str, Any]]:
    """harness.upstream's reproductions of the framework's known bugs (no probes)."""
    from harness import upstream
    from oracles import known_upstream

    bugs = [b for b in known_upstream.load() if b.framework == framework]
    known, _, _ = upstream.run_all(bugs, probes=False, workers=2)
    outcomes = []
    for o in known:
        outcome: dict[str, Any] = {
            "id": o.repro.id, "url": o.bug.url if o.bug else None, "status": o.status,
            "line": o.line(),
        }  # fmt: skip
        worst = o.worst  # the table's cell: the worst element against the truth
        if worst is not None:
            outcome |= {"ratio": worst.error / worst.allowed, "ulps": worst.ulps,
                        "case": f"{o.repro.what} {worst.input}"}  # fmt: skip
        outcomes.append(outcome)
    return outcomes


def public(version: str) -> str:
    return version.split("+")[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.release_run")
    parser.add_argument("framework", choices=FRAMEWORKS)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--skip-large", action="store_true", help="no large-shape cases")
    args = parser.parse_args(argv)
    from oracles.known_upstream import installed_version
    from suite.architectures import CURATED, TAILS

    installed = installed_version(args.framework)
    if installed is None:
        print(f"harness.release_run: {args.framework} is not installed", file=sys.stderr)
        return 2
    start = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        records = run_gate(args.framework, args.workers)
        checks = gate_checks(
            records, args.framework, [a.id for a in TAILS], [a.id for a in CURATED]
        )
        timings["gate"] = time.perf_counter() - start
        checks += sgd_checks(args.framework)
        timings["sgd"] = time.perf_counter() - start - sum(timings.values())
        if not args.skip_large:
            checks += large_checks(args.framework)
            timings["large"] = time.perf_counter() - start - sum(timings.values())
        outcomes = upstream_outcomes(args.framework)
        timings["upstream"] = time.perf_counter() - start - sum(timings.values())
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"harness.release_run: {args.framework} {installed}: {exc}", file=sys.stderr)
        return 2
    for o in outcomes:
        print(o["line"])
    doc = {
        "schema": SCHEMA,
        "framework": args.framework,
        "version": public(installed),
        "installed": installed,
        "random_count": RANDOM_COUNT,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "checks": checks,
        "upstream": outcomes,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / f"{args.framework}-{public(installed)}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    bad = sum(c["ratio"] > 1 for c in checks)
    print(f"{args.framework} {installed}: {len(checks)} checks, {bad} beyond their bound; "
          f"{sum(timings.values()):.0f} s; wrote {path}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
