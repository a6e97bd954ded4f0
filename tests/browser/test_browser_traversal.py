"""The latent traversal grid in a real browser, over the shipped zoo: a student opens
Generation on the beta = 4 model, picks the "Latent traversals" tab, changes the digit and
sees the grid, the KL bars and the beta pair. About a minute.
Set JLML_SAVE_SCREENSHOTS=1 to also keep the screenshots in docs/screenshots/.
"""

from __future__ import annotations

import pytest

from jlml_core.store.zoo import read_manifest
from tests.browser.browser_marks import BROWSER_TEST, keep_screenshots
from tools.screenshots import (
    ROOT,
    VIEWPORT,
    StreamlitServer,
    launch_browser,
    screenshot,
    wait_until_idle,
)

MODEL = "vae-cnn-z10-h64-beta4"
pytestmark = [
    *BROWSER_TEST,
    pytest.mark.skipif(MODEL not in read_manifest(), reason=f"{MODEL} is not built"),
]
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def zoo_server(tmp_path_factory: pytest.TempPathFactory):
    """The dashboard over the shipped zoo and an empty cache."""
    env = {"JLML_CACHE_DIR": str(tmp_path_factory.mktemp("empty_cache"))}
    env = {**env, "JLML_ZOO_DIR": str(ROOT / "checkpoints")}
    with StreamlitServer(env) as running:
        yield running


def test_the_traversal_grid_follows_the_digit(zoo_server, tmp_path) -> None:
    from playwright.sync_api import expect

    with launch_browser() as browser:
        page = browser.new_page(viewport={**VIEWPORT, "height": 1800})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{zoo_server.url}/generation?model={MODEL}")
        wait_until_idle(page)
        page.get_by_role("tab", name="Latent traversals").click()
        wait_until_idle(page)
        expect(page.get_by_text("dimensions are active", exact=False)).to_be_visible()
        charts = page.locator(".stPlotlyChart")
        expect(charts.first).to_be_visible()
        # The grid, the model's KL bars and the beta pair: three charts in the tab.
        assert page.get_by_role("tabpanel").locator(".stPlotlyChart").count() == 3
        first = tmp_path / "traversal_grid.png"
        screenshot(page, first)
        digit = page.get_by_role("spinbutton", name="Test digit")
        digit.fill("3")
        digit.press("Enter")
        wait_until_idle(page)
        expect(page.get_by_text("#3 (a 0)")).to_be_visible()
        second = tmp_path / "traversal_grid_digit3.png"
        screenshot(page, second)
        keep_screenshots(first, second)
