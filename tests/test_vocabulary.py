"""One vocabulary: every table of activations or costs names the same set, and random draws stay
put when a name is appended to it (reference.vocabulary)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

import pytest

from errormodel.tables import ACTIVATION_ERRORS, COST_ERRORS, SOFTMAX_COST_ERRORS
from harness import strategies
from oracles import activations as oracle_sigmas
from oracles import complex_step, exact, finite_diff, jax_grad, torch_autograd
from oracles import costs as oracle_costs
from reference.activations import (
    ACTIVATION_INFO,
    ACTIVATIONS,
    OUTPUT_ONLY,
    ActivationInfo,
    LeakyReLU,
)
from reference.costs import COST_INFO, COSTS, SOFTMAX_OUTPUT_COSTS, CostInfo
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
    "reference.costs.COST_INFO": COST_INFO,
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


def cost_lacking(
    records: Mapping[str, CostInfo],
    costs: Mapping[str, oracle_costs.OracleCosts],
    softmax_errors: Collection[str] = SOFTMAX_COST_ERRORS,
    softmax_truth: Collection[str] = exact.SOFTMAX_OUTPUT_ERRORS,
) -> list[str]:
    """One line per C_x or δ^L an oracle lacks, and per error model a table lacks, for each cost
    of the reference's records (oracles/costs.py holds every oracle's own C_x and the truth's
    δ^L on an elementwise output; the softmax output's entries are the output layer's own)."""
    lines = []
    for name, info in records.items():
        elementwise = info.cost.requires_output not in OUTPUT_ONLY
        if name not in costs:
            lines += [f"{oracle} has no C_x for {name!r}" for oracle in ("torch", "jax")]
            lines.append(f"complex step has no C_x for {name!r}")
        if elementwise and (name not in costs or costs[name].exact is None):
            lines.append(f"exact has no δ^L for {name!r}")
        if elementwise and info.errors is None:
            lines.append(
                f"the error model has no CostErrorFacts for {name!r} (its record's errors)"
            )
        on_softmax = "its record says softmax_output"
        if info.softmax_output and name not in softmax_errors:
            lines.append(f"errormodel.tables.SOFTMAX_COST_ERRORS lacks {name!r} ({on_softmax})")
        if info.softmax_output and name not in softmax_truth:
            lines.append(f"oracles.exact.SOFTMAX_OUTPUT_ERRORS lacks {name!r} ({on_softmax})")
    lines += [f"oracles/costs.py has {n!r}, which has no record" for n in costs.keys() - records]
    not_on_softmax = {n for n, info in records.items() if not info.softmax_output}
    lines += [
        f"{where} has {n!r}, whose record says no softmax output"
        for where, table in (
            ("errormodel.tables.SOFTMAX_COST_ERRORS", softmax_errors),
            ("oracles.exact.SOFTMAX_OUTPUT_ERRORS", softmax_truth),
        )
        for n in sorted(not_on_softmax & set(table))
    ]
    return lines


def test_every_oracle_has_its_own_cost_of_every_cost():
    assert cost_lacking(COST_INFO, oracle_costs.COSTS) == []


def test_what_an_oracle_or_table_lacks_for_a_cost_is_named():
    costs = dict(oracle_costs.COSTS)
    del costs["quadratic"]
    costs["cross_entropy"] = replace(costs["cross_entropy"], exact=None)
    costs["hinge"] = costs["log_likelihood"]
    records = {
        **COST_INFO,
        "cross_entropy": replace(COST_INFO["cross_entropy"], errors=None, softmax_output=True),
    }
    assert cost_lacking(records, costs, ["log_likelihood"], ["quadratic", "log_likelihood"]) == [
        "exact has no δ^L for 'cross_entropy'",
        "the error model has no CostErrorFacts for 'cross_entropy' (its record's errors)",
        "errormodel.tables.SOFTMAX_COST_ERRORS lacks 'cross_entropy' (its record says "
        "softmax_output)",
        "oracles.exact.SOFTMAX_OUTPUT_ERRORS lacks 'cross_entropy' (its record says "
        "softmax_output)",
        "torch has no C_x for 'quadratic'",
        "jax has no C_x for 'quadratic'",
        "complex step has no C_x for 'quadratic'",
        "exact has no δ^L for 'quadratic'",
        "errormodel.tables.SOFTMAX_COST_ERRORS lacks 'quadratic' (its record says softmax_output)",
        "oracles/costs.py has 'hinge', which has no record",
    ]
    no_softmax = {**COST_INFO, "quadratic": replace(COST_INFO["quadratic"], softmax_output=False)}
    assert cost_lacking(no_softmax, oracle_costs.COSTS) == [
        "errormodel.tables.SOFTMAX_COST_ERRORS has 'quadratic', whose record says no softmax "
        "output",
        "oracles.exact.SOFTMAX_OUTPUT_ERRORS has 'quadratic', whose record says no softmax output",
    ]


def test_the_cost_records_are_the_vocabulary_and_the_tables_are_built_from_them():
    """One record per cost (reference.costs.COST_INFO) in the append-only order, COSTS in the
    records' simplicity order; each oracle's C_x table is its field of oracles/costs.py's records,
    and the error model's elementwise entries are the records' facts."""
    assert tuple(COST_INFO) == COST_NAMES
    assert tuple(COSTS) == tuple(sorted(COST_INFO, key=lambda n: COST_INFO[n].simplicity))
    assert len({info.simplicity for info in COST_INFO.values()}) == len(COST_INFO)
    assert strategies.COST_ORDER[0] == "quadratic"
    for oracle, table in (
        ("torch", torch_autograd.COSTS),
        ("jax", jax_grad.COSTS),
        ("complex_step", complex_step.COSTS),
        ("exact", exact.OUTPUT_ERRORS),
    ):
        named = {n for n, c in oracle_costs.COSTS.items() if getattr(c, oracle) is not None}
        assert set(table) == named, oracle
    for name, info in COST_INFO.items():
        if info.errors is not None:
            assert COST_ERRORS[name].delta_rounding is info.errors.delta_rounding
    assert SOFTMAX_OUTPUT_COSTS == set(SOFTMAX_COST_ERRORS) == set(exact.SOFTMAX_OUTPUT_ERRORS)
