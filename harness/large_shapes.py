"""The large-shape paths frameworks take (issue 23, item 2), run only by ``nox -s releases``.

Besides the batched grad (the gate's oracles), the per-example path: jax ``jit(vmap(grad))``
and ``torch.func.vmap(grad)`` of one example's cost C_x, reduced over the batch inside the same
program, written as per-example code is: one example is a vector x (not a column), each layer a
matrix-vector product w @ a + b. δ^{x,l} = ∂C_x/∂b^l (BP3 per example), so the per-example bias
gradients, one column per example, are δ^l; ∂C/∂w^l and ∂C/∂b^l are their means (BP4 averaged
over the batch). Each is judged against the reference with the error model's bound
(harness.cases.compare_one): the exact oracle is too slow at these sizes. The sizes are where
kernels switch: a batch and a layer of 16,385 (2^14 + 1) and the book's [784, 100, 100, 10] at
m = 1000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from harness.cases import build_case, compare_one
from oracles import get_oracle
from reference import QUANTITIES, Architecture, Batch, Gradients, Params

A = Architecture

#: (label, net): the label is the table's family.
CASES: tuple[tuple[str, Architecture], ...] = (
    ("batch 16385", A((4, 8, 3), "sigmoid", "quadratic", batch=16385)),
    # three inputs: the matrix-vector products of jax-ml/jax#39103 (3 columns, 2 to 4 rows, more
    # than 16,384 examples: jit(vmap) on jaxlib 0.10.2 CPU gets every example past 16,384 wrong)
    ("batch 16385 width 3", A((3, 3, 2), "sigmoid", "quadratic", batch=16385)),
    # a layer of 16,385 inputs: each w @ a sums 16,385 products (a hidden layer that wide costs
    # the error model n x n x m floats, 8 GiB here)
    ("layer 16385", A((16385, 4, 2), ("tanh", "sigmoid"), "cross_entropy", batch=4)),
    ("784-100-100-10 m1000", A((784, 100, 100, 10), "sigmoid", "quadratic", batch=1000)),
)
PATHS = ("batched grad", "per-example vmap(grad)")


def _gradients(per_example_b: list[Any], mean_w: list[Any], mean_b: list[Any]) -> Gradients:
    """From per-example bias gradients (m, n_l) and the means: δ^l (n_l, m), columns ∂C/∂b^l."""
    return Gradients(
        deltas=tuple(np.asarray(g).T for g in per_example_b),
        nabla_b=tuple(np.asarray(g)[:, None] for g in mean_b),
        nabla_w=tuple(np.asarray(g) for g in mean_w),
    )


def jax_per_example(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """jit(vmap(grad(C_x))) with the batch mean inside the jitted program."""
    import jax
    import jax.numpy as jnp

    from oracles.jax_grad import ACTIVATIONS, cost_terms

    names = [a.name for a in arch.sigmas]

    def cost_one(ws: list[Any], bs: list[Any], x: Any, y: Any) -> Any:
        a = z = x  # one example: vectors throughout
        for w, b, name in zip(ws, bs, names, strict=True):
            z = w @ a + b
            a = ACTIVATIONS[name](z)
        return jnp.sum(cost_terms(arch.cost, z, a, y))

    per_example = jax.vmap(jax.grad(cost_one, argnums=(0, 1)), in_axes=(None, None, 1, 1))

    def run(ws: list[Any], bs: list[Any], x: Any, y: Any) -> Any:
        gw, gb = per_example(ws, bs, x, y)
        return gb, [g.mean(axis=0) for g in gw], [g.mean(axis=0) for g in gb]

    biases = [b[:, 0] for b in params.biases]
    gb, mean_w, mean_b = jax.jit(run)(list(params.weights), biases, batch.x, batch.y)
    return _gradients(gb, mean_w, mean_b)


def torch_per_example(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """torch.func.vmap(torch.func.grad(C_x)), then the batch mean."""
    import torch

    from oracles.torch_autograd import ACTIVATIONS, per_sample_cost

    names = [a.name for a in arch.sigmas]

    def cost_one(ws: tuple[Any, ...], bs: tuple[Any, ...], x: Any, y: Any) -> Any:
        a = z = x  # one example: vectors throughout
        for w, b, name in zip(ws, bs, names, strict=True):
            z = w @ a + b
            a = ACTIVATIONS[name](z)
        return per_sample_cost(arch.cost, z, a, y).sum()

    per_example = torch.func.vmap(
        torch.func.grad(cost_one, argnums=(0, 1)), in_dims=(None, None, 1, 1)
    )
    ws = tuple(torch.tensor(w) for w in params.weights)
    bs = tuple(torch.tensor(b[:, 0]) for b in params.biases)
    gw, gb = per_example(ws, bs, torch.tensor(batch.x), torch.tensor(batch.y))
    return _gradients(
        [g.numpy() for g in gb],
        [g.mean(dim=0).numpy() for g in gw],
        [g.mean(dim=0).numpy() for g in gb],
    )


PER_EXAMPLE: dict[str, Callable[[Architecture, Params, Batch], Gradients]] = {
    "jax": jax_per_example,
    "torch": torch_per_example,
}


def records(
    framework: str, cases: tuple[tuple[str, Architecture], ...] = CASES
) -> Iterator[dict[str, Any]]:
    """One record per (case, path, quantity, layer): error, allowed and the worst element."""
    for label, arch in cases:
        case = build_case(arch)
        params, batch = case.params, case.batch
        for path in PATHS:
            try:
                if path == PATHS[0]:
                    grads = get_oracle(framework).run(arch, params, batch).gradients
                else:
                    grads = PER_EXAMPLE[framework](arch, params, batch)
            except Exception as exc:  # a crash is this case's answer, the run goes on
                yield {"family": label, "path": path, "problem": f"{arch.id}: {exc}"[:300]}
                continue
            for quantity in QUANTITIES:
                for layer in range(2, arch.depth + 1):
                    c = compare_one(case, grads, framework, quantity, layer)
                    yield {
                        "family": label,
                        "path": path,
                        "quantity": quantity,
                        "layer": layer,
                        "case": f"{arch.id}-{framework}-{path}-{quantity}-layer{layer}",
                        "max_abs": float(c.max_abs),
                        "allowed": float(c.allowed),
                        "problem": c.problem,
                    }
