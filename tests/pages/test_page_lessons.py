"""AppTest for the Lessons page: each shipped lesson asks before it shows, a prediction reveals
what to see, the teacher's link hides the answers, a broken file is one message, and a
lesson's live view opens its page at the preset.

The lessons quote and open the shipped zoo's models, so these tests run with the real
checkpoints/ folder (JLML_ZOO_DIR unset) and an empty user cache.
"""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from dashboard.lessons import LESSONS_ENV, Lesson, load_lessons, preset_params, preset_url
from jlml_core.store.model_cache import CACHE_ENV, ZOO_ENV
from jlml_core.store.zoo import ZOO, read_manifest
from tests.apptest_helpers import ROOT, open_link, texts

LESSONS = {
    lesson.slug: lesson
    for lesson in load_lessons(ROOT / "lessons", read_manifest(ROOT / "checkpoints")).lessons
}
REVEAL = "3 · What you should see"


@pytest.fixture
def zoo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped zoo and lessons, an empty user cache, run from the repository root."""
    monkeypatch.delenv(ZOO_ENV, raising=False)
    monkeypatch.delenv(LESSONS_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)
    return tmp_path


def _open(slug: str | None = None, hidden: bool = False) -> AppTest:
    """The Lessons page (with the teacher's ?answers=hidden), showing lesson `slug`."""
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if hidden:
        at.query_params["answers"] = "hidden"
    at.run().switch_page("views/lessons.py").run()
    if slug is not None:
        at.selectbox(key="lesson").set_value(slug).run()
    assert not at.exception
    return at


def _subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _predict(at: AppTest, lesson: Lesson, response: str | float) -> AppTest:
    """Give `response` as the prediction and press the button."""
    if lesson.question.is_number:
        at.number_input(key=f"lesson_guess_{lesson.slug}").set_value(response)
    else:
        at.radio(key=f"lesson_choice_{lesson.slug}").set_value(response)
    at.button(key=f"lesson_check_{lesson.slug}").click().run()
    assert not at.exception
    return at


def test_the_shipped_lessons_are_all_offered_in_order(zoo_env: Path) -> None:
    at = _open()
    assert not at.warning  # every shipped lesson loads
    assert at.selectbox(key="lesson").options == [
        f"{n}. {lesson.title}" for n, lesson in enumerate(LESSONS.values(), 1)
    ]
    assert len(LESSONS) == 8


@pytest.mark.parametrize("slug", list(LESSONS))
def test_each_lesson_asks_then_reveals_and_opens_its_live_view(zoo_env: Path, slug: str) -> None:
    lesson = LESSONS[slug]
    at = _open(slug)
    assert at.header[0].value == lesson.title
    assert lesson.question.text in _markdown(at)
    assert "Make your prediction first" in texts(at.info)
    assert not at.link_button and REVEAL not in _subheaders(at)
    if lesson.question.is_number:
        assert at.number_input(key=f"lesson_guess_{slug}").value is None
    else:
        assert at.radio(key=f"lesson_choice_{slug}").options == list(lesson.question.choices)
    right = float(lesson.question.answer) if lesson.question.is_number else lesson.question.answer
    _predict(at, lesson, right)  # then predict -> reveal, for every lesson
    assert "Right" in texts(at.success) and REVEAL in _subheaders(at)
    assert lesson.reveal.split("\n")[0] in _markdown(at)
    (button,) = at.link_button
    assert button.proto.url == preset_url(lesson.preset)


def test_a_right_prediction_opens_the_view_and_reveals_what_to_see(zoo_env: Path) -> None:
    lesson = LESSONS["02-ae-vs-vae-latent"]
    at = _predict(_open(lesson.slug), lesson, lesson.question.answer)
    assert "Right" in texts(at.success)
    assert REVEAL in _subheaders(at) and "Going further" in _subheaders(at)
    assert lesson.reveal.split("\n")[0] in _markdown(at)
    (button,) = at.link_button
    assert button.proto.url == preset_url(lesson.preset)  # AppTest has no address: relative
    assert f"Your prediction: **{lesson.question.answer}**" in _markdown(at)
    at.button(key=f"lesson_again_{lesson.slug}").click().run()  # and back to the question
    assert REVEAL not in _subheaders(at) and not at.link_button


def test_a_wrong_prediction_says_so_and_still_reveals(zoo_env: Path) -> None:
    lesson = LESSONS["01-bottleneck"]
    wrong = next(c for c in lesson.question.choices if c != lesson.question.answer)
    at = _predict(_open(lesson.slug), lesson, wrong)
    assert not at.success
    assert f"the answer is “{lesson.question.answer}”" in texts(at.warning)
    assert REVEAL in _subheaders(at)


def test_a_number_guess_counts_within_its_tolerance(zoo_env: Path) -> None:
    lesson = LESSONS["03-kl-weight"]
    at = _predict(_open(lesson.slug), lesson, lesson.question.value() + 0.4)
    assert "Right" in texts(at.success)
    at.button(key=f"lesson_again_{lesson.slug}").click().run()
    _predict(at, lesson, 25.0)
    assert "Not quite: you said 25 nats" in texts(at.warning)


def test_checking_without_a_prediction_asks_for_one(zoo_env: Path) -> None:
    at = _open("01-bottleneck")
    at.button(key="lesson_check_01-bottleneck").click().run()
    assert "Pick an answer first." in texts(at.warning)
    assert REVEAL not in _subheaders(at) and not at.link_button


def test_the_teacher_s_link_shows_the_questions_and_hides_the_answers(zoo_env: Path) -> None:
    lesson = LESSONS["01-bottleneck"]
    at = _open(lesson.slug, hidden=True)
    assert not [r for r in at.radio if r.key.startswith("lesson_")]  # nothing to answer here
    for choice in lesson.question.choices:
        assert f"- {choice}" in _markdown(at)
    assert REVEAL not in _subheaders(at) and not at.success
    assert lesson.reveal.split("\n")[0] not in _markdown(at)
    assert "Going further" in _subheaders(at) and at.link_button  # the class opens it together
    downloads = [d.label for d in at.download_button]
    assert downloads == ["Handout (questions only)"]  # no teacher's copy on the projector


def test_the_teacher_s_link_opens_the_same_lesson_with_the_answers_hidden(zoo_env: Path) -> None:
    lesson = LESSONS["03-kl-weight"]
    (link,) = [c.value for c in _open(lesson.slug).code if "answers=hidden" in c.value]
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))
    assert urllib.parse.urlsplit(link).path == "lessons"
    assert params["lesson"] == "3. What the KL weight does" and params["answers"] == "hidden"
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(params)
    at.run().switch_page("views/lessons.py").run()
    assert not at.exception
    assert at.header[0].value == lesson.title
    assert not at.number_input and "*Write down a number (in nats).*" in _markdown(at)


