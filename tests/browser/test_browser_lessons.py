"""A lesson walked end to end in a real browser, as a student would: predict, check, read the
reveal, open the live view at the lesson's preset. Over the shipped zoo (the lessons name zoo
models), in a fresh server with an empty cache. About a minute.
Set JLML_SAVE_SCREENSHOTS=1 to also keep the screenshots in docs/screenshots/.
"""

from __future__ import annotations

import urllib.parse

import pytest

from dashboard.lessons import lessons_dir, load_lessons
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

pytestmark = BROWSER_TEST
TIMEOUT_MS = 120_000
INTERPOLATION = "Interpolation and holes in the latent space"


@pytest.fixture(scope="module")
def zoo_server(tmp_path_factory: pytest.TempPathFactory):
    """The dashboard over the shipped zoo and an empty cache: what `make run` starts."""
    env = {"JLML_CACHE_DIR": str(tmp_path_factory.mktemp("empty_cache"))}
    env = {**env, "JLML_ZOO_DIR": str(ROOT / "checkpoints")}
    with StreamlitServer(env) as running:
        yield running


def test_a_student_predicts_checks_and_opens_the_lessons_live_view(zoo_server, tmp_path) -> None:
    from playwright.sync_api import expect

    (lesson,) = [x for x in load_lessons(lessons_dir(), read_manifest()).lessons
                 if x.title == INTERPOLATION]  # fmt: skip
    right = lesson.question.answer  # the parser resolves a choice number to its text
    with launch_browser() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{zoo_server.url}/lessons")
        wait_until_idle(page)
        page.get_by_role("combobox", name="Lesson").click()  # choose it as a student would
        page.get_by_role("option", name=INTERPOLATION).click()
        wait_until_idle(page)
        expect(page.get_by_role("heading", name=INTERPOLATION)).to_be_visible()
        expect(page.get_by_text("Make your prediction first")).to_be_visible()
        assert page.get_by_role("link", name="Open the live view").count() == 0
        screenshot(page, tmp_path / "lesson_predict.png")

        page.get_by_text(right, exact=True).click()
        page.get_by_role("button", name="Check my prediction").click()
        wait_until_idle(page)
        expect(page.get_by_text("3 · What you should see")).to_be_visible()
        expect(page.get_by_text("a hole between the AE's clusters", exact=False)).to_be_visible()
        assert "lesson=" in page.url  # the lesson lives in the address, to share it
        screenshot(page, tmp_path / "lesson_reveal.png")

        live = page.get_by_role("link", name="Open the live view")
        href = live.get_attribute("href")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(href).query))
        assert href.startswith(f"{zoo_server.url}/generation?")
        assert query["model"] == lesson.preset.model == "ae-dense-z2"  # readable in the link
        with context.expect_page() as opened:  # link buttons open a new tab
            live.click()
        view = opened.value
        view.set_default_timeout(TIMEOUT_MS)
        view.wait_for_load_state()
        wait_until_idle(view)
        expect(view.get_by_role("heading", name="Generation")).to_be_visible()
        expect(view.get_by_role("tab", name="Interpolation", selected=True)).to_be_visible()
        expect(view.get_by_role("spinbutton", name="From test digit")).to_have_value("3")
        expect(view.get_by_role("spinbutton", name="To test digit")).to_have_value("2")
        assert "zoo model ae-dense-z2" in view.locator('[data-testid="stSidebar"]').inner_text()
        assert view.locator('[data-testid="stException"]').count() == 0
        screenshot(view, tmp_path / "lesson_live_view.png")
        context.close()
    keep_screenshots(
        *(tmp_path / f"lesson_{step}.png" for step in ("predict", "reveal", "live_view"))
    )
