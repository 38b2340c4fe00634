"""Correct network.py- and network2.py-style implementations and the catalogue of their mutants.

:data:`CORRECT` are the implementations that must pass on every case; `list_mutants()` lists the
mutants of :mod:`checker.mutants.catalogue`, each with the label it must get. The layer functions'
correct set and mutants (``python -m checker --layers``) are :mod:`checker.mutants.course_layers`
and :mod:`checker.mutants.layer_catalogue`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

from checker.mutants import catalogue as _catalogue
from checker.mutants.book_network import Network
from checker.mutants.book_network2 import Network2
from checker.mutants.book_softmax import SoftmaxNetwork2


@dataclass(frozen=True)
class ClassUnderTest:
    """A class the checker is run on, by the name a learner would give it."""

    cls: type

    @property
    def name(self) -> str:
        return self.cls.__name__

    @property
    def spec(self) -> str:
        """``path.py:ClassName``, as a learner would name it on the command line (relative to the
        working directory when inside it, so records do not depend on the checkout's place)."""
        path = Path(inspect.getfile(self.cls)).resolve()
        if path.is_relative_to(Path.cwd()):
            path = path.relative_to(Path.cwd())
        return f"{path}:{self.cls.__name__}"

    @property
    def description(self) -> str:
        return (inspect.getdoc(self.cls) or "").splitlines()[0]


@dataclass(frozen=True)
class Mutant(ClassUnderTest):
    """A class under test and the verdict it must get: ``"PASS"`` or the equation it breaks."""

    expected: str


CORRECT = [Mutant(Network, "PASS"), Mutant(Network2, "PASS"), Mutant(SoftmaxNetwork2, "PASS")]


def list_mutants() -> list[Mutant]:
    """Every mutant in :mod:`checker.mutants.catalogue`, in the order it is written."""
    classes = [
        cls
        for _, cls in inspect.getmembers(_catalogue, inspect.isclass)
        if cls.__module__ == _catalogue.__name__ and "intended" in vars(cls)
    ]
    classes.sort(key=lambda cls: inspect.getsourcelines(cls)[1])
    return [Mutant(cls, vars(cls)["intended"]) for cls in classes]
