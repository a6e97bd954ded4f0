"""Your digit in a real browser: draw a digit with the mouse, upload a picture and a non-image.

Like tests/test_browser.py: `streamlit run app.py` over the tiny test models, Debian's
chromium driven by Playwright, skipped when either is missing. About a minute.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.browser_marks import BROWSER_TEST, keep_screenshots
from tests.pages.test_page_your_digit import mnist_png
from tools.screenshots import (
    VIEWPORT,
    launch_browser,
    screenshot,
    wait_until_idle,
)

pytestmark = BROWSER_TEST

TIMEOUT_MS = 90_000
RESULT = ".st-key-your_digit_result"
# The canvas component renders in the page (in a shadow root, which Playwright's CSS pierces).
CANVAS = "canvas.upper-canvas"

# Names of the traces of the chart that holds the 10,000 test digits.
SCATTER_TRACES_JS = """() => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        const names = (gd._fullData || []).map(t => t.name);
        if (names.includes('plane')) return names;
    }
    return null;
}"""


@pytest.fixture
def page(server):
    with launch_browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server.url)  # the router first: it registers the pages
        wait_until_idle(page)
        page.goto(f"{server.url}/your_digit")
        wait_until_idle(page)
        _choose_model(page, "VAE · dense · z=2 · bce")
        yield page
        assert page.locator('[data-testid="stException"]').count() == 0


def _choose_model(page, label: str) -> None:
    """Pick a model in the sidebar's model box by the start of its label."""
    page.locator(".st-key-model_key").click()
    page.get_by_role("option", name=re.compile("^" + re.escape(label))).click()
    wait_until_idle(page)


def _stroke(page, points: list[tuple[float, float]], box: dict) -> None:
    """Press, drag through `points` (fractions of the canvas), release: one pen stroke."""
    x0, y0, width, height = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x0 + points[0][0] * width, y0 + points[0][1] * height)
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(x0 + fx * width, y0 + fy * height, steps=12)
    page.mouse.up()


def _save(page, tmp_path, name: str) -> None:
    path = screenshot(page, tmp_path / f"{name}.png")
    keep_screenshots(path)


def test_draw_a_digit_and_see_its_marker_ellipses_and_reconstruction(page, tmp_path) -> None:
    from playwright.sync_api import expect

    canvas = page.locator(CANVAS)
    canvas.wait_for()
    box = canvas.bounding_box()
    # A "7": the bar, then the long diagonal, in one stroke; then a short cross-bar.
    _stroke(page, [(0.25, 0.22), (0.75, 0.22), (0.45, 0.85)], box)
    wait_until_idle(page)
    _stroke(page, [(0.45, 0.52), (0.68, 0.52)], box)
    wait_until_idle(page)

    expect(page.locator(RESULT)).to_contain_text("Reconstruction loss")
    page.wait_for_function(f"({SCATTER_TRACES_JS})()?.includes('your digit')")
    names = page.evaluate(SCATTER_TRACES_JS)
    assert names[-3:] == ["your digit: 1σ", "your digit: 2σ", "your digit"]
    images = page.eval_on_selector_all(
        f"{RESULT} img", "els => els.map(i => i.complete && i.naturalWidth > 0)"
    )
    assert len(images) >= 3 and all(images)  # input, reconstruction, decoded samples
    captions = page.inner_text(RESULT)
    assert "your digit, as MNIST" in captions and "reconstruction" in captions
    _save(page, tmp_path, "your_digit_drawn")


def test_upload_a_picture_then_a_file_that_is_not_one(page, tmp_path) -> None:
    from playwright.sync_api import expect

    uploader = page.locator('.st-key-your_digit_upload input[type="file"]')
    uploader.set_input_files(
        files=[{"name": "seven.png", "mimeType": "image/png", "buffer": mnist_png(0)}]
    )
    expect(page.locator(RESULT)).to_contain_text("Reconstruction loss", timeout=TIMEOUT_MS)
    wait_until_idle(page)
    page.wait_for_function(f"({SCATTER_TRACES_JS})()?.includes('your digit')")
    _save(page, tmp_path, "your_digit_uploaded")

    uploader.set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    alert = page.locator('[data-testid="stAlertContentError"] [data-testid="stMarkdownContainer"]')
    expect(alert).to_contain_text("not an image", timeout=TIMEOUT_MS)
    assert "\n" not in alert.inner_text().strip()
    wait_until_idle(page)
    assert page.locator(RESULT).count() == 0
    _save(page, tmp_path, "your_digit_bad_upload")
