"""An implementation under test, one test per case: ``pytest --impl path/to/file.py:ClassName``.

The tests live in the package (:mod:`checker.pytest_cases`) so that an installed checker has
them in any repository; here they run on this project's correct implementations when no
``--impl`` is given (with ``--impl`` the plugin collects the package's module instead).
"""

from checker.pytest_cases import pytest_generate_tests, test_implementation_agrees_with_reference

__all__ = ["pytest_generate_tests", "test_implementation_agrees_with_reference"]
