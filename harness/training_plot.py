"""Draw the training curves of reports/training.json (harness.training_report's schema).

With matplotlib; reads only the JSON file: one column per case; rows are the drift ‖θ − θ_ref‖₂
of every run with the model's allowed drift, the training cost, and the held-out accuracy.

    python -m harness.training_plot reports/training.json reports/training.png
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REFERENCE_RUN = ("reference", "float64")


def plot(data: dict[str, Any], path: Path) -> None:
    """Drift, loss and accuracy per step, one column per case (PNG or SVG by ``path``'s suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = data["cases"]
    fig, axes = plt.subplots(3, len(cases), figsize=(6 * len(cases), 10), squeeze=False)
    for col, case in enumerate(cases):
        drift_ax, loss_ax, acc_ax = axes[:, col]
        steps = list(range(case["steps"] + 1))
        for dtype, allowed in case["allowed"].items():
            style = "k--" if dtype == "float64" else "k:"
            drift_ax.plot(steps[1:], allowed[1:], style, lw=1, label=f"allowed ({dtype})")
        for run in case["runs"]:
            label = f"{run['trainer']} {run['dtype']}"
            if (run["trainer"], run["dtype"]) != REFERENCE_RUN:
                drift_ax.plot(steps[1:], run["drift"]["l2"][1:], lw=1, label=label)
            if run["dtype"] == "float64":
                loss_ax.plot(steps, run["loss"], lw=1, label=label)
                acc_ax.plot(steps, run["accuracy"], lw=1, label=label)
        drift_ax.set(yscale="log", title=case["id"], ylabel="‖θ − θ_ref‖₂ (float64 reference)")
        loss_ax.set(yscale="log", ylabel="training cost")
        acc_ax.set(xlabel="step", ylabel="held-out accuracy", ylim=(0, 1))
        drift_ax.legend(fontsize=6, ncol=2, loc="center right")
        loss_ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data", type=Path, help="reports/training.json")
    parser.add_argument("out", type=Path, help="the image to write (.png or .svg)")
    args = parser.parse_args(argv)
    plot(json.loads(args.data.read_text()), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
