"""Array alias shared by the reference and the oracles' result type."""

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]
