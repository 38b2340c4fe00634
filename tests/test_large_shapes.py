"""harness.large_shapes on small nets (the large ones run only in nox -s releases): both paths
of both frameworks agree with the reference within the bound, and a wrong per-example reduction
is caught."""

from __future__ import annotations

import numpy as np
import pytest

from harness import large_shapes
from harness.releases import ratio
from reference import Architecture, Gradients

SMALL = (("small", Architecture((3, 5, 2), ("tanh", "sigmoid"), "cross_entropy", batch=7)),)


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_both_paths_agree_with_the_reference(framework):
    recs = list(large_shapes.records(framework, SMALL))
    assert {r["path"] for r in recs} == set(large_shapes.PATHS)
    assert len(recs) == 2 * 3 * 2  # paths x quantities x layers
    assert all(ratio(r) <= 1 for r in recs), [r for r in recs if ratio(r) > 1]


def test_a_sum_instead_of_a_mean_is_beyond_the_bound(monkeypatch):
    right = large_shapes.PER_EXAMPLE["torch"]

    def summed(arch, params, batch):
        g = right(arch, params, batch)
        m = batch.x.shape[1]
        return Gradients(g.deltas, g.nabla_b, tuple(np.asarray(w) * m for w in g.nabla_w))

    monkeypatch.setitem(large_shapes.PER_EXAMPLE, "torch", summed)
    recs = [r for r in large_shapes.records("torch", SMALL) if r["path"] != "batched grad"]
    bad = {r["quantity"] for r in recs if ratio(r) > 1}
    assert bad == {"nabla_w"}


def test_a_crashing_path_is_a_record_naming_the_case(monkeypatch):
    def broken(arch, params, batch):
        raise RuntimeError("kernel failed")

    monkeypatch.setitem(large_shapes.PER_EXAMPLE, "jax", broken)
    recs = list(large_shapes.records("jax", SMALL))
    (crash,) = [r for r in recs if "max_abs" not in r]
    assert "3-5-2" in crash["problem"] and "kernel failed" in crash["problem"]
