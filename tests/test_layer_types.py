"""Every place that maps a layer type to something (README, "Adding a layer type") looks the
type up there, and one that lacks the type says which place and which type, not a wrong result."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np
import pytest

from errormodel.rounding import error_scales
from reference import Architecture, make_case
from reference.layers import Dense


@dataclass(frozen=True)
class Unmapped(Dense):
    """A dense layer in all but its type: no mapping has an entry for it."""


def _net_with_an_unmapped_layer() -> Architecture:
    arch = Architecture((3, 4, 2), "sigmoid", "quadratic", batch=2)
    layers = arch.layers
    # a net whose last layer is of a type no place knows (Architecture builds only Dense today)
    arch.__dict__["layers"] = (*layers[:-1], Unmapped(layers[-1].n_in, layers[-1].n_out))
    return arch


#: (the place's name in its message, "module:function" of what looks the type up)
ORACLE_PLACES = [
    ("fd", "oracles.finite_diff:gradients"),
    ("exact", "oracles.exact:gradients"),
    ("complex_step", "oracles.complex_step:gradients"),
    ("torch", "oracles.torch_autograd:gradients"),
    ("jax", "oracles.jax_grad:gradients"),
]


@pytest.mark.parametrize(("place", "target"), ORACLE_PLACES, ids=[p for p, _ in ORACLE_PLACES])
def test_an_oracle_without_the_layer_type_names_itself_and_the_type(place, target):
    arch = _net_with_an_unmapped_layer()
    params, batch = make_case(arch)
    module, _, name = target.partition(":")
    oracle = getattr(importlib.import_module(module), name)
    with pytest.raises(KeyError, match=rf"{place} oracle has no op for layer type Unmapped"):
        oracle(arch, params, batch)


@pytest.mark.parametrize("numerical", [False, True], ids=["bound", "fd-and-cs-terms"])
def test_the_error_model_without_the_layer_type_names_it(numerical):
    arch = _net_with_an_unmapped_layer()
    params, batch = make_case(arch)
    with pytest.raises(
        KeyError, match="no error model for layer type Unmapped: add its LAYER_TERMS"
    ):
        error_scales(arch, params, batch, np.float64, 2.0**-17, numerical=numerical)


def test_the_same_net_with_only_dense_layers_runs_everywhere():
    """The control: the unmapped type, not the net, is what the places above refuse."""
    arch = Architecture((3, 4, 2), "sigmoid", "quadratic", batch=2)
    params, batch = make_case(arch)
    assert error_scales(arch, params, batch, np.float64, 2.0**-17).fd_truncation
    for _, target in ORACLE_PLACES:
        module, _, name = target.partition(":")
        grads = getattr(importlib.import_module(module), name)(arch, params, batch)
        assert not grads.shapes_match(arch.layers, arch.batch), target
