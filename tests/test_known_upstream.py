"""oracles.known_upstream: the known-bugs file loads, bad entries are named in one line, a
comparison matches the entry that explains it, and the mark is a strict xfail with the link."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracles import known_upstream
from oracles.known_upstream import KnownBug, KnownBugsError

#: The seven upstream issues issue 21 names; each must be in the file.
ISSUES = {
    "pytorch#195677",
    "pytorch#195529",
    "jax-ml/jax#40385",
    "jax-ml/jax#40342",
    "pytorch#195680",
    "pytorch#195684",
    "jax-ml/jax#40384",
}

GOOD = """
[[bug]]
id = "pytorch#1"
url = "https://github.com/pytorch/pytorch/issues/1"
framework = "torch"
op = "torch.sigmoid (backward)"
summary = "grad at 40 returns 0"
versions = ["2.13.0"]
cases = ["*_sigmoid_*-torch-delta-layer2", "tails_*-torch-*"]
oracles = ["torch", "forward_mode"]

[[bug]]
id = "jax:tanh-grad-19.4"
framework = "jax"
op = "jax.grad(jnp.tanh)"
summary = "grad at 19.4 off by 30x"
versions = ["0.10.2"]
fixed_in = "0.11.0"
cases = ["*-jax-delta-layer*"]
oracles = ["jax"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_project_file_loads_and_holds_the_issues_named_in_issue_21() -> None:
    bugs = known_upstream.load()
    assert {b.id for b in bugs} >= ISSUES
    for bug in bugs:
        assert bug.versions and bug.oracles, bug.id
        if "#" in bug.id:
            assert bug.url and bug.url.endswith("/issues/" + bug.id.rsplit("#", 1)[1])


def test_an_entry_reads_into_a_frozen_record(tmp_path: Path) -> None:
    first, second = known_upstream.load(write(tmp_path, GOOD))
    assert first == KnownBug(
        id="pytorch#1",
        url="https://github.com/pytorch/pytorch/issues/1",
        framework="torch",
        op="torch.sigmoid (backward)",
        summary="grad at 40 returns 0",
        versions=("2.13.0",),
        cases=("*_sigmoid_*-torch-delta-layer2", "tails_*-torch-*"),
        oracles=("torch", "forward_mode"),
    )
    assert second.url is None and second.fixed_in == "0.11.0"
    with pytest.raises(AttributeError):
        first.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('op = "torch.sigmoid (backward)"\n', "", "bug 1 (pytorch#1): missing op"),
        (
            'versions = ["2.13.0"]',
            'versions = ["2.13.0"]\ncolour = "red"',
            "unknown keys ['colour']",
        ),
        ('framework = "torch"', 'framework = "tensorflow"', "framework 'tensorflow'"),
        (
            'issues/1"',
            'issues/2"',
            "the issue's url is https://github.com/pytorch/pytorch/issues/1",
        ),
        ('id = "pytorch#1"', 'id = "pytorch#one"', "is neither an issue"),
        ('id = "jax:tanh-grad-19.4"', 'id = "torch:tanh-grad-19.4"', "names another framework"),
        ('oracles = ["jax"]', 'oracles = ["torch"]', "cannot show a jax bug"),
        ('versions = ["2.13.0"]', "versions = []", "versions is empty"),
        ('versions = ["2.13.0"]', 'versions = "2.13.0"', "versions must be a list"),
        ('fixed_in = "0.11.0"', 'fixed_in = "soon"', "'soon' is not a version"),
        ('oracles = ["jax"]\n', 'oracles = ["jax"]\n' + GOOD, "bug 3 (pytorch#1): duplicate id"),
        ('summary = "grad at 40 returns 0"', "summary = 3", "summary must be a non-empty string"),
    ],
)
def test_a_malformed_entry_is_named_in_one_line(
    tmp_path: Path, old: str, new: str, says: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(KnownBugsError) as caught:
        known_upstream.load(path)
    message = str(caught.value)
    assert says in message and "\n" not in message and str(path) in message


def test_an_unreadable_file_is_one_line_too(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.toml", write(tmp_path, "[[bug]\nid = 1")):
        with pytest.raises(KnownBugsError, match="cannot read the known-bugs file"):
            known_upstream.load(path)
    with pytest.raises(KnownBugsError, match="unknown top-level keys"):
        known_upstream.load(write(tmp_path, "[bugs]\n"))


def test_matching_needs_the_oracle_and_a_pattern(tmp_path: Path) -> None:
    bugs = known_upstream.load(write(tmp_path, GOOD))
    hit = "3-4-2_sigmoid_quadratic_m3_s0-torch-delta-layer2"
    assert known_upstream.matching(hit, "torch", bugs) is bugs[0]
    assert known_upstream.matching("tails_x-torch-nabla_w-layer3", "torch", bugs) is bugs[0]
    assert known_upstream.matching(hit.replace("layer2", "layer3"), "torch", bugs) is None
    assert known_upstream.matching(hit, "jax", bugs) is None  # the pattern, but not its oracle
    assert known_upstream.matching(hit, "fd", bugs) is None


def test_a_fixed_entry_stops_matching_from_its_version_on(tmp_path: Path) -> None:
    fixed = known_upstream.load(write(tmp_path, GOOD))[1]
    assert fixed.active("0.10.2") and not fixed.active("0.11.0") and not fixed.active("0.12.1")
    installed = known_upstream.installed_version("jax")
    assert installed is not None
    cid = "3-4-2_tanh_quadratic_m3_s0-jax-delta-layer2"
    expected = fixed if known_upstream._release(installed) < (0, 11) else None
    assert known_upstream.matching(cid, "jax", [fixed]) == expected


def test_the_mark_is_a_strict_xfail_with_the_link(tmp_path: Path) -> None:
    bugs = known_upstream.load(write(tmp_path, GOOD))
    mark = known_upstream.xfail_mark("tails_a-torch-delta-layer4", "torch", bugs)
    assert mark is not None and mark.name == "xfail"
    assert mark.kwargs == {
        "strict": True,
        "reason": "pytorch#1 https://github.com/pytorch/pytorch/issues/1: grad at 40 returns 0",
    }
    assert known_upstream.xfail_mark("tails_a-fd-delta-layer4", "fd", bugs) is None


def test_two_reports_of_one_bug_are_both_named_in_the_mark() -> None:
    """pytorch#195677 and #195529 (functional and module BCE-with-logits), jax#40385 and #40342
    (sigmoid's grad at 37.43 and 40) show on the same gate comparisons: each issue named in
    issue 21 is the reason of some strict xfail."""
    bugs = known_upstream.load()
    for first, second in [
        ("pytorch#195677", "pytorch#195529"),
        ("jax-ml/jax#40385", "jax-ml/jax#40342"),
    ]:
        entry = next(b for b in bugs if b.id == second)
        assert entry.cases, second
        cid = entry.cases[0].replace("*", "delta")
        mark = known_upstream.xfail_mark(cid, entry.oracles[0], bugs)
        assert mark is not None and first in mark.kwargs["reason"]
        assert second in mark.kwargs["reason"]
        assert known_upstream.matching(cid, entry.oracles[0], bugs).id == first


def test_a_comparison_it_marks_fails_the_run_when_the_bug_is_fixed(
    pytester: pytest.Pytester,
) -> None:
    """Strict: the marked comparison passing (a fixed upstream bug) makes the run fail."""
    pytester.makepyfile(
        """
        import pytest
        from oracles.known_upstream import KnownBug, xfail_mark

        BUG = KnownBug("torch:x", None, "torch", "op", "s", ("2.13.0",), None, ("c*",), ("torch",))

        @pytest.mark.parametrize(
            "fixed", [pytest.param(f, marks=xfail_mark("c1", "torch", [BUG])) for f in (0, 1)]
        )
        def test_cmp(fixed):
            assert fixed
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-o", "addopts=")
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*torch:x (no upstream issue yet): s*"])


def test_the_entries_kept_for_an_architecture_explain_what_every_entry_explains():
    """for_architecture (the gate's per-net shortlist) loses no match: over every comparison id
    of the default gate's nets (known bugs' nets included) and of ids made to fit each entry's
    patterns, the shortlist's matches are all the entries' matches."""
    from harness.gate_ids import comparison_id
    from oracles import ORACLES
    from reference import QUANTITIES
    from suite.architectures import CURATED, MAPS, TAILS, TRUTH_SAMPLE

    judges = [*ORACLES, *(f"{o}~exact" for o in ORACLES)]
    ids = {
        arch.id: [
            (comparison_id(arch.id, judge, quantity, layer), judge.removesuffix("~exact"))
            for judge in judges
            for quantity in QUANTITIES
            for layer in range(2, 7)
        ]
        for arch in CURATED + TAILS + MAPS + TRUTH_SAMPLE
    }
    for bug in known_upstream.load(known_upstream.DEFAULT_PATH):
        for pattern in bug.cases:  # an id the pattern names: its wildcards filled
            concrete = pattern.replace("*", "delta").replace("?", "2")
            arch_id = concrete.split(f"-{bug.oracles[0]}")[0]
            ids.setdefault(arch_id, []).append((concrete, bug.oracles[0]))
    matched = 0
    for arch_id, comparisons in ids.items():
        shortlist = known_upstream.for_architecture(arch_id)
        for cid, oracle in comparisons:
            every = known_upstream.all_matching(cid, oracle)
            assert known_upstream.all_matching(cid, oracle, shortlist) == every, cid
            matched += bool(every)
    assert matched > 40  # the known bugs' own comparisons were among them
