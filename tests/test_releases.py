"""The release matrix's pure parts (harness.releases): session arguments, rows from the gate's
records, the cross-release table, regressions and the known-bugs disagreements. Fake
per-release documents only: nothing is installed or run here."""

from __future__ import annotations

import json

import pytest

from harness import releases
from harness.releases import Release, ReleaseError
from oracles.known_upstream import KnownBug


def test_no_arguments_select_every_release_of_the_matrix():
    chosen = releases.select([])
    assert [r.spec for r in chosen] == list(releases.RELEASES)


def test_one_spec_selects_that_release_and_its_pins():
    (chosen,) = releases.select(["jax==0.10.1"])
    assert chosen == Release("jax", "0.10.1")
    assert chosen.requirements() == ["jax==0.10.1", "jaxlib==0.10.1"]
    assert chosen.environment()[2:] == ["torch==2.13.0"]
    assert chosen.name == "jax-0.10.1"


def test_a_framework_name_selects_its_releases_once():
    chosen = releases.select(["torch", "torch==2.13.0"], known=("torch==2.13.0", "jax==0.9.2"))
    assert chosen == [Release("torch", "2.13.0")]


@pytest.mark.parametrize(
    ("spec", "words"),
    [("jax=0.10.1", "FRAMEWORK==VERSION"), ("numpy==2.0", "framework"), ("jax==latest", "==")],
)
def test_a_bad_release_is_one_line_naming_it(spec, words):
    with pytest.raises(ReleaseError, match=words) as info:
        releases.select([spec])
    assert spec in str(info.value) and "\n" not in str(info.value)


def test_releases_order_by_number_not_text():
    assert releases.release_tuple("0.10.1") > releases.release_tuple("0.9.2")
    assert releases.release_tuple("2.13.0+cpu") == (2, 13, 0)


def _record(arch_id, oracle, quantity, max_abs, allowed, ulps=None, known=None):
    rec = {
        "kind": "comparison",
        "oracle": oracle,
        "quantity": quantity,
        "arch": {"id": arch_id},
        "max_abs": max_abs,
        "allowed": allowed,
        "passed": True,  # a forged flag: rows recompute from max_abs and allowed
        "test": f"tests/test_gate.py::t[{arch_id}-{oracle}-{quantity}-layer2]",
    }
    if ulps is not None:
        rec["worst"] = {"ulps": ulps}
    if known:
        rec["known_bug"] = {"id": known, "url": f"https://example.invalid/{known}"}
    return rec


def test_rows_keep_the_worst_comparison_of_each_family_quantity_and_path():
    records = [
        _record("t1", "jax~exact", "delta", 1e-18, 1e-17, ulps=0.5),
        _record("t2", "jax~exact", "delta", 5e-17, 1e-17, ulps=300.0, known="jax#1"),
        _record("c1", "jax", "delta", 1e-18, 1e-16),
        _record("c1", "torch", "delta", 1.0, 1e-16),  # another framework: not this release's
        _record("r_softmax", "jax", "nabla_w", 0.0, 0.0),
    ]
    rows = releases.gate_checks(records, "jax", tails=["t1", "t2"], curated=["c1"])
    by_key = {(r["family"], r["quantity"], r["path"]): r for r in rows}
    assert set(by_key) == {
        ("tails", "delta", "grad vs truth"),
        ("curated", "delta", "grad vs reference"),
        ("softmax", "nabla_w", "grad vs reference"),
    }
    tails = by_key["tails", "delta", "grad vs truth"]
    assert tails["ratio"] == pytest.approx(5.0) and tails["ulps"] == 300.0
    assert tails["known_bug"]["id"] == "jax#1" and "t2-jax~exact" in tails["case"]
    assert by_key["curated", "delta", "grad vs reference"]["ratio"] == pytest.approx(0.01)
    assert by_key["softmax", "nabla_w", "grad vs reference"]["ratio"] == 0.0


def test_a_forged_passed_flag_does_not_hide_an_error_over_its_bound():
    rows = releases.gate_checks(
        [_record("c1", "torch", "delta", 3e-16, 1e-16)], "torch", [], ["c1"]
    )
    assert rows[0]["ratio"] == pytest.approx(3.0)
    assert releases.cell_class(rows[0]) == "bad"


def _doc(framework, version, ratio, ulps=None, known=None, upstream=()):
    row = releases.check_row(
        "large", "delta", "per-example", ratio, ulps, f"case-{version}",
        {"id": known, "url": None} if known else None,
    )  # fmt: skip
    return {"framework": framework, "version": version, "checks": [row], "upstream": upstream}


def test_the_table_orders_releases_and_flags_a_regression():
    docs = [
        _doc("jax", "0.10.2", 1e6, ulps=4e9),
        _doc("jax", "0.9.2", 0.2),
        _doc("jax", "0.10.1", 0.3),
    ]
    table = releases.build_table(docs)
    assert table["columns"] == ["jax-0.9.2", "jax-0.10.1", "jax-0.10.2"]
    (row,) = table["rows"]
    assert [releases.cell_class(c) for c in row["cells"]] == ["ok", "ok", "bad"]
    (line,) = table["regressions"]
    assert "right on 0.10.1, wrong on 0.10.2" in line and "case-0.10.2" in line
    text = releases.summary(table)
    assert "REGRESSIONS" in text and "4e+09 ulp!" in text


