"""One vocabulary: every table of activations or costs names the same set, and random draws stay
put when a name is appended to it (reference.vocabulary)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

import pytest

from errormodel.tables import ACTIVATION_ERRORS, COST_ERRORS
from harness import strategies
from oracles import activations as oracle_sigmas
from oracles import complex_step, exact, finite_diff, jax_grad, torch_autograd
from oracles import costs as oracle_costs
from reference.activations import ACTIVATION_INFO, ACTIVATIONS, ActivationInfo, LeakyReLU
from reference.costs import COSTS
from reference.vocabulary import ACTIVATION_NAMES, COST_NAMES, LEAKY_RELU_ALPHA
from suite import architectures

#: Every table keyed by an activation name, and every one keyed by a cost name.
ACTIVATION_TABLES: Mapping[str, Collection[str]] = {
    "reference.activations.ACTIVATIONS": ACTIVATIONS,
    "oracles.torch_autograd.ACTIVATIONS": torch_autograd.ACTIVATIONS,
    "oracles.jax_grad.ACTIVATIONS": jax_grad.ACTIVATIONS,
    "oracles.finite_diff.KINKS": finite_diff.KINKS,
    # the complex step decides every name: a holomorphic formula, or declined (not applicable)
    "oracles.complex_step.ACTIVATIONS + NOT_HOLOMORPHIC": {
        *complex_step.ACTIVATIONS,
        *complex_step.NOT_HOLOMORPHIC,
    },
    "errormodel.tables.ACTIVATION_ERRORS": ACTIVATION_ERRORS,
    "oracles.exact.ACTIVATIONS": exact.ACTIVATIONS,
    "harness.strategies.ACTIVATION_ORDER": strategies.ACTIVATION_ORDER,
}
COST_TABLES: Mapping[str, Collection[str]] = {
    "reference.costs.COSTS": COSTS,
    "oracles.torch_autograd.COSTS": torch_autograd.COSTS,
    "oracles.jax_grad.COSTS": jax_grad.COSTS,
    "oracles.complex_step.COSTS": complex_step.COSTS,
    "errormodel.tables.COST_ERRORS": COST_ERRORS,
    "oracles.exact.COSTS": exact.COSTS,
    "harness.strategies.COST_ORDER": strategies.COST_ORDER,
}
VOCABULARIES = {
    "activation": (ACTIVATION_NAMES, ACTIVATION_TABLES),
    "cost": (COST_NAMES, COST_TABLES),
}


def mismatches(names: Collection[str], tables: Mapping[str, Collection[str]]) -> list[str]:
    """One line per table whose names differ from the vocabulary's."""
    return [
        f"{where}: missing {sorted(set(names) - set(t))}, extra {sorted(set(t) - set(names))}"
        for where, t in tables.items()
        if set(t) != set(names)
    ]


@pytest.mark.parametrize("kind", sorted(VOCABULARIES))
def test_every_table_names_the_same_set(kind):
    names, tables = VOCABULARIES[kind]
    assert len(set(names)) == len(names)
    assert mismatches(names, tables) == []


@pytest.mark.parametrize(
    ("kind", "table"), [(k, t) for k, (_, tables) in VOCABULARIES.items() for t in tables]
)
def test_the_check_sees_a_name_removed_from_any_one_table(kind, table):
    names, tables = VOCABULARIES[kind]
    removed = names[-1]
    short = {**tables, table: [n for n in tables[table] if n != removed]}
    assert mismatches(names, short) == [f"{table}: missing [{removed!r}], extra []"]


def test_leaky_relu_alpha_is_read_from_the_vocabulary():
    assert LeakyReLU().alpha == LEAKY_RELU_ALPHA
    assert ACTIVATION_ERRORS["leaky_relu"].derivatives(-1.0)[0] == LEAKY_RELU_ALPHA


def test_the_random_draw_keeps_todays_order():
    """The first draw's names are the vocabulary's first names, in today's (sorted) order: the
    seeds of every results file and failing id drawn before the vocabulary existed."""
    first = ACTIVATION_NAMES[: architectures.FIRST_ACTIVATIONS]
    assert first == tuple(sorted(first))
    assert COST_NAMES[: architectures.FIRST_COSTS] == tuple(sorted(COST_NAMES[:2]))


def test_appending_a_name_changes_only_the_draws_of_the_new_name(monkeypatch):
    before = architectures.random_architectures(300, seed=3)
    monkeypatch.setattr(architectures, "ACTIVATION_NAMES", (*ACTIVATION_NAMES, "new_activation"))
    monkeypatch.setattr(architectures, "COST_NAMES", (*COST_NAMES, "new_cost"))
    monkeypatch.setitem(COSTS, "new_cost", COSTS["quadratic"])  # needs no particular output
    after = architectures.random_architectures(300, seed=3)
    new_acts = new_costs = 0
    for old, new in zip(before, after, strict=True):
        assert (old.sizes, old.batch, old.seed) == (new.sizes, new.batch, new.seed)
        assert new.cost in (old.cost, "new_cost")
        new_costs += new.cost == "new_cost"
        if new.cost != old.cost:
            continue  # the output layer may have followed the old cost's requirement
        for a, b in zip(old.activations, new.activations, strict=True):
            assert b in (a, "new_activation"), (old, new)
            new_acts += b == "new_activation"
    assert new_acts > 0 and new_costs > 0  # the new names are drawn, uniformly in the long run


