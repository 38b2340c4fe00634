"""A wrong network (BP1 without σ'(z^L)), as this folder's ``network`` module."""

from checker.mutants.catalogue import OutputErrorWithoutPrime as Network  # noqa: F401
