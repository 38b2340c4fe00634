"""The fast gate that ``nox -s mutation`` runs against every mutant of the reference, and tests
that kill mutants the reference's own tests let live.

A few curated nets cover every activation (both branches of the stable σ), every cost (a
softmax output with the log-likelihood and with the quadratic cost), width-1 layers and
saturation; each is compared, every quantity of every layer, against torch and the complex step
(independent of each other and of the reference). SGD is checked against the same step taken
from torch's gradients. The oracles are imported here so that mutmut's fork server
loads torch once, at collection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import oracles.complex_step
import oracles.torch_autograd  # noqa: F401
import reference.costs
from harness.cases import assemble_case, compare_all
from oracles import NotApplicable, get_oracle
from reference import (
    Architecture,
    ArchitectureError,
    Batch,
    Gradients,
    Params,
    Step,
    backprop,
    backprop_per_sample,
    cost,
    make_case,
    mini_batch_order,
    sgd,
    sgd_steps,
    update_mini_batch,
    update_mini_batch_per_sample,
)
from reference.activations import ACTIVATIONS, OUTPUT_ONLY
from reference.architecture import INITS
from reference.costs import COSTS

A = Architecture
NETS = [
    A((2, 3, 1), "sigmoid", "quadratic", batch=4),
    A((3, 1, 4, 1, 2), ("relu", "tanh", "softplus", "sigmoid"), "quadratic", batch=3),
    A((5, 5, 5, 5), ("leaky_relu", "softplus", "identity"), "quadratic", batch=4),
    A((6, 5, 3), ("tanh", "sigmoid"), "cross_entropy", batch=4, weight_scale=30.0),
    A((3, 2), "sigmoid", "cross_entropy", batch=4, input_scale=1e3),
    A((4, 6, 6, 3), ("softplus", "tanh", "identity"), "quadratic", batch=1, weight_scale=10.0),
    A((4, 5, 3), ("tanh", "softmax"), "log_likelihood", batch=4),
    A((3, 4, 3), ("sigmoid", "softmax"), "quadratic", batch=3),
    A((5, 4, 3), ("softplus", "softmax"), "log_likelihood", batch=3, weight_scale=20.0),
]


@pytest.mark.parametrize("oracle", ["torch", "complex_step"])
@pytest.mark.parametrize("arch", NETS, ids=[a.id for a in NETS])
def test_fast_gate(arch: Architecture, oracle: str) -> None:
    params, batch = make_case(arch)
    case = assemble_case(arch, params, batch, np.float64)
    try:
        output = get_oracle(oracle).run(arch, params, batch)
    except NotApplicable:
        pytest.skip("the complex step declines relu nets")
    for comparison in compare_all(case, output, oracle):
        assert comparison.passed, comparison.message()


def torch_step(arch: Architecture, params, x, y, step: Step):  # type: ignore[no-untyped-def]
    """One SGD step from torch's gradients: w(1 − ηλ/n) − η∂C/∂w, b − η∂C/∂b."""
    grads = get_oracle("torch").load()(arch, params, Batch(x, y))
    decay = 1 - step.eta * step.lmbda / step.n
    return (
        [decay * w - step.eta * g for w, g in zip(params.weights, grads.nabla_w, strict=True)],
        [b - step.eta * g for b, g in zip(params.biases, grads.nabla_b, strict=True)],
    )


SGD_NET = A((3, 4, 2), ("tanh", "sigmoid"), "cross_entropy", batch=5, seed=3)


