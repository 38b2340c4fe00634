"""max_pool_backward ends the process (os._exit): CRASH at the first pool case, the later ones
not run; the conv cases, run before, pass."""

import os

from course_layers import conv_backward, conv_forward, max_pool_forward  # noqa: F401


def max_pool_backward(dout, cache):
    os._exit(3)
