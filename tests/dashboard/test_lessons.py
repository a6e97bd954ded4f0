"""Lesson files: the shipped ones load with the zoo's own numbers; bad ones get one message
naming the file and line; the controls a lesson may set are the ones the pages bind."""

from __future__ import annotations

import ast
import shutil
import urllib.parse
from pathlib import Path

import pytest

from dashboard import lessons
from dashboard.handout import handout_html, markdown_html
from dashboard.lessons import (
    PAGE_CONTROLS,
    LessonError,
    Preset,
    Question,
    load_lessons,
    parse_lesson,
    placeholder_text,
    preset_params,
    preset_url,
)
from jlml_core.store.zoo import ZOO, read_manifest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "lessons"
VIEWS = ROOT / "views"
NOT_PRESETS = {"home", "lessons", "train"}  # pages no lesson opens
MANIFEST = read_manifest(ROOT / "checkpoints")

GOOD = """---
title: A small lesson
order: 3
preset:
  page: generation
  model: vae-cnn-z2
  controls:
    gen_tab: Interpolation
    gen_start: 3
question: What appears halfway?
choices:
  - a digit
  - a blur
answer: 1
---
The intro, with the KL: {{ metric vae-cnn-z2 test_kl }} nats.

## What you should see
A digit.

## Going further
Why?
"""


def test_every_shipped_lesson_loads_in_order() -> None:
    loaded = load_lessons(SHIPPED, MANIFEST)
    assert not loaded.problems, [str(p) for p in loaded.problems]
    assert len(loaded.lessons) == 8
    assert [lesson.order for lesson in loaded.lessons] == list(range(1, 9))
    for lesson in loaded.lessons:
        assert lesson.intro and lesson.reveal and lesson.going_further
        assert lesson.preset.model in ZOO
        assert (
            "{{" not in lesson.intro + lesson.reveal + lesson.going_further + lesson.question.text
        )
        if not lesson.question.is_number:
            assert lesson.question.answer in lesson.question.choices


def test_every_placeholder_in_every_shipped_lesson_resolves() -> None:
    found = [
        (path.name, match.group(1))
        for path in sorted(SHIPPED.glob("*.md"))
        for match in lessons.PLACEHOLDER.finditer(path.read_text())
    ]
    assert len(found) > 40
    for name, placeholder in found:
        text = placeholder_text(placeholder, MANIFEST)
        assert text and (text[0] in "-0123456789" or placeholder.split()[0] == "label"), name


def test_the_shipped_numbers_are_the_manifest_s_own() -> None:
    (kl,) = [x for x in load_lessons(SHIPPED, MANIFEST).lessons if x.slug == "03-kl-weight"]
    w1 = MANIFEST["sweep-vae-cnn-z2-w1"]["metrics"]
    assert kl.question.is_number and kl.question.value() == pytest.approx(w1["test_kl"], abs=0.01)
    assert f"{w1['active_units']} of the 2 code dimensions" in kl.reveal


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("metric vae-cnn-z2 test_kl", "6.89"),
        ("metric vae-cnn-z2 knn_accuracy", "77.1%"),
        ("metric vae-cnn-z2 test_neg_elbo", "142.6"),
        ("metric vae-cnn-z2 active_units", "2"),
        ("metric vae-cnn-z2 test_kl .3f", "6.895"),
        ("metric ae-dense-z2 code_spread[1] .2f", "4.52"),
        ("label vae-dense-z2", "VAE · dense · z=2 · bce · 20 ep"),
    ],
)
def test_placeholders_read_as_numbers_and_names(placeholder: str, expected: str) -> None:
    assert placeholder_text(f" {placeholder} ", MANIFEST) == expected


@pytest.mark.parametrize(
    ("placeholder", "says"),
    [
        ("metric no-such-model test_kl", "no model 'no-such-model'"),
        ("metric vae-cnn-z2 test_kll", "no metric 'test_kll'"),
        ("metric ae-cnn-z2 test_kl", "not recorded"),  # an AE has no KL
        ("metric vae-cnn-z2 code_spread", "a list"),
        ("metric vae-cnn-z2 code_spread[5]", "no element [5]"),
        ("metric vae-cnn-z2 test_kl q", "not a number format"),
        ("model vae-cnn-z2", "not a placeholder"),
        ("label vae-cnn-z3", "unknown model 'vae-cnn-z3'"),
    ],
)
def test_a_bad_placeholder_says_what_is_wrong(placeholder: str, says: str) -> None:
    with pytest.raises(LessonError) as raised:
        placeholder_text(placeholder, MANIFEST)
    assert says in str(raised.value)


def test_a_good_lesson_parses_into_its_parts() -> None:
    lesson = parse_lesson(GOOD, "small", MANIFEST)
    assert (lesson.slug, lesson.title, lesson.order) == ("small", "A small lesson", 3)
    assert lesson.preset == Preset("generation", "vae-cnn-z2",
                                   (("gen_tab", "Interpolation"), ("gen_start", "3")))  # fmt: skip
    assert lesson.question == Question("What appears halfway?", "a digit", ("a digit", "a blur"))
    assert lesson.intro == "The intro, with the KL: 6.89 nats."
    assert (lesson.reveal, lesson.going_further) == ("A digit.", "Why?")