def test_wrong_everywhere_or_fixed_later_is_no_regression():
    always = [_doc("torch", "2.13.0", 5.0), _doc("torch", "2.14.1", 5.0)]
    fixed = [_doc("jax", "0.9.2", 5.0), _doc("jax", "0.10.1", 0.5)]
    assert releases.build_table(always)["regressions"] == []
    table = releases.build_table(always + fixed)
    assert table["regressions"] == []
    assert "no regressions" in releases.summary(table)
    jax_row = next(r for r in table["rows"] if r["framework"] == "jax")
    assert jax_row["cells"][2:] == [None, None]  # the torch columns of a jax row


def test_a_known_bug_cell_shows_its_link(tmp_path):
    table = releases.build_table([_doc("jax", "0.10.2", 9.0, known="jax-ml/jax#7")])
    assert releases.cell_class(table["rows"][0]["cells"][0]) == "known"
    page = tmp_path / "releases.html"
    releases.render_html(table, ["a note"], page)
    html = page.read_text(encoding="utf-8")
    assert "jax-ml/jax#7" in html and 'class="known"' in html and "a note" in html
    assert 'href="#"' not in html  # no issue yet: the id, no dead link
    doc = _doc("jax", "0.10.2", 9.0, known="jax-ml/jax#7")
    doc["checks"][0]["known_bug"]["url"] = "https://github.com/jax-ml/jax/issues/7"
    releases.render_html(releases.build_table([doc]), [], page)
    assert '<a href="https://github.com/jax-ml/jax/issues/7">jax-ml/jax#7</a>' in page.read_text(
        encoding="utf-8"
    )


def test_a_known_bugs_reproduction_is_a_row_and_its_regression_is_flagged():
    """jax-ml/jax#39103's shape: a forward value no gradient program takes, right on 0.10.1 and
    wrong on 0.10.2 in its reproduction (harness.upstream): the table flags it."""
    right = {"id": "jax-ml/jax#39103", "status": "not reproduced", "ratio": 0.0, "ulps": 0.0}
    wrong = right | {"status": "reproduced", "ratio": 4.4e12, "ulps": 3.5e13, "case": "row 16384"}
    docs = [
        _doc("jax", "0.10.1", 0.1, upstream=[right]),
        _doc("jax", "0.10.2", 0.1, upstream=[wrong, {"id": "jax:x", "status": "error"}]),
    ]
    table = releases.build_table(docs)
    rows = [r for r in table["rows"] if r["family"] == releases.REPRODUCTIONS]
    assert [r["quantity"] for r in rows] == ["jax-ml/jax#39103"]  # one that could not run: none
    assert [releases.cell_class(c) for c in rows[0]["cells"]] == ["ok", "known"]
    assert table["regressions"] == [
        "jax known bugs jax-ml/jax#39103 reproduction: right on 0.10.1, wrong on 0.10.2 "
        "(3.5e+13 ulp, case row 16384) (known: jax-ml/jax#39103)"
    ]


def _bug(versions):
    return KnownBug("jax-ml/jax#9", None, "jax", "op", "summary", tuple(versions))


def test_disagreements_name_each_release_the_versions_get_wrong():
    docs = [
        _doc("jax", "0.10.1", 0.1, upstream=[{"id": "jax-ml/jax#9", "status": "reproduced"}]),
        _doc("jax", "0.10.2", 0.1, upstream=[{"id": "jax-ml/jax#9", "status": "not reproduced"}]),
        _doc("jax", "0.9.2", 0.1, upstream=[{"id": "jax-ml/jax#9", "status": "error"}]),
    ]
    lines = releases.disagreements([_bug(["0.10.2"])], docs)
    assert lines == [
        "jax-ml/jax#9: reproduced on jax 0.10.1, which its versions ['0.10.2'] do not list",
        "jax-ml/jax#9: not reproduced on jax 0.10.2, which its versions ['0.10.2'] list",
    ]
    assert releases.disagreements([_bug(["0.10.1"])], docs) == []


def test_a_malformed_release_file_is_one_line_naming_it(tmp_path, capsys):
    bad = tmp_path / "jax-0.1.json"
    bad.write_text(json.dumps({"framework": "jax"}), encoding="utf-8")
    assert releases.main([str(bad), "--html", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and err.count("\n") == 1


def test_main_prints_the_table_and_writes_the_page(tmp_path, capsys):
    files = []
    for doc in (_doc("jax", "0.10.1", 0.5), _doc("jax", "0.10.2", 50.0)):
        path = tmp_path / f"jax-{doc['version']}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        files.append(str(path))
    assert releases.main([*files, "--html", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "REGRESSIONS" in out and "right on 0.10.1, wrong on 0.10.2" in out
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count("<tr>") == 2
