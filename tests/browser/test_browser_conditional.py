"""A conditional VAE in a real browser: Generation's class picker redraws the samples as the
clicked class, and the ten-class grid shows. `streamlit run app.py` over a cache holding a tiny
CVAE (JLML_CVAE_CACHE: another cache, e.g. checkpoints/ for the zoo's), Debian's chromium via
Playwright; skipped when either is missing. About a minute.

Screenshots go to $JLML_SHOTS_DIR (default: the test's temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import fit
from tests.browser.browser_marks import BROWSER_TEST
from tests.pages.test_page_conditional import CVAE
from tools.screenshots import VIEWPORT, StreamlitServer, launch_browser, screenshot, wait_until_idle

pytestmark = BROWSER_TEST

TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def cvae_server(tmp_path_factory: pytest.TempPathFactory):
    """The dashboard over a cache with the tiny CVAE only (and an empty zoo)."""
    cache = tmp_path_factory.mktemp("cvae_cache")
    CheckpointStore(cache).save(CVAE, fit(CVAE))
    zoo = tmp_path_factory.mktemp("empty_zoo")
    with StreamlitServer({"JLML_CACHE_DIR": str(cache), "JLML_ZOO_DIR": str(zoo)}) as running:
        yield running


def _caption_texts(page) -> list[str]:
    return page.locator('[data-testid="stImageCaption"]').all_inner_texts()


def test_the_class_picker_redraws_the_samples_as_the_clicked_class(
    cvae_server, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("JLML_SHOTS_DIR", tmp_path))
    with launch_browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(cvae_server.url)
        wait_until_idle(page)
        page.goto(f"{cvae_server.url}/generation?model={CVAE.key()}")
        wait_until_idle(page)
        assert page.get_by_text("is a conditional VAE").count() == 1
        picker = page.locator(".st-key-gen_class")
        assert picker.get_by_role("radio").count() == 10
        assert page.get_by_text("64 samples of class 0, seed 0").count() == 1
        picker.get_by_text("7", exact=True).click()
        wait_until_idle(page)
        assert page.get_by_text("64 samples of class 7, seed 0").count() == 1
        assert "gen_class=7" in page.url  # the shared link keeps the class
        assert page.get_by_text("All ten classes").count() == 1
        assert page.get_by_text("every point decoded as a 7").count() == 1
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, shots / "generation_class_picker.png")