def test_the_activation_records_are_the_vocabulary_in_its_order():
    """One record per activation (reference.activations.ACTIVATION_INFO), in the append-only
    order; the tables of facts the harness reads are derived from the records."""
    assert tuple(ACTIVATION_INFO) == ACTIVATION_NAMES
    assert {n for n, info in ACTIVATION_INFO.items() if info.kinked} == finite_diff.KINKED
    assert {"relu", "leaky_relu"} == complex_step.NOT_HOLOMORPHIC
    assert strategies.ACTIVATION_ORDER[0] == "identity"
    assert len({info.simplicity for info in ACTIVATION_INFO.values()}) == len(ACTIVATION_INFO)


def lacking(
    records: Mapping[str, ActivationInfo], sigmas: Mapping[str, oracle_sigmas.OracleSigmas]
) -> list[str]:
    """One line per σ an oracle lacks, or has against its record's word, for each activation of
    the reference's records (oracles/activations.py holds every oracle's own σ)."""
    lines = []
    for name, info in records.items():
        if name not in sigmas:
            every = ("torch", "jax", "complex step" if info.holomorphic else "", "exact")
            lines += [f"{oracle} has no σ for {name!r}" for oracle in every if oracle]
            continue
        s = sigmas[name]
        if info.holomorphic and s.complex_step is None:
            lines.append(f"complex step has no σ for {name!r} (its record says holomorphic)")
        if not info.holomorphic and s.complex_step is not None:
            lines.append(f"complex step has a σ for {name!r}, whose record says not holomorphic")
        if not info.output_only and s.exact is None:
            lines.append(f"exact has no σ for {name!r}")
        if not info.output_only and info.errors is None:
            lines.append(f"the error model has no ErrorFacts for {name!r} (its record's errors)")
    lines += [
        f"oracles/activations.py has {n!r}, which has no record" for n in sigmas.keys() - records
    ]
    return lines


def test_every_oracle_has_its_own_sigma_of_every_activation():
    assert lacking(ACTIVATION_INFO, oracle_sigmas.SIGMAS) == []


def test_what_an_oracle_lacks_is_named():
    sigmas = dict(oracle_sigmas.SIGMAS)
    del sigmas["sigmoid"]
    sigmas["tanh"] = replace(sigmas["tanh"], complex_step=None, exact=None)
    sigmas["relu"] = replace(sigmas["relu"], complex_step=sigmas["identity"].complex_step)
    sigmas["swish"] = sigmas["identity"]
    records = {**ACTIVATION_INFO, "softplus": replace(ACTIVATION_INFO["softplus"], errors=None)}
    assert lacking(records, sigmas) == [
        "complex step has a σ for 'relu', whose record says not holomorphic",
        "torch has no σ for 'sigmoid'",
        "jax has no σ for 'sigmoid'",
        "complex step has no σ for 'sigmoid'",
        "exact has no σ for 'sigmoid'",
        "the error model has no ErrorFacts for 'softplus' (its record's errors)",
        "complex step has no σ for 'tanh' (its record says holomorphic)",
        "exact has no σ for 'tanh'",
        "oracles/activations.py has 'swish', which has no record",
    ]


def test_the_oracles_tables_are_built_from_the_one_file():
    """Each oracle's σ table is its field of oracles/activations.py's records, no more, no less."""
    for oracle, table in (
        ("torch", torch_autograd.ACTIVATIONS),
        ("jax", jax_grad.ACTIVATIONS),
        ("complex_step", complex_step.ACTIVATIONS),
        ("exact", exact.ELEMENTWISE),
        ("exact_one_minus", exact.ONE_MINUS),
    ):
        named = {n for n, s in oracle_sigmas.SIGMAS.items() if getattr(s, oracle) is not None}
        assert set(table) == named, oracle


def cost_lacking(references: Collection[str], costs: Collection[str]) -> list[str]:
    """One line per oracle without its own C_x of a reference cost (oracles/costs.py)."""
    lines = [
        f"{oracle} has no C_x for {name!r}"
        for name in references
        if name not in costs
        for oracle in ("torch", "jax", "complex step")
    ]
    return lines + [
        f"oracles/costs.py has {n!r}, which reference.costs lacks"
        for n in costs
        if n not in references
    ]


def test_every_oracle_has_its_own_cost_of_every_cost():
    assert cost_lacking(COSTS, oracle_costs.COSTS) == []
    short = [n for n in oracle_costs.COSTS if n != "quadratic"]
    assert cost_lacking(COSTS, [*short, "hinge"]) == [
        "torch has no C_x for 'quadratic'",
        "jax has no C_x for 'quadratic'",
        "complex step has no C_x for 'quadratic'",
        "oracles/costs.py has 'hinge', which reference.costs lacks",
    ]
