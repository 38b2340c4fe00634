"""The report's figures as inline SVG strings (matplotlib's object API, no pyplot, no display).

Four figures: the distribution of error/allowed over all comparisons, the heatmap of a pooled
∂C/∂w difference (suite.diffmap), a map quantity's per-channel |Δ| / allowed, and ‖δ^l‖ per
layer. Text stays text (``svg.fonttype``
``none``) so figures are small, and a fixed hash salt with no date makes the same data give the
same bytes. Every SVG's ids get a prefix, so many figures can share one HTML page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import LogFormatter, NullFormatter

from suite import diffmap

RC: dict[Any, Any] = {  # matplotlib types its keys as literals
    "svg.fonttype": "none",
    "svg.hashsalt": "backprop-crossval",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # the page's CSS falls back to any sans-serif
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
ORACLE_COLOURS = ("#1f77b4", "#d95f02", "#7570b3", "#1b9e77", "#e7298a", "#66a61e")
_ID = re.compile(r'\bid="([^"]+)"')
_REFERENCE = re.compile(r'(url\(#|href="#)([^")]+)')


def _svg(fig: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element for inline HTML: without metadata, without the ids
    nothing refers to, and with the rest prefixed by ``prefix`` so figures on a page never clash.
    """
    buf = io.StringIO()
    with mpl.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r">\s+<", "><", svg)
    used = {m.group(2) for m in _REFERENCE.finditer(svg)}
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"' if m.group(1) in used else "", svg)
    svg = re.sub(r"<g\s*>", "<g>", svg)
    return _REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)


def _plain_log_labels(axis: Any) -> None:
    """Label a log axis 1e-12, not 10^{−12}: mathtext labels take most of the drawing time."""
    axis.set_major_formatter(LogFormatter(labelOnlyBase=True))
    axis.set_minor_formatter(NullFormatter())


def _figure(width: float, height: float) -> Figure:
    with mpl.rc_context(RC):
        return Figure(figsize=(width, height))


def _axes(fig: Figure, left: float, right: float, bottom: float, top: float) -> Any:
    """An axes with fixed margins in inches (a layout engine would triple the drawing time)."""
    w, h = fig.get_size_inches()
    return fig.add_axes((left / w, bottom / h, 1 - (left + right) / w, 1 - (bottom + top) / h))


