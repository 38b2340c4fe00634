"""Map layers in the report (issue 25): per-channel maps of the disagreement (suite.diffmap's
``encode_channels``) and the max-pool's ties and near ties (errormodel.pool_ties), from the
records to the page. Expected values come from loops over the definitions written here, not
from the code under test."""

from __future__ import annotations

import html
import itertools
import json
import math
import re

import numpy as np
import pytest

from errormodel.pool_ties import count_pool_ties
from harness import report
from harness.cases import build_case, compare_one, oracle_output, pool_tie_fields
from reference import Architecture
from reference.layers import Conv, MaxPool
from suite import diffmap, results
from suite.architectures import MAPS, curated
from suite.results import Record
from tests import report_samples as rs

#: Half of one code step of the log scale: what an 8-bit code may be off by, in decades.
HALF_CODE = diffmap.DECADES / diffmap.LEVELS / 2
LENET = MAPS[0]
DEAD_RELUS = MAPS[6]  # 1x8x8-c3k3-mp2-3, relu before the pool: windows of tied zeros
DENSE = "2-3-1_sigmoid_quadratic_m4_s0"


def test_channel_maps_decode_to_each_channels_blockwise_largest_ratio():
    """Round trip: every pixel is the largest |Δ| / allowed over the samples and its block of
    positions, within half a code step (log scale)."""
    rng = np.random.default_rng(3)
    ours = rng.normal(size=(3, 20, 18, 2))
    theirs = ours + 10.0 ** rng.uniform(-15, -9, ours.shape)
    allowed = 1e-10
    entry = diffmap.encode_channels(ours, theirs, allowed, kernels=False)
    block = entry["block"]
    assert block == [2, 2] and entry["pooled"] == [10, 9]  # ≤ CHANNEL_SIDE a side
    decoded = diffmap.decode_channels(entry)
    for n, c in enumerate(entry["channels"]):
        for i, j in itertools.product(range(10), range(9)):
            cell = np.abs(ours - theirs)[c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, :] / allowed
            want = cell.max()
            assert abs(math.log10(decoded[n, i, j] / want)) <= HALF_CODE + 1e-12


def test_only_the_worst_channels_are_kept_and_the_rest_counted():
    """20 maps whose disagreement grows with their index: the 16 largest, worst first, and 4
    not shown; 3 maps: all kept."""
    ours = np.ones((20, 4, 4, 2))
    theirs = ours + np.arange(1, 21)[:, None, None, None] * 1e-12
    entry = diffmap.encode_channels(ours, theirs, 1e-10, kernels=False)
    assert entry["channels"] == list(range(19, 3, -1))
    assert entry["not_shown"] == 4
    worst = diffmap.decode_channels(entry).max(axis=(1, 2))
    want = np.arange(20, 4, -1) * 1e-12 / 1e-10
    assert np.abs(np.log10(worst / want)).max() <= HALF_CODE + 1e-9
    few = diffmap.encode_channels(ours[:3], theirs[:3], 1e-10, kernels=False)
    assert few["channels"] == [2, 1, 0] and few["not_shown"] == 0


def test_a_kernel_stack_is_one_panel_per_output_map_with_input_maps_tiled():
    """∂C/∂w (C_out, C_in, k_h, k_w): one difference at (o, c, u, v) = (1, 2, 1, 0) lies in
    output map 1's panel, tile (c // 2, c % 2) of a 2×2 grid (3 input maps: ⌈√3⌉ = 2 columns)."""
    ours = np.zeros((2, 3, 2, 3))
    theirs = ours.copy()
    theirs[1, 2, 1, 0] = 5e-13
    entry = diffmap.encode_channels(ours, theirs, 1e-12, kernels=True)
    assert entry["tiles"] == [2, 2] and entry["kernel"] == [2, 3]
    assert entry["shape"] == [4, 6] and entry["channels"][0] == 1
    panel = diffmap.decode_channels(entry)[0]
    row, col = (2 // 2) * 2 + 1, (2 % 2) * 3 + 0
    assert panel[row, col] == pytest.approx(0.5, rel=0.03)
    panel[row, col] = 0
    assert not panel.any()


def test_elements_an_oracle_left_out_are_drawn_as_no_difference():
    ours = np.zeros((1, 2, 2, 1))
    theirs = ours + 1.0
    left_out = np.zeros(ours.shape, bool)
    left_out[0, 0, 1, 0] = True
    panel = diffmap.decode_channels(diffmap.encode_channels(ours, theirs, 1.0, False, left_out))
    assert panel[0, 0, 1] == 0 and panel[0, 0, 0] == pytest.approx(1.0, rel=0.03)


def test_channel_maps_refuse_what_they_cannot_draw():
    with pytest.raises(ValueError, match="positive finite allowed"):
        diffmap.encode_channels(np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)), 0.0, False)
    with pytest.raises(ValueError, match="4-d map quantity"):
        diffmap.channel_panels(np.zeros((3, 2)), False)


