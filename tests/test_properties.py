"""Generated architectures (hypothesis): every oracle agrees with the reference, and a failure
shrinks to a minimal architecture printed as the registry line that reproduces it.

The examples come from the active hypothesis profile (harness.strategies): ``ci`` by default, a
fixed derandomised set; ``--hypothesis-profile dev --hypothesis-seed N`` explores.
"""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings

from harness.gate_plugin import gate_oracles
from harness.strategies import (
    ACTIVATION_ORDER,
    MAX_BATCH,
    MAX_WEIGHT_LAYERS,
    MAX_WIDTH,
    Disagreement,
    architectures,
    check_architecture,
    map_architectures,
    map_examples,
)
from oracles import ORACLES, Oracle
from reference import Architecture, Gradients, backprop
from reference.layers import Conv, MaxPool


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gate_oracle" in metafunc.fixturenames:
        metafunc.parametrize("gate_oracle", gate_oracles(metafunc.config))


@given(arch=architectures())
def test_every_oracle_agrees_on_generated_architectures(arch, gate_oracle):
    assert check_architecture(arch, gate_oracle)


@pytest.mark.parametrize("oracle", ["torch", "jax"])
@settings(max_examples=map_examples())
@given(arch=map_architectures())
def test_torch_and_jax_agree_on_generated_feature_map_nets(arch, oracle):
    """Convolutions and pools (issue 25): the oracles that judge map layers agree within B."""
    assert arch.problems() == [] and eval(repr(arch), NAMES) == arch
    assert check_architecture(arch, oracle)


NAMES = {"Architecture": Architecture, "Conv": Conv, "MaxPool": MaxPool}


@given(arch=architectures())
def test_generated_records_are_well_formed_capped_and_their_repr_rebuilds_them(arch):
    assert arch.problems() == []
    assert 1 <= arch.depth - 1 <= MAX_WEIGHT_LAYERS and max(arch.sizes) <= MAX_WIDTH
    assert 1 <= arch.batch <= MAX_BATCH
    entry = repr(arch)
    assert "\n" not in entry and eval(entry, {"Architecture": Architecture}) == arch


def broken_gradients(arch, params, batch) -> Gradients:
    """A deliberately wrong oracle: ∂C/∂w is 1% off whenever some layer has width ≥ 3."""
    grads = backprop(arch, params, batch.x, batch.y)
    if max(arch.sizes) < 3:
        return grads
    return Gradients(grads.deltas, grads.nabla_b, tuple(1.01 * w for w in grads.nabla_w))


def test_a_failure_shrinks_to_a_minimal_architecture_and_prints_its_registry_line(monkeypatch):
    monkeypatch.setitem(
        ORACLES, "broken", Oracle("broken", f"{__name__}:broken_gradients", "autograd")
    )

    @settings(max_examples=100, derandomize=True, database=None, print_blob=False)
    @given(arch=architectures())
    def property_with_the_broken_oracle(arch):
        check_architecture(arch, "broken")

    with pytest.raises(Disagreement) as info:
        property_with_the_broken_oracle()
    shrunk = info.value.arch
    # the smallest record that shows the bug: one weight layer, one width 3, everything else
    # at its simplest
    assert sorted(shrunk.sizes) == [1, 3]
    assert (shrunk.activations, shrunk.cost, shrunk.batch) == (ACTIVATION_ORDER[0], "quadratic", 1)
    assert (shrunk.seed, shrunk.weight_scale, shrunk.input_scale) == (0, 1.0, 1.0)
    message = str(info.value)
    assert "nabla_w of layer 2 (broken vs reference)" in message
    assert message.splitlines()[-1] == f"    {shrunk!r}," and "CURATED" in message


@pytest.mark.parametrize("cost", ["log_likelihood", "quadratic"])
def test_the_strategy_draws_softmax_outputs_with_both_costs(cost):
    """Softmax only at the output, under the log-likelihood and (BP1's Jacobian form) the
    quadratic cost: hypothesis finds each, shrunk to its simplest."""
    found = find(
        architectures(),
        lambda a: a.sigmas[-1].name == "softmax" and a.cost == cost,
        settings=settings(database=None, derandomize=True),
    )
    assert found.problems() == [] and found.depth == 2
    assert all(s.name != "softmax" for s in found.sigmas[:-1])
