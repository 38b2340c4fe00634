"""harness.margins: per-oracle counts, ratio quantiles, the worst case and the kink exclusions of a
results file, and an exit status that fails on any failed or errored comparison."""

from __future__ import annotations

import pytest

from errormodel.compare import Comparison
from harness import margins
from reference import Architecture
from suite import results
from suite.results import read_records

ARCH = Architecture((3, 4, 2), "relu", "quadratic", batch=2)


def record(oracle: str, max_abs: float, excluded: int = 0, test: str = "") -> dict:
    comparison = Comparison(
        "nabla_w", 2, oracle, (4, 3), max_abs, max_abs, (0, 0), 1.0, scale=10.0, excluded=excluded
    )
    return {
        "test": test or f"t-{oracle}-{max_abs}",
        **results.comparison_record(ARCH, comparison, "float64"),
    }


RECORDS = [
    record("fd", 0.5, excluded=3, test="fd-worst"),
    record("fd", 0.01),
    record("fd", 0.02, excluded=1),
    record("jax", 0.25, test="jax-worst"),
    {"test": "crashed", **results.error_record(ARCH, "jax", "jax crashed")},
]


def test_rows_count_ratios_failures_errors_and_excluded_elements_per_oracle():
    rows = {row["oracle"]: row for row in margins.margin_rows(read_records(RECORDS))}
    fd, jax = rows["fd"], rows["jax"]
    assert (fd["comparisons"], fd["failed"], fd["errors"]) == (3, 0, 0)
    assert (jax["comparisons"], jax["failed"], jax["errors"]) == (1, 0, 1)
    assert (fd["max"], fd["worst_test"]) == (0.5, "fd-worst")
    assert (fd["excluded"], fd["elements"], fd["comparisons_excluding"]) == (4, 36, 2)
    assert jax["excluded"] == 0 and jax["quantiles"][0.5] == pytest.approx(0.25)
    table = margins.margin_table(read_records(RECORDS))
    assert "4 of 36 (2 cmp.)" in table and "2×" in table  # fd's margin 1 / 0.5


def test_the_exit_status_fails_on_a_failed_or_errored_comparison(tmp_path, capsys):
    env = {"random_seed": 1, "random_count": 0}

    def status(recs) -> int:
        path = tmp_path / "r.json"
        results.write(
            path, [(r["test"], {k: v for k, v in r.items() if k != "test"}) for r in recs], env
        )
        return margins.main([str(path), "--seconds", "90"])

    assert status(RECORDS[:4]) == 0
    assert "in 90 s (1.5 min)" in capsys.readouterr().out
    assert status(RECORDS) == 1  # jax crashed
    assert status([*RECORDS[:4], record("torch", 2.0)]) == 1  # error twice the allowed
    assert "FAILED t-torch-2.0" in capsys.readouterr().out
