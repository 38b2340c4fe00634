"""The NumPy reference: a network of the book's kind and its backpropagation (BP1–BP4, SGD).

>>> from reference import Architecture, make_case, backprop
>>> arch = Architecture((784, 30, 10), "sigmoid", "quadratic", batch=10)
>>> params, batch = make_case(arch)          # seeded weights, biases and a mini-batch
>>> grads = backprop(arch, params, batch.x, batch.y)
>>> grads.get("nabla_w", 2).shape            # ∂C/∂w^2; the input is layer 1
(30, 784)
"""

from reference.architecture import Architecture, ArchitectureError
from reference.backprop import backprop, backprop_per_sample, cost, forward_backward
from reference.gradients import QUANTITIES, Gradients
from reference.params import Batch, Params, init_params, make_case, sample_batch
from reference.sgd import (
    Step,
    mini_batch_order,
    sgd,
    sgd_steps,
    update_mini_batch,
    update_mini_batch_per_sample,
)

__all__ = [
    "QUANTITIES",
    "Architecture",
    "ArchitectureError",
    "Batch",
    "Gradients",
    "Params",
    "Step",
    "backprop",
    "backprop_per_sample",
    "cost",
    "forward_backward",
    "init_params",
    "make_case",
    "mini_batch_order",
    "sample_batch",
    "sgd",
    "sgd_steps",
    "update_mini_batch",
    "update_mini_batch_per_sample",
]
