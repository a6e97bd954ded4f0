"""The Train page in a real browser: set a small config, train it, watch it live, see the result.

Starts `python -m dashboard` on a free port with an empty user cache and drives Debian's
chromium with Playwright, like a person: ask for the time estimate, type the epochs and the
subset, click Train, look at the page while it trains (progress with elapsed and remaining time,
the latent scatter) and after (the saved model, the last scatter). Skipped when either is
missing. About a minute.
Set JLML_TRAIN_SCREENSHOTS=<folder> to keep the two screenshots.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.browser.browser_marks import BROWSER_TEST
from tools.screenshots import (
    VIEWPORT,
    StreamlitServer,
    launch_browser,
    screenshot,
    wait_until_idle,
)

pytestmark = BROWSER_TEST

TIMEOUT_MS = 180_000  # the shared machine may be busy; calibration and training take seconds
PROGRESS = '[data-testid="stProgress"]'
CHART_TITLE_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(gd => (gd._fullLayout?.title?.text ?? '').replace(/<[^>]*>/g, ''))"""  # Streamlit bolds


def _number(page, label: str, value: str) -> None:
    """Type into a number input as a person would, then confirm with Enter."""
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    wait_until_idle(page)


def test_trains_a_small_model_live_and_shows_the_result(tiny_cache: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    zoo = tmp_path / "empty_zoo"
    zoo.mkdir()
    env = {"JLML_CACHE_DIR": str(tmp_path / "user_cache"), "JLML_ZOO_DIR": str(zoo)}
    shots = Path(os.environ.get("JLML_TRAIN_SCREENSHOTS", tmp_path))
    with StreamlitServer(env) as server, launch_browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server.url)
        wait_until_idle(page)
        page.goto(f"{server.url}/train")
        wait_until_idle(page, timeout=TIMEOUT_MS / 1000)
        main = page.locator('[data-testid="stMain"]')
        expect(main).to_contain_text("about a minute")  # the first visit measures nothing...
        page.get_by_role("button", name="Estimate the time").click()  # ...until asked
        expect(main).to_contain_text(re.compile(r"measured here: [\d,]+ images/s for cnn_shallow"))
        _number(page, "Epochs", "1")
        _number(page, "Train on the first N images", "3000")  # 24 steps
        expect(main).to_contain_text("Estimated time: about")

        page.get_by_role("button", name="Train", exact=True).click()
        # Mid-training: the bar says how long it has run and how long is left, and the scatter
        # of the recorded digits' codes is there.
        progress = page.locator(PROGRESS)
        expect(progress).to_contain_text(re.compile(r"elapsed · (about .* left|finishing)"))
        page.wait_for_function(f"() => ({CHART_TITLE_JS})().some(t => /^(Epoch|Before)/.test(t))")
        during = screenshot(page, shots / "train_during.png")

        expect(page.get_by_text("Trained and saved")).to_be_visible()
        wait_until_idle(page)
        titles = page.evaluate(CHART_TITLE_JS)
        assert any(title.startswith("Epoch 1.00 · train loss") for title in titles)
        assert page.locator('[data-testid="stException"]').count() == 0
        after = screenshot(page, shots / "train_after.png")
        assert during.stat().st_size > 5_000 and after.stat().st_size > 5_000
        page.close()
