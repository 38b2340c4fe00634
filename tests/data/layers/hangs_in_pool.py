"""max_pool_forward never returns: HANG (max-pool) at the first pool case, naming the call and
the limit; the conv cases, run before, pass; the later pool cases are not run."""

from course_layers import conv_backward, conv_forward, max_pool_backward  # noqa: F401


def max_pool_forward(x, pool_param):
    while True:
        pass
