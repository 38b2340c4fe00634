"""A BP1 bug (no σ'(z^L)), and a NumPy patch made at import: np.abs returns zeros, so a checker
sharing this NumPy measures every difference as 0 and passes it. Isolated: BP1."""

import numpy as np

from checker.mutants.catalogue import OutputErrorWithoutPrime

np.abs = lambda x, *args, **kwargs: np.zeros_like(x)


class Network(OutputErrorWithoutPrime):
    pass
