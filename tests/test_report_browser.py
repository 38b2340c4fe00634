"""The report in a real browser: headless Chromium opens the file, finds the grid and a heatmap,
and logs no console errors. ``nox -s browser`` runs this (and fails if Chromium is missing);
elsewhere it is skipped when Debian's chromium or Playwright is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import report
from tests import report_samples as rs

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: apt-get install chromium
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium(request):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "Playwright for Python is not installed (pip install playwright)"
    else:
        missing = "" if CHROMIUM.exists() else f"{CHROMIUM} is missing (apt-get install chromium)"
    if missing:
        if request.config.getoption("--require-browser"):
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_of(chromium, tmp_path):
    """Render a results file to HTML, open it; returns (page, console messages, requests)."""

    def open_report(results: dict) -> tuple:
        source, out = tmp_path / "results.json", tmp_path / "index.html"
        source.write_text(json.dumps(results))
        assert report.main([str(source), str(out)]) == 0
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        console, requests = [], []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        return page, console, requests

    return open_report


def test_the_report_opens_with_its_grid_and_a_heatmap_and_no_console_errors(page_of):
    page, console, requests = page_of(rs.with_failures())
    assert page.title().startswith("FAILED")
    assert "✗ Failed: 3 of 45" in page.locator("#verdict").inner_text()
    grid = page.locator("table#grid")
    assert grid.is_visible()
    rows = grid.locator("tbody tr")
    assert rows.count() == 2
    assert rs.DEEP["id"] in rows.nth(0).inner_text()  # the failing architecture first
    assert rows.nth(0).locator("td.fail").count() == 3
    heatmap = page.locator("figure.heatmap svg").first
    heatmap.scroll_into_view_if_needed()
    assert heatmap.is_visible()
    box = heatmap.bounding_box()
    assert box is not None and box["width"] > 150 and box["height"] > 80
    assert console == []
    assert all(url.startswith("file://") for url in requests)  # nothing fetched from a network


def test_a_crashed_case_renders_in_the_browser(page_of):
    page, console, _ = page_of(rs.with_crash())
    assert (
        page.locator("table#grid td.error", has_text="error").count() == 4
    )  # SMALL×torch, MALFORMED×3
    assert page.get_by_text(rs.TORCH_CRASH).first.is_visible()
    assert console == []
