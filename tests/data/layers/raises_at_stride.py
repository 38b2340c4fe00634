"""conv_backward raises at stride > 1: CRASH (conv) on those cases, naming the call and the case;
every other case still runs and passes."""

from course_layers import conv_backward as _conv_backward
from course_layers import conv_forward, max_pool_backward, max_pool_forward  # noqa: F401


def conv_backward(dout, cache):
    if cache[3]["stride"] > 1:
        raise ValueError("strides are not written yet")
    return _conv_backward(dout, cache)