def superscript(n: int | str) -> str:
    """w⁵ rather than w^5, without mathtext."""
    return str(n).translate(str.maketrans("0123456789-l", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ˡ"))


def ratio_decades(ratios: Sequence[float], tail: float = 1.0) -> tuple[int, int]:
    """The decades [10^low, 10^high] the histogram spans: from the ``tail`` percentile of the
    positive finite ratios up to the largest, and at least 10^-1 to 10^1 so the allowed line is in
    view.
    A few ratios far below (a comparison whose error underflows to 1e-300) would otherwise stretch
    the axis over hundreds of decades with every other value piled in a few bins."""
    finite = [r for r in ratios if 0 < r < math.inf]
    if not finite:
        return -6, 1
    low = math.floor(math.log10(float(np.percentile(finite, tail))))
    high = max(1, math.ceil(math.log10(max(finite))))
    return min(low, -1), high


def ratio_histogram(ratios: Mapping[str, Sequence[float]], prefix: str) -> str:
    """How far below (or above) its allowed error each comparison lies, one line per oracle."""
    with mpl.rc_context(RC):
        fig = _figure(6.4, 2.4)
        ax = _axes(fig, 0.6, 0.15, 0.45, 0.1)
        low, high = ratio_decades([r for rs in ratios.values() for r in rs])
        edges = np.logspace(low, high, 4 * (high - low) + 1)
        below = 0
        for colour, (oracle, rs) in zip(ORACLE_COLOURS * 4, sorted(ratios.items()), strict=False):
            values = np.clip([r for r in rs if r > 0], edges[0], edges[-1])
            below += sum(1 for r in rs if r < edges[0])
            ax.hist(values, edges, histtype="step", lw=1.6, color=colour, label=oracle)
        if below:
            ax.text(
                0.0,
                0.97,
                f" {below} below 1e{low} (exact zeros included) in the first bin",
                ha="left",
                va="top",
                fontsize=7,
                transform=ax.transAxes,
            )
        ax.axvline(1.0, color="#b2182b", lw=1.2, ls="--")
        ax.text(
            1.0,
            0.97,
            "allowed ",
            color="#b2182b",
            ha="right",
            va="top",
            transform=ax.get_xaxis_transform(),
        )
        ax.set_xscale("log")
        _plain_log_labels(ax.xaxis)
        ax.set_xlabel("max |reference − oracle| / allowed, one comparison (a quantity of a layer)")
        ax.set_ylabel("comparisons")
        ax.legend(frameon=False, loc="upper left")
        return _svg(fig, prefix)


def heatmap(
    entry: Mapping[str, Any], layer: int, title: str, worst: Sequence[int], prefix: str
) -> str:
    """The pooled |reference − oracle| of ∂C/∂w^l on a log colour scale, the worst element
    boxed. Rows are neurons j of layer l, columns neurons k of layer l − 1 (w^l_jk)."""
    values = diffmap.decode(entry)
    rows, cols = entry["shape"]
    block = entry["block"]
    with mpl.rc_context(RC):
        aspect = values.shape[0] / max(values.shape[1], 1)
        height = max(1.0, min(2.6, 2.6 * aspect, 0.25 + 0.08 * values.shape[0]))  # inches
        fig = _figure(3.9, height + 0.95)
        ax = _axes(fig, 0.55, 0.85, 0.45, 0.5)
        positive = values[values > 0]
        cmap = mpl.colormaps["magma_r"].with_extremes(bad="#eeeeee")
        norm = None
        if positive.size:  # at least two decades, so the colour bar has two labels
            norm = LogNorm(min(positive.min(), positive.max() / 100), positive.max())
        image = ax.imshow(
            np.ma.masked_less_equal(values, 0),
            cmap=cmap,
            norm=norm,
            aspect="auto",
            interpolation="none",  # the raw ≤32×32 pixels, scaled by the browser
        )
        if positive.size:
            bar = fig.colorbar(image, cax=_axes(fig, 3.9 - 0.75, 0.63, 0.45, 0.5))
            if bar.solids is not None:  # one image, not 256 paths
                bar.solids.set_rasterized(True)
            _plain_log_labels(bar.ax.yaxis)
        else:
            ax.text(0.5, 0.5, "identical", ha="center", va="center", transform=ax.transAxes)
        kernel = entry.get("kernel")
        if kernel and len(worst) == 4:
            worst = diffmap.tiled_index(tuple(worst), (kernel[0], kernel[1]))
        if len(worst) == 2:
            j, k = worst[0] // block[0], worst[1] // block[1]
            ax.add_patch(Rectangle((k - 0.5, j - 0.5), 1, 1, fill=False, ec="#00b4d8", lw=1.8))
        for axis, n in ((ax.xaxis, values.shape[1]), (ax.yaxis, values.shape[0])):
            axis.set_ticks(np.unique(np.linspace(0, n - 1, min(n, 6)).round().astype(int)))
        pooled = "" if list(block) == [1, 1] else f"; pixel = max of {block[0]}×{block[1]}"
        ax.set_title(title, loc="left")
        if kernel:  # a convolution's kernels, one k_h × k_w tile per (output, input) map
            ax.set_xlabel(f"input map c, tiles of {kernel[1]} ({cols}{pooled})")
            ax.set_ylabel(f"output map o, tiles of {kernel[0]} ({rows})")
        else:
            ax.set_xlabel(f"k, neuron of layer {layer - 1} ({cols}{pooled})")
            ax.set_ylabel(f"j, neuron of layer {layer} ({rows})")
        return _svg(fig, prefix)


def delta_norms(
    layers: Sequence[int],
    norms: Sequence[float],
    errors: Mapping[str, Sequence[float]],
    prefix: str,
) -> str:
    """‖δ^l‖ per layer (the reference), and each oracle's max |Δδ^l| on the same log axis."""
    with mpl.rc_context(RC):
        fig = _figure(3.9, 3.0)
        ax = _axes(fig, 0.65, 0.15, 0.9, 0.25)
        ax.plot(layers, norms, "o-", color="black", lw=1.8, label="‖δˡ‖/√m, reference")
        for colour, (oracle, errs) in zip(ORACLE_COLOURS * 4, sorted(errors.items()), strict=False):
            ax.plot(layers, errs, ".--", color=colour, lw=1, label=f"max |Δδˡ|, {oracle}")
        values = [*norms, *(e for errs in errors.values() for e in errs)]
        if any(v > 0 for v in values):  # a net whose every δ is exactly 0 has no log axis
            ax.set_yscale("log", nonpositive="mask")
            _plain_log_labels(ax.yaxis)
        ax.set_xticks(list(layers))
        ax.set_xlabel("layer l (input = 1, output = L)")
        ax.set_title("‖δˡ‖ going back through the net", loc="left")
        fig.legend(loc="lower center", ncols=2, frameon=False, fontsize=7)
        return _svg(fig, prefix)


def channel_maps(entry: Mapping[str, Any], title: str, label: str, prefix: str) -> str:
    """A map quantity's per-channel |reference − oracle| / allowed (suite.diffmap's
    ``encode_channels``), one panel per channel kept, worst first, on one log colour scale in
    units of the allowed error (the histogram's), its dashed tick at 1 where in range; ``label``
    names a channel ("c", a map of δ^l; "o", a convolution's output map)."""
    values = diffmap.decode_channels(entry)
    channels = entry["channels"]
    columns = min(4, max(len(channels), 1))
    rows = max(1, math.ceil(len(channels) / columns))
    side, gap, left, right, top, bottom = 0.95, 0.3, 0.15, 0.95, 0.55, 0.4
    with mpl.rc_context(RC):
        fig = _figure(left + columns * (side + 0.1) + right, top + rows * (side + gap) + bottom)
        width, height = fig.get_size_inches()
        positive = values[values > 0]
        cmap = mpl.colormaps["magma_r"].with_extremes(bad="#eeeeee")
        norm, low, high = None, 0.0, 0.0
        if positive.size:
            low, high = min(positive.min(), positive.max() / 100), positive.max()
            norm = LogNorm(low, high)
        image = None
        for n, channel in enumerate(channels):
            r, c = divmod(n, columns)
            x0 = left + c * (side + 0.1)
            y0 = height - top - (r + 1) * (side + gap) + gap
            ax = fig.add_axes((x0 / width, y0 / height, side / width, side / height))
            image = ax.imshow(
                np.ma.masked_less_equal(values[n], 0),
                cmap=cmap,
                norm=norm,
                interpolation="none",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            worst = float(values[n].max(initial=0.0))
            ax.set_title(f"{label}={channel}: {_ratio_text(worst)}", fontsize=7, pad=2)
        if image is not None and positive.size:
            cax = fig.add_axes(
                (
                    (width - right + 0.15) / width,
                    bottom / height,
                    0.12 / width,
                    (height - top - bottom) / height,
                )
            )
            bar = fig.colorbar(image, cax=cax)
            if bar.solids is not None:
                bar.solids.set_rasterized(True)
            _plain_log_labels(bar.ax.yaxis)
            bar.set_label("|reference − oracle| / allowed")
            if low <= 1.0 <= high:
                bar.ax.axhline(1.0, color="#b2182b", lw=1.2, ls="--")
        else:
            fig.text(0.5, 0.5, "identical", ha="center", va="center")
        fig.text(left / width, 1 - 0.12 / height, title, ha="left", va="top", fontsize=8.5)
        not_shown = int(entry.get("not_shown", 0))
        block = entry["block"]
        shown = "every channel shown"
        foot = f"{not_shown} channels not shown (they disagree less)" if not_shown else shown
        if list(block) != [1, 1]:
            foot += f"; pixel = max of {block[0]}×{block[1]}"
        fig.text(left / width, 0.12 / height, foot, ha="left", va="bottom", fontsize=7)
        return _svg(fig, prefix)


def _ratio_text(ratio: float) -> str:
    """A panel's worst error / allowed, short: 0, 3.1e-4×, 0.52×, 2.3×."""
    if ratio == 0:
        return "0"
    if ratio >= 0.01:
        return f"{ratio:.2g}×"
    mantissa, exponent = f"{ratio:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}×"
