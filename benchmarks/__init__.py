"""Speed measurements (``nox -s bench``); not part of the test suite."""
