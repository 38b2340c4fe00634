"""What a one-bug mutant's verdict must say, for the layer-function and the conv-network
checkers alike: its planted bug's equation and layer first, with the intended cause, and only
equations' findings (no fault of form)."""

from __future__ import annotations

from typing import Any

from checker.layer_verdict import EQUATIONS


def assert_named_as_intended(
    verdict: Any, name: str, intended: tuple[str, str, str], *, every_cause_a_known_bug: bool
) -> None:
    """``verdict`` (a LayerVerdict) names ``intended`` = (label, layer, a phrase of the cause)
    first; with ``every_cause_a_known_bug`` no finding is an unnamed mismatch (a "≠" cause)."""
    label, layer, phrase = intended
    causes = verdict.causes()
    assert causes, verdict.line()
    _, _, headline = causes[0]
    assert (headline.label, headline.layer) == (label, layer), verdict.line()
    assert phrase in headline.cause, verdict.line()
    for _, _, finding in causes:
        assert finding.label in EQUATIONS, f"{finding.heading}: {finding.message}"
        if every_cause_a_known_bug:
            assert "≠" not in finding.cause, f"{finding.heading}: {finding.message}"
    assert verdict.line().startswith(f"FAIL {label} ({layer}): {name}: ")
