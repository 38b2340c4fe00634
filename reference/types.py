"""Array aliases shared by the reference, the error model and the oracles' result type."""

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]
#: Elements an oracle cannot judge (True where excluded), e.g. FD across a relu kink.
Mask = np.ndarray[Any, np.dtype[np.bool_]]