def test_a_broken_lesson_is_one_message_and_the_others_load(
    zoo_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "lessons"
    shutil.copytree(ROOT / "lessons", folder)
    text = (folder / "01-bottleneck.md").read_text().replace("page: reconstructions", "page: nope")
    (folder / "00-broken.md").write_text(text)
    monkeypatch.setenv(LESSONS_ENV, str(folder))
    at = _open()
    (warning,) = at.warning
    assert "00-broken.md, line 5: unknown page 'nope'" in warning.value
    assert len(at.selectbox(key="lesson").options) == 8


def test_the_live_view_link_opens_the_page_at_the_preset(zoo_env: Path) -> None:
    lesson = LESSONS["06-interpolation"]
    at = _predict(_open(lesson.slug), lesson, lesson.question.answer)
    url = urllib.parse.urlsplit(at.link_button[0].proto.url)
    params = dict(urllib.parse.parse_qsl(url.query))
    assert (url.path, params) == (lesson.preset.page, preset_params(lesson.preset))
    view = open_link(url.path, params)
    assert not view.exception
    assert view.session_state["model_key"] == ZOO["ae-dense-z2"].key()
    assert (view.number_input(key="gen_start").value, view.number_input(key="gen_end").value) == (
        3,
        2,
    )
    assert any("Left: test digit #3 (a 0)" in c for image in view.image for c in image.captions)


@pytest.mark.parametrize("slug", sorted(LESSONS))
def test_each_preset_opens_with_its_model_and_its_controls_accepted(
    zoo_env: Path, slug: str
) -> None:
    """The link's model is selected and every control value is one its widget accepts:
    Streamlit drops a bound parameter it cannot use from the address."""
    preset = LESSONS[slug].preset
    at = open_link(preset.page, preset_params(preset))
    assert not at.exception
    assert at.session_state["model_key"] == ZOO[preset.model].key()
    for name, value in preset_params(preset).items():
        assert at.query_params.get(name) == value, name
