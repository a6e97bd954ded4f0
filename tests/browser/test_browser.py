"""The dashboard in a real browser: click the Latent Explorer like a person, screenshot every page.

Starts `streamlit run app.py` on a free port over the tiny test models and drives Debian's
chromium with Playwright. Skipped when either is missing; CI installs both. About a minute.
Set JLML_SAVE_SCREENSHOTS=1 to also refresh docs/screenshots/.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.browser_marks import BROWSER_TEST, keep_screenshots
from tools.screenshots import (
    VIEWPORT,
    launch_browser,
    screenshot,
    screenshot_pages,
    wait_until_idle,
)

pytestmark = BROWSER_TEST

TIMEOUT_MS = 90_000  # the machine may be busy; a healthy run takes a few seconds per step
DETAIL = ".st-key-latent_detail"

# Screen positions, from Plotly's own axes, of the rightmost test digit (on the edge of the
# cloud, so no other digit hides it) and of a top-left spot inside the empty margin.
TARGETS_JS = """() => {
    const gd = document.querySelector('.js-plotly-plot');
    const L = gd._fullLayout, box = gd.getBoundingClientRect();
    const px = (x, y) => [box.left + L.xaxis._offset + L.xaxis.l2p(x),
                          box.top + L.yaxis._offset + L.yaxis.l2p(y)];
    let best = null;
    for (const t of gd._fullData) {
        if (!t.customdata) continue;
        for (let k = 0; k < t.x.length; k++) {
            if (best === null || t.x[k] > best.x) best = {x: t.x[k], y: t.y[k]};
        }
    }
    const [x0, x1] = L.xaxis.range, [y0, y1] = L.yaxis.range;
    const empty = {x: x0 + 0.04 * (x1 - x0), y: y1 - 0.04 * (y1 - y0)};
    return {digit: px(best.x, best.y), empty: px(empty.x, empty.y), empty_xy: [empty.x, empty.y],
            step: [(x1 - x0) / 119, (y1 - y0) / 119]};
}"""


@pytest.fixture(scope="module")
def browser():
    with launch_browser() as running:
        yield running


def _first_image(page) -> dict:
    """The detail panel's first image: its src and whether it has loaded."""
    return page.eval_on_selector(
        f"{DETAIL} img", "img => ({src: img.src, loaded: img.complete && img.naturalWidth > 0})"
    )


def test_click_a_digit_then_empty_space_decodes_that_place(server, browser, tmp_path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url)  # the router first: it registers the pages
    wait_until_idle(page)
    page.goto(f"{server.url}/latent_explorer")
    wait_until_idle(page)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullData")
    expect(page.locator(DETAIL)).to_contain_text("Click a digit")
    targets = page.evaluate(TARGETS_JS)
    page.evaluate("() => { document.querySelector('.js-plotly-plot').__sameChart = true; }")

    page.mouse.click(*targets["digit"])
    expect(page.locator(DETAIL)).to_contain_text(re.compile(r"Test digit #\d+"))
    expect(page.locator(DETAIL)).to_contain_text("Reconstruction loss")
    wait_until_idle(page)
    digit = _first_image(page)
    assert digit["loaded"]
    assert page.locator(f"{DETAIL} img").count() >= 2 + 8  # original, reconstruction, neighbours

    page.mouse.click(*targets["empty"])
    expect(page.locator(DETAIL)).to_contain_text("Decoded position")
    wait_until_idle(page)
    decoded = _first_image(page)
    assert decoded["loaded"] and decoded["src"] != digit["src"]
    x, y = map(float, re.search(r"\((-?[\d.]+), (-?[\d.]+)\)", page.inner_text(DETAIL)).groups())
    (want_x, want_y), (step_x, step_y) = targets["empty_xy"], targets["step"]
    assert abs(x - want_x) <= step_x + 0.01 and abs(y - want_y) <= step_y + 0.01

    # The chart was neither remounted nor redrawn from Python: the clicks changed only the panel.
    assert page.evaluate("() => document.querySelector('.js-plotly-plot').__sameChart") is True
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, tmp_path / "latent_explorer_clicked.png")
    page.close()


def test_every_page_renders_offline_and_is_saved(server, browser, tmp_path) -> None:
    errors: dict[str, int] = {}
    elsewhere: list[str] = []  # requests to any other host: they fail offline

    def no_exceptions(page, name: str) -> None:
        if count := page.locator('[data-testid="stException"]').count():
            errors[name] = count

    def only_this_server(url: str) -> None:
        if not url.startswith((server.url, "data:", "blob:")):
            elsewhere.append(url)

    saved = screenshot_pages(
        browser, server.url, tmp_path, check=no_exceptions, on_request=only_this_server
    )
    names = {path.stem for path in saved}
    assert {"home", "latent_explorer"} <= names and len(names) >= 6
    assert all(path.stat().st_size > 5_000 for path in saved)
    assert not errors, f"pages showing a traceback: {errors}"
    assert not elsewhere, f"the pages fetched from other hosts: {sorted(set(elsewhere))}"
    keep_screenshots(*saved)