def crafted_pool_input() -> tuple[np.ndarray, np.ndarray, float]:
    """One 4×4 map, four 2×2 windows (stride 2): a tie of two, a tie of three, a near tie (the
    runner-up within ε·(α_top + α_2) = 2ε of the maximum: half that below it) and a gap of
    four times the bound; α = 1 everywhere."""
    eps = float(np.finfo(np.float64).eps)
    a = np.array(
        [
            [0.5, 0.5, 0.9, 0.9],
            [0.1, 0.2, 0.9, 0.3],
            [1.0, 1.0 - eps, 1.0, 1.0 - 8 * eps],
            [0.0, 0.3, 0.1, 0.2],
        ]
    )[None, :, :, None]
    return a, np.ones_like(a), eps


def test_pool_ties_and_near_ties_are_counted_on_a_crafted_input():
    a, alpha, eps = crafted_pool_input()
    found = count_pool_ties(a, alpha, window=2, stride=2, eps=eps)
    assert (found.ties, found.near_ties) == (2, 1)
    # a larger bound (α = 4: 8ε) takes in the fourth window's gap too; α = 0 none
    assert count_pool_ties(a, 4 * alpha, 2, 2, eps).near_ties == 2
    assert count_pool_ties(a, 0 * alpha, 2, 2, eps).near_ties == 0
    # each entry's own bound: the maximum's α = 7 with the runner-up's 1 reaches 8ε
    uneven = alpha.copy()
    uneven[0, 2, 2, 0] = 7.0
    assert count_pool_ties(a, uneven, 2, 2, eps).near_ties == 2


def test_overlapping_windows_count_each_window():
    """Stride 1 over a 3×3 map of equal values: every one of the four 2×2 windows is tied."""
    a = np.ones((1, 3, 3, 1))
    found = count_pool_ties(a, np.zeros_like(a), window=2, stride=1, eps=1e-16)
    assert (found.ties, found.near_ties) == (4, 0)


def test_the_gate_case_counts_the_dead_relus_pool_ties():
    """Relu before the pool: windows of zeros are ties; counted as a loop over every window of
    the reference's own a^{l−1} finds them."""
    from reference import forward_backward

    case = build_case(DEAD_RELUS)
    fwd, _ = forward_backward(DEAD_RELUS, case.params, case.batch.x, case.batch.y)
    a = fwd.activations[1]  # a² (3 maps, 6×6, 3 samples): 3×3 windows of 2×2 per map
    tied = 0
    for c, i, j, x in itertools.product(range(3), range(3), range(3), range(3)):
        window = a[c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, x]
        tied += np.count_nonzero(window == window.max()) > 1
    assert tied > 0 and case.pool_ties[3].ties == tied
    fields = pool_tie_fields(DEAD_RELUS, "delta", 3, np.float64, {"kind": "not_applicable"})
    assert fields == {"ties": tied, "near_ties": case.pool_ties[3].near_ties}
    for quantity, layer in (("delta", 2), ("nabla_w", 2)):
        assert (
            pool_tie_fields(DEAD_RELUS, quantity, layer, np.float64, {"kind": "comparison"}) == {}
        )
    assert pool_tie_fields(DEAD_RELUS, "delta", 3, np.float64, {"kind": "error"}) == {}


def gate_records(arch: Architecture, oracle: str = "torch") -> list[dict]:
    """Every comparison record the gate makes of ``arch`` against ``oracle`` (as the gate
    builds it: tests/test_gate.py's comparison)."""
    case = build_case(arch)
    theirs = oracle_output(arch, oracle)
    out = []
    for quantity, layer, _ in case.reference.items():
        compared = compare_one(case, theirs.gradients, oracle, quantity, layer)
        arrays = (case.reference.get(quantity, layer), theirs.gradients.get(quantity, layer))
        rec = results.comparison_record(
            arch, compared, "float64", arrays, theirs.mask(quantity, layer)
        )
        rec |= pool_tie_fields(arch, quantity, layer, np.float64, rec)
        test = f"tests/test_gate.py::t[{arch.id}-{quantity}-{layer}]"
        out.append(json.loads(json.dumps({"test": test, **rec})))  # as the file holds it
    return out


def test_dense_records_carry_no_new_field():
    for rec in gate_records(curated(DENSE), "jax"):
        assert not {"channel_maps", "ties", "near_ties"} & set(rec)


