"""conv_backward's dx off by one part in 10¹²: far inside any hand-chosen tolerance, outside the
error model's bound (about ε·B), so BP2 (conv) fails."""

from course_layers import conv_backward as _conv_backward
from course_layers import conv_forward, max_pool_backward, max_pool_forward  # noqa: F401


def conv_backward(dout, cache):
    dx, dw, db = _conv_backward(dout, cache)
    return dx * (1 + 1e-12), dw, db
