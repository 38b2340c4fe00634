"""The correct book network, as this folder's ``network`` module."""

from checker.mutants.book_network import Network  # noqa: F401