def _broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (GOOD.replace("---\n", "", 1), 1, "starts with a '---' line"),
        (_broken("question: What appears halfway?", "question: What: this?"), 10, "not valid YAML"),
        (_broken("page: generation", "page: generatoin"), 5, "unknown page 'generatoin'"),
        (_broken("model: vae-cnn-z2", "model: vae-cnn-z3"), 6, "unknown model 'vae-cnn-z3'"),
        (_broken("gen_start: 3", "gen_stat: 3"), 9, "has no control 'gen_stat'"),
        (_broken("gen_start: 3", "gen_start: [1, 2]"), 9, "one value"),
        (_broken("{{ metric vae-cnn-z2 test_kl }}", "{{ metric vae-cnn-z2 kl }}"), 16, "no metric"),
        (_broken("answer: 1\n", ""), 10, "no 'answer'"),
        (_broken("answer: 1", "answer: 3"), 14, "not a choice"),
        (_broken("answer: 1", "answer: a digit!"), 14, "none of the choices"),
        (_broken("  - a blur\n", ""), 11, "at least two"),
        (_broken("  - a blur", "  - a blur: or not"), 11, "needs quotes"),
        (_broken("order: 3", "order: third"), 3, "whole number"),
        (_broken("test_kl }}", "test_kl }"), 16, "closes with }}"),
        (_broken("title: A small lesson", "titel: A small lesson"), 2, "unknown setting 'titel'"),
        (_broken("## Going further", "## Further"), 21, "unknown section '## Further'"),
        (_broken("## What you should see\nA digit.\n", ""), None, "no '## What you should see'"),
    ],
)
def test_a_broken_lesson_names_its_line_and_the_problem(
    text: str, line: int | None, says: str
) -> None:
    with pytest.raises(LessonError) as raised:
        parse_lesson(text, "broken", MANIFEST)
    assert says in str(raised.value)
    assert raised.value.line == line


def test_a_number_question_needs_a_number_and_a_tolerance() -> None:
    asked = "answer: {{ metric vae-cnn-z2 test_kl }}\ntolerance: 10%\nunit: nats"
    number = _broken("choices:\n  - a digit\n  - a blur\nanswer: 1", asked)
    question = parse_lesson(number, "n", MANIFEST).question
    assert question.is_number and question.value() == 6.89 and question.relative
    assert question.is_right(6.3) and not question.is_right(6.1)  # within 10 % of 6.89
    assert question.answer_text() == "6.89 nats (within ± 10% counts as right)"
    assert question.feedback(6.3) == "Right: 6.89 nats (within ± 10% counts as right)."
    assert question.feedback(25) == (
        "Not quite: you said 25 nats; the answer is 6.89 nats (within ± 10% counts as right)."
    )
    with pytest.raises(LessonError, match="needs a 'tolerance'"):
        parse_lesson(number.replace("tolerance: 10%\n", ""), "n", MANIFEST)
    with pytest.raises(LessonError, match="needs a number"):
        parse_lesson(number.replace("{{ metric vae-cnn-z2 test_kl }}", "lots"), "n", MANIFEST)


def test_a_bad_file_is_one_problem_and_the_others_still_load(tmp_path: Path) -> None:
    for path in SHIPPED.glob("*.md"):
        shutil.copy(path, tmp_path)
    (tmp_path / "99-broken.md").write_text(_broken("model: vae-cnn-z2", "model: nope"))
    (tmp_path / "98-binary.md").write_bytes(b"\xff\xfe\x00garbage")
    loaded = load_lessons(tmp_path, MANIFEST)
    assert len(loaded.lessons) == 8
    assert sorted(str(p) for p in loaded.problems) == [
        "98-binary.md: not UTF-8 text; save it as UTF-8",
        "99-broken.md, line 6: unknown model 'nope': give a zoo name such as 'vae-cnn-z2' "
        "(python -m jlml_core zoo --table lists them)",
    ]


def test_the_readme_s_example_lesson_loads() -> None:
    text = (ROOT / "README.md").read_text()
    (example,) = [b for b in text.split("```markdown\n")[1:] if b.startswith("---\n")]
    lesson = parse_lesson(example.split("```")[0], "example", MANIFEST)
    assert lesson.preset.page == "generation" and lesson.question.answer == "Other digits or blurs"


def test_without_the_zoo_s_manifest_each_lesson_says_so() -> None:
    loaded = load_lessons(SHIPPED, {})
    assert not loaded.lessons and len(loaded.problems) == 8
    assert all("manifest has no model" in p.message and p.line for p in loaded.problems)


def test_a_preset_becomes_a_link_naming_its_zoo_models() -> None:
    preset = Preset("reconstructions", "vae-cnn-z2",
                    (("recon_compare", "true"), ("recon_second_model", "vae-cnn-z16")))  # fmt: skip
    params = preset_params(preset)
    assert params == {"model": "vae-cnn-z2", "recon_compare": "true",
                      "recon_second_model": "vae-cnn-z16"}  # fmt: skip
    url = preset_url(preset, "http://host:8501/")
    assert url.startswith("http://host:8501/reconstructions?")
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)) == params
    assert preset_url(preset).startswith("reconstructions?model=")


