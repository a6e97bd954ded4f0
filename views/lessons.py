"""Lessons: a teacher's Markdown lesson drives the live views — predict, try, then reveal."""

from __future__ import annotations

import json

import streamlit as st

from dashboard import links
from dashboard.charts import download_button
from dashboard.handout import handout_html
from dashboard.inputs import view_url
from dashboard.lessons import (
    HIDDEN,
    Lesson,
    answers_hidden,
    app_root,
    lessons_dir,
    load_lessons,
    preset_url,
)
from jlml_core.store.zoo import read_manifest

ANSWERS_KEY = "lesson_answers"  # lesson slug -> this student's prediction, in this session only
MISSING_KEY = "lesson_missing"  # the lesson whose "Check" was pressed without a prediction
PAGE = "lessons"  # this page's URL path


def _forget(slug: str) -> None:
    """on_click of "Answer again": drop this lesson's prediction."""
    st.session_state[ANSWERS_KEY].pop(slug, None)


def _check(slug: str, input_key: str) -> None:
    """on_click of "Check my prediction": keep it (before the page reruns), or say it is missing."""
    if (response := st.session_state.get(input_key)) is None:
        st.session_state[MISSING_KEY] = slug
    else:
        st.session_state[ANSWERS_KEY][slug] = response


def _ask(lesson: Lesson) -> None:
    """The prediction's input and the button that keeps it."""
    question = lesson.question
    if question.is_number:
        unit = f" ({question.unit})" if question.unit else ""
        input_key = f"lesson_guess_{lesson.slug}"
        st.number_input(f"Your guess{unit}", value=None, step=0.1, format="%g", key=input_key)
    else:
        input_key = f"lesson_choice_{lesson.slug}"
        st.radio("Your prediction", question.choices, index=None, key=input_key)
    st.button(
        "Check my prediction", key=f"lesson_check_{lesson.slug}", type="primary",
        on_click=_check, args=(lesson.slug, input_key),
    )  # fmt: skip
    if st.session_state.pop(MISSING_KEY, None) == lesson.slug:
        st.warning("Pick an answer first.")


def _reveal(lesson: Lesson, response: str | float) -> None:
    st.subheader("3 · What you should see")
    if lesson.question.is_right(response):
        st.success(lesson.question.feedback(response), icon=":material/check_circle:")
    else:
        st.warning(lesson.question.feedback(response), icon=":material/lightbulb:")
    st.markdown(lesson.reveal)


def _for_teachers(lesson: Lesson, label: str, url: str, root: str, hidden: bool) -> None:
    with st.expander("For class: handouts and the teacher's link"):
        left, right = st.columns(2)
        with left:
            download_button(
                "Handout (questions only)", lambda: handout_html(lesson, url),
                f"{lesson.slug}.html", key="lesson_handout", icon=":material/print:",
            )  # fmt: skip
        if not hidden:
            with right:
                download_button(
                    "Teacher's copy, with answers",
                    lambda: handout_html(lesson, url, with_answers=True),
                    f"{lesson.slug}-answers.html", key="lesson_handout_answers",
                    icon=":material/print:",
                )  # fmt: skip
            # The lesson by name: a bound widget's choice reaches the address from the browser,
            # not necessarily st.query_params on this very run.
            teacher = {"lesson": label, "answers": HIDDEN}
            st.markdown("**Teacher's link**: the questions without the answers or reveals.")
            st.code(view_url(root + PAGE, teacher), language=None)
        st.caption(
            "Handouts are HTML pages: open one in a browser and print it. Each student's "
            "answers stay in their own browser session; nothing is saved on the server. A new "
            "lesson is one Markdown file in lessons/ (see the README, “Writing a lesson”)."
        )


st.title("Lessons")
hidden = answers_hidden(st.query_params.get("answers"))
try:
    manifest = read_manifest()
except (OSError, json.JSONDecodeError):
    st.warning("The model zoo's manifest could not be read: lessons cannot quote its numbers.")
    manifest = {}
loaded = load_lessons(lessons_dir(), manifest)
for problem in loaded.problems:
    st.warning(f"Lesson skipped — {problem}", icon=":material/warning:")
if not loaded.lessons:
    st.info("There are no lessons yet: a lesson is one Markdown file in the lessons/ folder.")
    st.stop()

by_slug = {lesson.slug: lesson for lesson in loaded.lessons}
numbers = {lesson.slug: n for n, lesson in enumerate(loaded.lessons, 1)}


def _label(slug: str) -> str:
    return f"{numbers[slug]}. {by_slug[slug].title}"  # also the lesson's value in the URL


slug = st.selectbox("Lesson", list(by_slug), format_func=_label, key="lesson", bind=links.BIND)
lesson = by_slug[slug]
question = lesson.question
answer = None if hidden else st.session_state.setdefault(ANSWERS_KEY, {}).get(slug)
opened = hidden or answer is not None  # the class sees the view once it has predicted
if hidden:
    st.caption("Teacher's view: the answers and what you should see are hidden.")

st.header(lesson.title)
st.markdown(lesson.intro)
st.subheader("1 · Predict")
st.markdown(question.text)
if hidden and question.is_number:
    st.markdown(f"*Write down a number{f' (in {question.unit})' if question.unit else ''}.*")
elif hidden:
    st.markdown("\n".join(f"- {choice}" for choice in question.choices))
elif answer is None:
    _ask(lesson)
else:
    st.markdown(f"Your prediction: **{question.response_text(answer)}**")
    st.button("Answer again", key=f"lesson_again_{slug}", on_click=_forget, args=(slug,))

root = app_root(st.context.url)
url = preset_url(lesson.preset, root)
st.subheader("2 · Try")
if opened:
    st.link_button("Open the live view", url, type="primary", icon=":material/open_in_new:")
    page = lesson.preset.page.replace("_", " ").capitalize()
    st.caption(f"Opens {page} in a new tab with the model {lesson.preset.model}.")
else:
    st.info("Make your prediction first: then the live view opens from here.")
if answer is not None:
    _reveal(lesson, answer)
if opened:
    st.subheader("Going further")
    st.markdown(lesson.going_further)
_for_teachers(lesson, _label(slug), url, root, hidden)