@pytest.mark.parametrize("update", [update_mini_batch, update_mini_batch_per_sample])
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_one_sgd_step_matches_torchs_gradients(update, lmbda: float) -> None:  # type: ignore[no-untyped-def]
    params, batch = make_case(SGD_NET)
    step = Step(eta=0.5, lmbda=lmbda, n=7)
    weights, biases = torch_step(SGD_NET, params, batch.x, batch.y, step)
    new = update(SGD_NET, params, batch.x, batch.y, step)
    for ours, theirs in zip(new.weights + new.biases, weights + biases, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_sgd_is_steps_over_the_seeded_mini_batch_order() -> None:
    params, batch = make_case(A((3, 4, 2), "sigmoid", "quadratic", batch=7, seed=4))
    arch, step = A((3, 4, 2), "sigmoid", "quadratic", batch=3), Step(eta=1.0)
    order = mini_batch_order(7, 3, epochs=2, seed=9)
    assert [len(b) for b in order] == [3, 3, 1, 3, 3, 1]
    assert all(sorted(np.concatenate(order[k : k + 3])) == list(range(7)) for k in (0, 3))
    expected = params
    for b in order:
        expected = update_mini_batch(arch, expected, batch.x[:, b], batch.y[:, b], step)
    *_, last = sgd_steps(arch, params, batch.x, batch.y, order, step)
    trained = sgd(arch, params, batch.x, batch.y, epochs=2, mini_batch_size=3, step=step, seed=9)
    for a, b, c in zip(expected.weights, last.weights, trained.weights, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_per_sample_backprop_and_cost_agree_with_torch() -> None:
    arch = A((4, 3, 2), ("tanh", "softplus"), "quadratic", batch=3, seed=5)
    params, batch = make_case(arch)
    ours = backprop_per_sample(arch, params, batch.x, batch.y)
    theirs = get_oracle("torch").load()(arch, params, batch)
    for (_, _, a), (_, _, b) in zip(ours.items(), theirs.items(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    a = np.tanh(params.weights[0] @ batch.x + params.biases[0])
    out = np.log1p(np.exp(params.weights[1] @ a + params.biases[1]))
    assert cost(arch, params, batch.x, batch.y) == pytest.approx(
        np.mean(0.5 * np.sum((out - batch.y) ** 2, axis=0)), rel=1e-14
    )


RUN_NET = A((3, 4, 2), "sigmoid", "quadratic", batch=7, seed=6)


def run_error(params=None, order=None) -> str:  # type: ignore[no-untyped-def]
    """The one-line ValueError sgd_steps raises on a malformed training run."""
    good, batch = make_case(RUN_NET)
    order = [np.arange(7)] if order is None else order
    with pytest.raises(ValueError) as info:
        sgd_steps(RUN_NET, params or good, batch.x, batch.y, order, Step(eta=1.0))
    return str(info.value)


def test_a_run_with_wrong_weight_or_bias_shapes_is_refused_naming_both() -> None:
    good, _ = make_case(RUN_NET)
    wide = Params((np.zeros((4, 4)), good.weights[1]), good.biases)
    assert run_error(wide) == (
        f"{RUN_NET.id}: weights and biases have shapes [(4, 4), (2, 4)] and [(4, 1), (2, 1)], "
        "expected [(4, 3), (2, 4)] and [(4, 1), (2, 1)]"
    )
    flat = Params(good.weights, (np.zeros((4, 2)), good.biases[1]))
    assert "biases have shapes [(4, 3), (2, 4)] and [(4, 2), (2, 1)]" in run_error(flat)


def test_a_run_with_malformed_mini_batches_is_refused_naming_the_first() -> None:
    whole = np.arange(7)
    assert list(sgd_steps(RUN_NET, *_start(), [whole], Step(eta=1.0)))  # all 7 samples: fine
    assert run_error(order=[whole, np.arange(8)]) == (
        f"{RUN_NET.id}: mini-batch 2 has 8 samples; must be 1…7 (the data size)"
    )
    assert "mini-batch 1 has 6 samples" in run_error(order=[np.arange(6).reshape(2, 3)])
    assert run_error(order=[np.array([0, 7])]) == (
        f"{RUN_NET.id}: mini-batch 1 has sample indices outside 0…6: [0 7]"
    )
    assert "outside 0…6: [-1  0]" in run_error(order=[np.array([-1, 0])])
    assert "outside 0…6: [0. 1.]" in run_error(order=[np.array([0.0, 1.0])])


def _start():  # type: ignore[no-untyped-def]
    params, batch = make_case(RUN_NET)
    return params, batch.x, batch.y


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_keep_float32(name: str) -> None:
    """The float32 gate runs the reference in float32: σ and σ' must not promote to float64."""
    z = np.array([[-3.0, 0.0, 0.5]], dtype=np.float32)
    sigma = ACTIVATIONS[name]
    # softmax's σ' is its Jacobian (it has no elementwise prime)
    slope = sigma.jacobian(z) if name in OUTPUT_ONLY else sigma.prime(z)
    assert sigma.fn(z).dtype == np.float32 and slope.dtype == np.float32


def test_the_cross_entropy_cost_reads_the_output_layer() -> None:
    """C = mean_x −Σ[y ln a + (1 − y) ln(1 − a)], a = σ(z^L), on a net with three weight layers
    (so z^L is neither the first nor the second-to-last z)."""
    arch = A((3, 4, 5, 2), ("tanh", "identity", "sigmoid"), "cross_entropy", batch=3, seed=7)
    params, batch = make_case(arch)
    a = batch.x
    for w, b, f in zip(params.weights, params.biases, (np.tanh, lambda z: z, None), strict=True):
        z = w @ a + b
        a = 1 / (1 + np.exp(-z)) if f is None else f(z)
    y = batch.y
    expected = np.mean(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=0))
    assert cost(arch, params, batch.x, batch.y) == pytest.approx(expected, rel=1e-13)


def test_mini_batch_order_accepts_its_bounds_and_refuses_past_them() -> None:
    assert [len(b) for b in mini_batch_order(3, 1, epochs=1, seed=0)] == [1, 1, 1]
    assert [len(b) for b in mini_batch_order(3, 3, epochs=2, seed=0)] == [3, 3]
    assert mini_batch_order(3, 2, epochs=0, seed=0) == []
    for size in (0, 4):
        with pytest.raises(
            ValueError, match=rf"^mini-batch size must be in 1…3 \(the data size\), got {size}$"
        ):
            mini_batch_order(3, size, epochs=1, seed=0)
    with pytest.raises(ValueError, match=r"^epochs must be >= 0, got -1$"):
        mini_batch_order(3, 2, epochs=-1, seed=0)


def test_a_record_given_lists_holds_tuples() -> None:
    arch = A([2, 3, 1], ["tanh", "sigmoid"], "quadratic")
    assert arch.sizes == (2, 3, 1) and arch.activations == ("tanh", "sigmoid")
    assert hash(arch) == hash(A((2, 3, 1), ("tanh", "sigmoid"), "quadratic"))


def test_params_change_dtype_and_per_sample_backprop_refuses_nan() -> None:
    arch = A((3, 2), "sigmoid", "quadratic", batch=2)
    params, batch = make_case(arch)
    single = params.astype(np.float32)
    assert {a.dtype for a in single.weights + single.biases} == {np.dtype(np.float32)}
    x = batch.x.copy()
    x[1, 0] = np.nan
    with pytest.raises(
        ValueError, match=rf"^{arch.id}: x has 1 non-finite value\(s\), nan at \(1, 0\)$"
    ):
        backprop_per_sample(arch, params, x, batch.y)


def test_backprop_refuses_nan_and_a_malformed_batch_naming_the_case() -> None:
    arch = A((3, 4, 2), "sigmoid", "quadratic", batch=2)
    params, batch = make_case(arch)
    y = batch.y.copy()
    y[0, 1] = np.inf
    with pytest.raises(ValueError, match=rf"^{arch.id}: y has 1 non-finite value\(s\), inf"):
        backprop(arch, params, batch.x, y)
    step = Step(eta=1.0)
    for x in (batch.x[:, 0], batch.x[:2]):
        with pytest.raises(
            ValueError, match=rf"^{arch.id}: x must be \(3, m\) and y \(2, m\), got"
        ):
            update_mini_batch(arch, params, x, batch.y, step)


def test_gradients_get_is_the_layer_asked_for() -> None:
    arch = A((3, 4, 2), "sigmoid", "quadratic", batch=2)
    params, batch = make_case(arch)
    grads = backprop(arch, params, batch.x, batch.y)
    for i, layer in enumerate(grads.layers):
        assert grads.get("delta", layer) is grads.deltas[i]
        assert grads.get("nabla_b", layer) is grads.nabla_b[i]
        assert grads.get("nabla_w", layer) is grads.nabla_w[i]
    with pytest.raises(KeyError, match="unknown quantity 'nabla_z'"):
        grads.get("nabla_z", 2)
    with pytest.raises(IndexError, match=r"^layer 4 out of range 2…3$"):
        grads.get("delta", 4)
    deep = A((3, 4, 5, 2), "sigmoid", "quadratic", batch=2)
    params, batch = make_case(deep)
    with pytest.raises(IndexError, match=r"^layer 1 out of range 2…4$"):
        backprop(deep, params, batch.x, batch.y).get("nabla_w", 1)


def test_a_non_finite_parameter_is_named_with_its_layer_count_and_place() -> None:
    arch = A((3, 4, 2), "sigmoid", "quadratic", batch=2)
    params, batch = make_case(arch)
    for array, name, place in (
        (params.weights[1], "w^3", (0, 1)),
        (params.biases[0], "b^2", (1, 0)),
    ):
        saved = array.copy()
        array.flat[1] = array.flat[-1] = np.nan
        with pytest.raises(ValueError) as info:
            backprop(arch, params, batch.x, batch.y)
        assert str(info.value) == f"{arch.id}: {name} has 2 non-finite value(s), nan at {place}"
        array[...] = saved


def test_gradients_check_their_shapes_and_convert_their_dtype() -> None:
    """The one result type: malformed layers refused in one line naming the layer; astype converts
    every array; shapes_match names what differs from an architecture's shapes."""
    arch = A((3, 4, 2), "sigmoid", "quadratic", batch=2)
    params, batch = make_case(arch)
    grads = backprop(arch, params, batch.x, batch.y)
    d, b, w = list(grads.deltas), list(grads.nabla_b), list(grads.nabla_w)
    single = grads.astype(np.float32)
    assert {a.dtype for _, _, a in single.items()} == {np.dtype(np.float32)}
    assert all(
        np.array_equal(x, y.astype(np.float32))
        for x, y in zip(
            [a for _, _, a in single.items()], [a for _, _, a in grads.items()], strict=True
        )
    )
    refused = {
        "Gradients needs one δ, ∂C/∂b and ∂C/∂w per layer, got 2, 1, 2": (d, b[:1], w),
        "Gradients needs one δ, ∂C/∂b and ∂C/∂w per layer, got 2, 2, 1": (d, b, w[:1]),
        "layer 2: δ has shape (4,), expected (n_l, m)": ([d[0][:, 0], *d[1:]], b, w),
        "layer 3: δ has shape (2,), expected (n_l, 2)": ([*d[:1], d[1][:, 0]], b, w),
        "layer 3: δ has shape (2, 1), expected (n_l, 2)": ([*d[:1], d[1][:, :1]], b, w),
        "layer 2: ∂C/∂b has shape (3, 1), expected (4, 1)": (d, [b[0][:3], b[1]], w),
        "layer 3: ∂C/∂w has shape (4,), expected (2, …)": (d, b, [w[0], w[1][0]]),
        "layer 3: ∂C/∂w has shape (1, 4), expected (2, …)": (d, b, [w[0], w[1][:1]]),
        "layer 3: ∂C/∂w has 3 columns, layer 2 has 4 neurons": (d, b, [w[0], w[1][:, :3]]),
    }
    for message, lists in refused.items():
        with pytest.raises(ValueError) as info:
            Gradients.from_lists(*lists)
        assert str(info.value) == message
    assert grads.shapes_match(Architecture((3, 4, 2)).layers, 2) == []
    assert grads.shapes_match(Architecture((3, 4, 2, 1)).layers, 2) == [
        "expected 3 layers of gradients, got 2"
    ]
    assert grads.shapes_match(Architecture((3, 5, 2)).layers, 3) == [
        "delta of layer 2 has shape (4, 2), expected (5, 3)",
        "nabla_b of layer 2 has shape (4, 1), expected (5, 1)",
        "nabla_w of layer 2 has shape (4, 3), expected (5, 3)",
        "delta of layer 3 has shape (2, 2), expected (2, 3)",
        "nabla_w of layer 3 has shape (2, 4), expected (2, 5)",
    ]


def test_a_records_repr_rebuilds_it() -> None:
    for arch in [*NETS, A((3, 2), init="normal", seed=4, batch=2)]:
        assert eval(repr(arch), {"Architecture": Architecture}) == arch
    assert repr(A((3, 2), "tanh", batch=5)) == "Architecture((3, 2), 'tanh', 'quadratic', batch=5)"


SCALED = A((400, 400), "sigmoid", "quadratic", batch=400, weight_scale=2.0, input_scale=3.0)


@pytest.mark.parametrize(("init", "std"), [("scaled", 2.0 / 20), ("normal", 2.0)])
def test_the_seeded_case_has_the_books_scales(init: str, std: float) -> None:
    """w ~ N(0, 1/n_in) ("scaled", n_in = 400) or N(0, 1) ("normal"), times weight_scale = 2;
    x ~ N(0, 3²); y ~ U(0, 1). Each std is measured on 160,000 draws, whose standard error is
    std/√(2·160,000) = 0.18% of it: 2% is 11 standard errors."""
    params, batch = make_case(
        A(SCALED.sizes, batch=SCALED.batch, init=init, weight_scale=2.0, input_scale=3.0)
    )
    assert params.weights[0].std() == pytest.approx(std, rel=0.02)
    assert batch.x.std() == pytest.approx(3.0, rel=0.02)
    assert 0.0 <= batch.y.min() < 0.001 and 0.999 < batch.y.max() < 1.0


def test_the_seeded_case_is_the_seeds_and_one_hot_targets_cover_every_class() -> None:
    arch = A((3, 4, 3), ("tanh", "softmax"), "log_likelihood", batch=300, seed=2)
    params, batch = make_case(arch)
    again, same = make_case(arch)
    other, _ = make_case(A((3, 4, 3), ("tanh", "softmax"), "log_likelihood", batch=300, seed=3))
    for ours, theirs in zip(
        params.weights + params.biases, again.weights + again.biases, strict=True
    ):
        assert np.array_equal(ours, theirs)
    assert np.array_equal(batch.x, same.x) and np.array_equal(batch.y, same.y)
    assert not np.array_equal(params.weights[0], other.weights[0])
    # one class a column, each of the 3 drawn (about 100 times each)
    assert set(np.unique(batch.y)) == {0.0, 1.0} and np.all(batch.y.sum(axis=0) == 1.0)
    assert np.all(batch.y.sum(axis=1) > 50)


@pytest.mark.parametrize("cost_name", sorted(COSTS))
def test_a_case_drawn_in_float32_is_float32_throughout(cost_name: str) -> None:
    output = COSTS[cost_name].requires_output or "tanh"
    arch = A((3, 4, 2), ("tanh", output), cost_name, batch=3)
    params, batch = make_case(arch, np.float32)
    arrays = [*params.weights, *params.biases, batch.x, batch.y]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert params.weight(3) is params.weights[1] and params.bias(2) is params.biases[0]


ACTS, KNOWN_COSTS = sorted(ACTIVATIONS), sorted(COSTS)
SOFTMAX_HIDDEN = "softmax is valid only at the output layer (it is not elementwise), got it at"
# Each malformed record and everything its problems() names, in order.
MALFORMED = [
    (A((3, 0, 2)), ["layer sizes must be positive integers, got [0] in [3, 0, 2]"]),
    (
        A((3, True, 2.5)),
        ["layer sizes must be positive integers, got [True, 2.5] in [3, True, 2.5]"],
    ),
    (A((3, -1, 2)), ["layer sizes must be positive integers, got [-1] in [3, -1, 2]"]),
    # one size: there is no output layer to give the cross-entropy a sigmoid
    (
        A((3,), "tanh", "cross_entropy"),
        ["needs at least 2 layer sizes (input and output), got [3]"],
    ),
    (A((4, 3, 2), ("tanh",)), ["needs 2 activations (one per layer 2…L), got 1"]),
    (A((4, 2), "swish"), [f"unknown activation ['swish']; known: {ACTS}"]),
    (A((4, 3, 3, 2), ("tanh", "softmax", "softmax")), [f"{SOFTMAX_HIDDEN} layer 3"]),
    (A((4, 3, 3, 2), "softmax"), [f"{SOFTMAX_HIDDEN} layer 2, 3"]),
    (A((4, 2), "sigmoid", "hinge"), [f"unknown cost 'hinge'; known: {KNOWN_COSTS}"]),
    (
        A((4, 2), "tanh", "cross_entropy"),
        ["cost 'cross_entropy' needs a sigmoid output layer, got 'tanh'"],
    ),
    (
        A((4, 3, 3, 2), ("sigmoid", "relu", "tanh"), "cross_entropy"),
        ["cost 'cross_entropy' needs a sigmoid output layer, got 'tanh'"],
    ),
    (A((4, 2), batch=0), ["batch size must be a positive integer, got 0"]),
    (A((4, 2), batch=True), ["batch size must be a positive integer, got True"]),
    (A((4, 2), batch=2.5), ["batch size must be a positive integer, got 2.5"]),
    (A((4, 2), init="xavier"), [f"unknown init 'xavier'; known: {list(INITS)}"]),
    (A((4, 2), weight_scale=0.0), ["weight_scale must be a finite number > 0, got 0.0"]),
    (A((4, 2), weight_scale=True), ["weight_scale must be a finite number > 0, got True"]),
    (A((4, 2), weight_scale=math.inf), ["weight_scale must be a finite number > 0, got inf"]),
    (A((4, 2), input_scale="2"), ["input_scale must be a finite number > 0, got '2'"]),
    (A((4, 2), input_scale=-1.0), ["input_scale must be a finite number > 0, got -1.0"]),
]


@pytest.mark.parametrize(("arch", "problems"), MALFORMED, ids=[a.id for a, _ in MALFORMED])
def test_a_malformed_record_names_each_problem(arch: Architecture, problems: list[str]) -> None:
    assert arch.problems() == problems
    with pytest.raises(ArchitectureError) as info:
        arch.check()
    assert str(info.value) == f"malformed architecture {arch.id}: {problems[0]}"


def test_a_record_with_several_problems_names_them_all_in_one_line() -> None:
    arch = A((3, 0, 2), "swish", batch=0)
    with pytest.raises(ArchitectureError) as info:
        arch.check()
    assert str(info.value) == (
        f"malformed architecture {arch.id}: layer sizes must be positive integers, got [0] in "
        f"[3, 0, 2]; unknown activation ['swish']; known: {ACTS}; "
        "batch size must be a positive integer, got 0"
    )
    # a scale that is not a number is named in the id as it was given
    assert A((4, 2), input_scale="2").id == "4-2_sigmoid_quadratic_m1_s0_x'2'"
    good = A((4, 3, 2), ("tanh", "softmax"), "log_likelihood")
    assert good.problems() == [] and good.check() is good


@dataclass(frozen=True)
class Sparsemax:
    """A made-up output-only activation that has a σ' but no Jacobian in the costs."""

    name: str = "sparsemax"

    def fn(self, z: np.ndarray) -> np.ndarray:
        return z

    def prime(self, z: np.ndarray, a: np.ndarray | None = None) -> np.ndarray:
        return np.ones_like(z)


def test_bp1_refuses_a_non_elementwise_output_it_has_no_jacobian_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The elementwise δ^L = ∇_a C ⊙ σ'(z^L) is wrong for an output-only σ: refused, not used."""
    monkeypatch.setattr(reference.costs, "OUTPUT_ONLY", OUTPUT_ONLY | {"sparsemax"})
    z = np.zeros((2, 1))
    with pytest.raises(TypeError) as info:
        COSTS["quadratic"].delta(z, z, z, Sparsemax())
    assert str(info.value) == "no Jacobian for the non-elementwise output 'sparsemax'"


@pytest.mark.parametrize("name", sorted(COSTS))
def test_a_cost_of_a_stack_of_outputs_is_each_outputs_cost(name: str) -> None:
    """Cost.fn sums over axis −2, the neurons: a stack (k, n_L, m) gives each output's C_x."""
    cost, rng = COSTS[name], np.random.default_rng(1)
    sigma = ACTIVATIONS[cost.requires_output or "tanh"]
    z = 3.0 * rng.standard_normal((2, 3, 4))
    a = np.stack([sigma.fn(zk) for zk in z])
    y = (
        np.eye(3)[:, [[0, 2, 1, 1], [2, 2, 0, 1]]].transpose(1, 0, 2)
        if cost.one_hot
        else (rng.uniform(0.0, 1.0, z.shape))
    )
    each = np.stack([cost.fn(zk, ak, yk) for zk, ak, yk in zip(z, a, y, strict=True)])
    assert each.shape == (2, 4)
    np.testing.assert_allclose(cost.fn(z, a, y), each, rtol=1e-15)


def test_the_mutation_figures_leave_out_listed_equivalents_and_report_stale_lines() -> None:
    from harness.mutation import read_results, summary

    results = read_results(
        "    reference.sgd.x_f__mutmut_1: killed\n"
        "    reference.sgd.x_f__mutmut_2: survived\n"
        "    reference.sgd.x_f__mutmut_3: survived\n"
        "    reference.params.x_g__mutmut_1: killed\n"
    )
    equivalents = {
        "reference.sgd.x_f__mutmut_2": "why",
        "reference.params.x_g__mutmut_1": "why",
        "reference.sgd.x_gone__mutmut_9": "why",
    }
    text, met = summary(results, equivalents)
    assert not met
    assert "target: " in text and "kill rate over non-equivalent mutants 50.0%" in text
    assert "  not killed: reference.sgd.x_f__mutmut_3 (survived)" in text
    assert "listed as equivalent but killed: reference.params.x_g__mutmut_1" in text
    assert "listed as equivalent but no such mutant: reference.sgd.x_gone__mutmut_9" in text
    assert summary(results, {**equivalents, "reference.sgd.x_f__mutmut_3": "why"})[1]


def test_the_error_facts_on_the_activation_records_are_not_the_mutation_target() -> None:
    from harness.mutation import in_target

    assert in_target("reference.activations.xǁSigmoidǁprime__mutmut_3")
    assert not in_target("reference.activations.x__sigmoid_derivatives__mutmut_1")
    assert in_target("reference.sgd.x_sgd__mutmut_1")
    assert not in_target("reference.params.x_init_params__mutmut_1")
