"""The cross-validation harness: architectures as cases, tolerances, and the comparison."""
