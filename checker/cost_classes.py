"""network2.py's cost classes, by the reference's name for each cost (book ch. 3).

The worker looks them up by these names in the modules of the class under test and its bases;
the checker offers a cost only where its class is found (the log-likelihood, softmax output, only
to a class whose modules define ``LogLikelihoodCost``) and names them in its messages. Only the
standard library is imported here: the worker, inside its jail, and the pytest plugin, at load,
import this module.
"""

from __future__ import annotations

COST_CLASSES = {
    "quadratic": "QuadraticCost",
    "cross_entropy": "CrossEntropyCost",
    "log_likelihood": "LogLikelihoodCost",
}
