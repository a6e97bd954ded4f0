"""A shared link in a real browser: click a place in the Latent Explorer, copy the link from
"Link to this view", open it in a fresh browser (no cookies, no session) and see the same
decoded digit. Marked and skipped like tests/test_browser.py; about a minute.
Set JLML_SAVE_SCREENSHOTS=1 to also keep the screenshots in docs/screenshots/.
"""

from __future__ import annotations

import re

from tests.browser.browser_marks import BROWSER_TEST, keep_screenshots
from tests.browser.test_browser import DETAIL, TARGETS_JS, TIMEOUT_MS, _first_image
from tools.screenshots import (
    VIEWPORT,
    launch_browser,
    screenshot,
    wait_until_idle,
)

pytestmark = BROWSER_TEST
DIALOG = '[role="dialog"]'


def _open_explorer(browser, url: str):
    context = browser.new_context(viewport=VIEWPORT)  # a stranger: no cookies, no session
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    wait_until_idle(page)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullData")
    return context, page


def test_a_copied_link_opens_the_same_decoded_place(server, tmp_path) -> None:
    from playwright.sync_api import expect

    with launch_browser() as browser:
        context, page = _open_explorer(browser, f"{server.url}/latent_explorer")
        targets = page.evaluate(TARGETS_JS)
        page.mouse.click(*targets["empty"])
        expect(page.locator(DETAIL)).to_contain_text("Decoded position")
        wait_until_idle(page)
        clicked = _first_image(page)
        assert clicked["loaded"]
        position = re.search(r"Decoded position \(([^)]*)\)", page.inner_text(DETAIL)).group(1)
        assert re.search(r"[?&]at=", page.url) and "model=" in page.url  # the address bar too

        page.get_by_role("button", name="Link to this view").click()
        expect(page.locator(DIALOG)).to_contain_text("Whoever opens it")
        link = page.locator(f"{DIALOG} code").inner_text().strip()
        assert link.startswith(f"{server.url}/latent_explorer?") and "at=" in link
        screenshot(page, tmp_path / "link_to_this_view.png")
        context.close()

        context, fresh = _open_explorer(browser, link)
        expect(fresh.locator(DETAIL)).to_contain_text(f"Decoded position ({position})")
        wait_until_idle(fresh)
        opened = _first_image(fresh)
        assert opened["loaded"] and opened["src"] == clicked["src"]  # the very same PNG
        assert fresh.locator('[data-testid="stException"]').count() == 0
        screenshot(fresh, tmp_path / "deep_linked_latent_explorer.png")
        context.close()
    keep_screenshots(
        tmp_path / "link_to_this_view.png", tmp_path / "deep_linked_latent_explorer.png"
    )