def test_map_records_carry_channel_maps_and_pool_ties_and_read_back_unchanged():
    arch = MAPS[5]  # 1x7x7-c2k3-mp3s1-3: conv, overlapping pool, dense
    recs = {(r["quantity"], r["layer"]): r for r in gate_records(arch)}
    with_maps = {key for key, r in recs.items() if "channel_maps" in r}
    assert with_maps == {("delta", 2), ("delta", 3), ("nabla_w", 2)}
    assert {key for key, r in recs.items() if "ties" in r} == {("delta", 3)}
    for rec in recs.values():
        assert Record.from_dict(rec).to_dict() == rec
    with pytest.raises(ValueError, match="ties is -1, not a count"):
        Record.from_dict(recs["delta", 3] | {"ties": -1})


def test_the_lenet_like_records_stay_small():
    """README "The report": a channel-mapped record of the LeNet-like net is a few kB."""
    sizes = [
        len(json.dumps(r, sort_keys=True, separators=(",", ":")))
        for r in gate_records(LENET)
        if "channel_maps" in r
    ]
    assert len(sizes) == 6 and max(sizes) < 6000


def page_of(records: list[dict]) -> str:
    """The report's page of these records, as text (its entities unescaped)."""
    page = report.render({"schema": results.SCHEMA, "environment": rs.ENV, "records": records})
    return html.unescape(page)


def test_the_report_shows_a_map_nets_channel_panels():
    page = page_of(gate_records(MAPS[5]))
    assert page.count('<figure class="channels">') == 3  # δ², δ³, ∂C/∂w²
    assert "per channel: |reference − torch| / allowed" in page
    assert "|reference − oracle| / allowed" in page  # the colour bar's units
    assert re.search(r"c=\d: ", page) and re.search(r"o=\d: ", page)  # channel labels
    assert "every channel shown" in page


def test_the_report_says_how_many_channels_it_left_out():
    recs = gate_records(MAPS[7])  # 2x6x6-c3k3-mp2-c2k2-3: three maps, and a stack of 3×2
    shrunk = []
    for rec in recs:
        if "channel_maps" in rec:  # as if only one channel had been kept of each
            entry = dict(rec["channel_maps"])
            codes = diffmap.decode_channels(entry)[:1]
            entry["max"], entry["codes"] = diffmap.quantize(codes)
            entry["not_shown"] += len(entry["channels"]) - 1
            entry["channels"] = entry["channels"][:1]
            rec = rec | {"channel_maps": entry}
        shrunk.append(rec)
    page = page_of(shrunk)
    assert "2 channels not shown" in page


def test_pool_ties_are_counted_in_the_report_and_a_failed_pool_says_its_argmax_may_move():
    recs = gate_records(DEAD_RELUS, "jax")
    ties = build_case(DEAD_RELUS).pool_ties[3]
    page = page_of(recs)
    assert f"<b>{ties.ties}</b>pool windows tied, {ties.near_ties} near ties" in page
    assert f"{ties.ties} ties</span>" in page  # the pool δ³ cell, like an FD kink count
    pool = next(r for r in recs if "ties" in r)
    failed = pool | {"max_abs": 3 * pool["allowed"], "ratio": 3.0, "passed": False}
    page = page_of([failed if r is pool else r for r in recs])
    want = f"the pool's argmax may move: {ties.ties} ties, {ties.near_ties} near ties"
    assert want in page
    dense = gate_records(curated(DENSE), "jax")
    assert "pool windows tied" not in page_of(dense) and "argmax" not in page_of(dense)


def test_a_pool_tie_count_is_counted_once_per_layer_not_per_judge():
    recs = gate_records(DEAD_RELUS, "jax") + gate_records(DEAD_RELUS, "torch")
    ties = build_case(DEAD_RELUS).pool_ties[3].ties
    assert f"<b>{ties}</b>pool windows tied" in page_of(recs)


def test_a_conv_layers_kernel_stack_needs_its_own_shape():
    """The LeNet-like net's ∂C/∂w⁴ (40, 20, 5, 5): 20 input maps in a 4×5 grid of 5×5 tiles,
    pooled to ≤ 16 a side; its 24 other output maps counted."""
    rec = next(r for r in gate_records(LENET) if r["quantity"] == "nabla_w" and r["layer"] == 4)
    entry = rec["channel_maps"]
    assert entry["tiles"] == [4, 5] and entry["shape"] == [20, 25]
    assert max(entry["pooled"]) <= diffmap.CHANNEL_SIDE and entry["not_shown"] == 24
    assert isinstance(LENET.layers[2], Conv) and isinstance(LENET.layers[1], MaxPool)
