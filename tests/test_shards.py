"""The gate split over machines (pytest-split) and merged (harness.shards) equals the unsharded
run: the same comparisons with the same verdicts; a missing, doubled, short or failed shard
makes the merge fail."""

from __future__ import annotations

import json
from pathlib import Path

from harness import shards
from suite import results
from tests.test_runs import gate_run

SPLITS = 3
COMMON = ["--random-count", "4", "--random-seed", "3"]


def records(path: Path) -> list[dict[str, object]]:
    return list(json.loads(path.read_text())["records"])


def test_three_shards_merged_equal_the_unsharded_run(pytester, capsys):
    """Shard 1 runs over two xdist workers (its counts come from a worker), 2 and 3 in-process."""
    whole = gate_run(pytester, *COMMON, "--results", "whole.json")
    assert whole.ret == 0
    parts = []
    for group in range(1, SPLITS + 1):
        xdist = ["-n", "2"] if group == 1 else []
        args = ["--splits", str(SPLITS), "--group", str(group), *xdist]
        result = gate_run(pytester, *COMMON, *args, "--results", f"shard-{group}.json")
        assert result.ret == 0, result.stdout.str()
        parts.append(pytester.path / f"shard-{group}.json")
    unsharded = records(pytester.path / "whole.json")
    sizes = [len(records(p)) for p in parts]
    assert all(sizes) and sum(sizes) == len(unsharded)  # each shard ran a part
    info = [json.loads(p.read_text())["environment"]["shard"] for p in parts]
    assert [i["group"] for i in info] == [1, 2, 3]
    assert {i["collected"] for i in info} == {len(unsharded)}
    merged = pytester.path / "merged.json"
    assert shards.main([*map(str, reversed(parts)), "--out", str(merged), "--expect", "3"]) == 0
    assert records(merged) == unsharded  # the same tests, comparisons and verdicts
    assert "comparisons" in capsys.readouterr().out  # the summary table


def fake_shards(folder: Path, passed: tuple[bool, ...] = (True,) * 6) -> list[Path]:
    """Three shards of a run of six comparisons (two each), as results files; a failed one has an
    error twice its allowed (the readers recompute a verdict from the numbers)."""
    paths = []
    for group in range(1, SPLITS + 1):
        recs = [
            (
                f"t::test[{i}]",
                {
                    "kind": "comparison",
                    "oracle": "torch",
                    "quantity": "delta",
                    "layer": 2,
                    "ratio": 0.5 if passed[i] else 2.0,
                    "max_abs": 0.5e-15 if passed[i] else 2e-15,
                    "max_rel": 1e-15,
                    "allowed": 1e-15,
                    "passed": passed[i],
                    "excluded": 0,
                },
            )
            for i in (2 * group - 2, 2 * group - 1)
        ]
        shard = {"group": group, "splits": SPLITS, "collected": 6, "selected": 2}
        env = {"random_seed": 0, "random_count": 0, "git_commit": "x", "shard": shard}
        paths.append(folder / f"shard-{group}.json")
        results.write(paths[-1], recs, env)
    return paths


def test_a_missing_or_doubled_shard_fails_the_merge(tmp_path, capsys):
    parts = fake_shards(tmp_path)
    out = tmp_path / "merged.json"
    assert shards.main([*map(str, parts), "--out", str(out)]) == 0
    out.unlink()
    assert shards.main([str(parts[0]), str(parts[2]), "--out", str(out)]) == 1
    assert "missing shard(s) 2 of 3" in capsys.readouterr().err
    assert shards.main([*map(str, parts), str(parts[1]), "--out", str(out)]) == 1
    assert "shard(s) given twice: 2" in capsys.readouterr().err
    assert shards.main([*map(str, parts), "--out", str(out), "--expect", "4"]) == 1
    assert "expected 4" in capsys.readouterr().err
    assert not out.exists()


def test_a_short_or_failed_shard_fails_the_merge(tmp_path, capsys):
    parts = fake_shards(tmp_path)
    data = json.loads(parts[1].read_text())
    data["records"].pop()  # a shard that stopped early
    parts[1].write_text(json.dumps(data))
    out = str(tmp_path / "merged.json")
    assert shards.main([*map(str, parts), "--out", out]) == 1
    assert "selected 2 comparisons but recorded 1" in capsys.readouterr().err
    failing = fake_shards(tmp_path, passed=(True, True, True, False, True, True))
    assert shards.main([*map(str, failing), "--out", out]) == 1  # merged, but one failed


def test_a_results_file_of_an_unsharded_run_is_refused(tmp_path, capsys):
    whole = tmp_path / "whole.json"
    results.write(whole, [], {"random_seed": 0})
    assert shards.main([str(whole), "--out", str(tmp_path / "m.json")]) == 1
    assert "not a shard" in capsys.readouterr().err