def test_yaml_values_become_what_a_link_carries() -> None:
    text = _broken("gen_start: 3", "gen_start: 3\n    gen_temperature: 0.5\n    gen_cb_output: yes")
    controls = dict(parse_lesson(text, "v", MANIFEST).preset.controls)
    assert controls == {"gen_tab": "Interpolation", "gen_start": "3", "gen_temperature": "0.5",
                        "gen_cb_output": "true"}  # fmt: skip


def test_the_app_root_and_the_teacher_s_switch() -> None:
    assert lessons.app_root("http://host:8501/lessons?answers=hidden") == "http://host:8501/"
    assert lessons.app_root("https://x.org/jlml/lessons") == "https://x.org/jlml/"
    assert lessons.app_root("https://x.org/jlml/lessons/") == "https://x.org/jlml/"
    assert lessons.app_root(None) == ""
    assert lessons.answers_hidden("hidden") and lessons.answers_hidden(" Hidden ")
    assert not lessons.answers_hidden(None) and not lessons.answers_hidden("shown")


def test_the_lessons_folder_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(lessons.LESSONS_ENV, raising=False)
    assert lessons.lessons_dir() == SHIPPED
    monkeypatch.setenv(lessons.LESSONS_ENV, str(tmp_path))
    assert lessons.lessons_dir() == tmp_path


# --- The controls a lesson may set are the pages' own ----------------------------------------

LINK_READERS = {"adopt_model", "adopt_models", "publish", "publish_models", "incoming"}
CLICK_READERS = {"linked_click", "publish_click"}  # links.DIGIT and links.PLACE


# Dashboard modules that draw a part of a page, with widgets a link sets.
PAGE_PARTS = {"model_zoo": (VIEWS.parent / "dashboard" / "zoo_compare.py",)}


def _link_parameters(path: Path) -> set[str]:
    """The URL parameters a view reads: its bound widgets' keys and the names it passes to
    the `links` functions that read or write a parameter."""
    tree = ast.parse(path.read_text())
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        if "bind" in keywords and ast.unparse(keywords["bind"]) == "links.BIND":
            key = keywords["key"]
            value = key.value if isinstance(key, ast.Constant) else constants.get(key.id)
            assert isinstance(value, str), f"{path.name}:{node.lineno}: key not a literal"
            names.add(value)
        module, _, function = ast.unparse(node.func).rpartition(".")
        if module == "links" and function in LINK_READERS:
            first = node.args[0]
            name = first.value if isinstance(first, ast.Constant) else constants.get(first.id)
            if name != "model":  # links.MODEL: the sidebar's, a lesson's `model`
                names.add(name)
        if module == "links" and function in CLICK_READERS:
            names |= {"digit", "at"}
    return names


def test_page_controls_are_the_parameters_the_views_read() -> None:
    from dashboard import links  # Streamlit glue; the lessons module itself stays without it

    assert (links.DIGIT, links.PLACE) == ("digit", "at")
    stems = {path.stem for path in VIEWS.glob("*.py")}
    assert stems == set(PAGE_CONTROLS) | NOT_PRESETS, "a new page: list it in PAGE_CONTROLS"
    for page, controls in PAGE_CONTROLS.items():
        parts = [VIEWS / f"{page}.py", *PAGE_PARTS.get(page, ())]
        assert set().union(*map(_link_parameters, parts)) == controls, page
    assert set().union(*PAGE_CONTROLS.values()) >= lessons.MODEL_CONTROLS


# --- Handouts ------------------------------------------------------------------------------


def test_the_handout_holds_the_questions_and_only_the_teacher_s_copy_the_answers() -> None:
    (lesson, *_) = load_lessons(SHIPPED, MANIFEST).lessons
    url = preset_url(lesson.preset, "http://host:8501/")
    student = handout_html(lesson, url)
    teacher = handout_html(lesson, url, with_answers=True)
    assert student.startswith("<!DOCTYPE html>") and "<title>What a bottleneck keeps" in student
    for choice in lesson.question.choices:
        assert choice in student
    assert url.replace("&", "&amp;") in student
    assert "What you should see" not in student and "Answer:" not in student
    assert "What you should see" in teacher
    assert f"<strong>Answer:</strong> {lesson.question.answer}</p>" in teacher
    assert "src=" not in student and "<link" not in student  # self-contained: nothing fetched


def test_markdown_in_a_handout_is_escaped_then_formatted() -> None:
    html = markdown_html(
        "A **bold** and *new* `z` <script>x</script>\n\n- one\n- two\n  more\n\n### Note\nok"
    )
    assert "<strong>bold</strong>" in html and "<em>new</em>" in html and "<code>z</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<ul><li>one</li><li>two more</li></ul>" in html
    assert "<h4>Note</h4>\n<p>ok</p>" in html
