"""Lessons a teacher writes in Markdown: reading, checking and linking them (no Streamlit).

A lesson is one file in ``lessons/`` (``$JLML_LESSONS_DIR`` elsewhere): YAML front matter
between two ``---`` lines, then Markdown. The front matter names the title, the order, the
preset view (a page, a zoo model by its zoo name, the page's controls as a link carries them)
and a question: choices with the right one as ``answer``, or a number ``answer`` with a
``tolerance``. The Markdown holds the introduction, then ``## What you should see`` and
``## Going further``. ``{{ metric MODEL NAME }}`` anywhere in the file is filled in from the zoo
manifest before the file is read, so a lesson's numbers are the models' own (and
``{{ label MODEL }}`` with the model's name in the sidebar).

Every problem in a file becomes one `Problem` naming the file (and line); the other lessons
still load. `preset_params` is the one place a lesson becomes a link's query parameters.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dashboard.inputs import model_link_value, view_url
from jlml_core.config import PROJECT_DIR
from jlml_core.store.checkpoints import Entry
from jlml_core.store.zoo import ZOO

LESSONS_ENV = "JLML_LESSONS_DIR"
MAX_LESSON_BYTES = 100_000  # a lesson a student reads in two minutes is a few kB

# The pages a lesson can open, with the URL parameters each one reads: the keys of its widgets
# bound to the URL (`bind=links.BIND`), then the ones it reads itself (`links.incoming`).
# tests/dashboard/test_lessons.py checks this against views/*.py, so it cannot drift.
# fmt: off
PAGE_CONTROLS: dict[str, frozenset[str]] = {
    "reconstructions": frozenset({
        "recon_method", "recon_count", "recon_seed", "recon_class", "recon_class_seed",
        "recon_indices", "recon_show_error", "recon_error_kind", "recon_compare",
        "recon_cb_output",
        "recon_second_model",  # no widget: links.adopt_model reads it
    }),
    "latent_explorer": frozenset({
        "latent_background", "latent_background_size", "latent_posteriors",
        "digit", "at",  # no widgets: the clicked test digit or place (links.linked_click)
    }),
    "your_digit": frozenset(),
    "generation": frozenset({
        "gen_cb_output", "gen_tab", "gen_grid", "gen_seed", "gen_temperature", "gen_start",
        "gen_end", "gen_steps", "gen_method", "gen_plane_grid", "gen_a", "gen_b", "gen_c",
        "gen_mosaic_grid", "gen_margin",
    }),
    "loss_comparison": frozenset({"lc_group", "lc_output", "lc_pixels"}),
    "model_zoo": frozenset({
        "zoo_metric", "zoo_mode", "zoo_sweep", "zoo_view", "zoo_points", "zoo_quantity",
        "zoo_models",  # no widget: links.adopt_models reads it
    }),
}
# fmt: on
# Controls whose values are models: a lesson names them by zoo name, like its preset's model.
MODEL_CONTROLS = frozenset({"recon_second_model", "zoo_models"})

# How a metric reads in a sentence; any other number gets DEFAULT_FORMAT.
METRIC_FORMATS = {
    "knn_accuracy": ".1%",
    "sample_confidence": ".1%",
    "active_units": ".0f",
    "test_kl": ".2f",
    "posterior_radius": ".3f",
    "train_seconds": ".0f",
    "images_per_second": ".0f",
}
DEFAULT_FORMAT = ".1f"

FRONT_KEYS = ("title", "order", "preset", "question", "choices", "answer", "tolerance", "unit")
PRESET_KEYS = ("page", "model", "controls")
REVEAL, GOING_FURTHER = "What you should see", "Going further"
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
INDEXED = re.compile(r"(\w+)\[(\d+)\]")  # a list metric's element: code_spread[0]
HIDDEN = "hidden"  # ?answers=hidden: the teacher's link


class LessonError(ValueError):
    """A problem in a lesson file, at a line of it when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Problem:
    """Why one lesson file did not load."""

    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Preset:
    """The live view a lesson opens: a page, a zoo model and the page's controls."""

    page: str
    model: str  # a name in jlml_core.store.zoo.ZOO
    controls: tuple[tuple[str, str], ...] = ()  # (URL parameter, value as a link carries it)


@dataclass(frozen=True)
class Question:
    """The prediction asked before the live view opens.

    With `choices` the answer is the right choice's text; without, it is a number and a
    guess within `tolerance` of it counts (`relative`: a fraction of the answer).
    """

    text: str
    answer: str
    choices: tuple[str, ...] = ()
    tolerance: float = 0.0
    relative: bool = False
    unit: str = ""

    @property
    def is_number(self) -> bool:
        """Whether the student guesses a number rather than picking a choice."""
        return not self.choices

    def value(self) -> float:
        """A number question's answer as a float."""
        return _number(self.answer)

    def is_right(self, response: str | float) -> bool:
        """Whether `response` (a choice's text, or a guessed number) is right."""
        if not self.is_number:
            return response == self.answer
        value = self.value()
        tolerance = abs(value) * self.tolerance if self.relative else self.tolerance
        return abs(float(response) - value) <= tolerance + 1e-9

    def response_text(self, response: str | float) -> str:
        """A student's response as it reads back: '25 nats', or the choice."""
        if not self.is_number:
            return str(response)
        return f"{float(response):g}" + (f" {self.unit}" if self.unit else "")

    def feedback(self, response: str | float) -> str:
        """What a student who predicted `response` is told."""
        if self.is_right(response):
            return f"Right: {self.answer_text()}."
        if self.is_number:
            said = self.response_text(response)
            return f"Not quite: you said {said}; the answer is {self.answer_text()}."
        return f"Not quite: the answer is “{self.answer}”."

    def answer_text(self) -> str:
        """The answer as a sentence part: '6.43 nats (± 0.5 counts)' or the right choice."""
        if not self.is_number:
            return self.answer
        unit = f" {self.unit}" if self.unit else ""
        if self.tolerance == 0:
            return f"{self.answer}{unit}"
        spread = f"{self.tolerance:.0%}" if self.relative else f"{self.tolerance:g}{unit}"
        return f"{self.answer}{unit} (within ± {spread} counts as right)"


@dataclass(frozen=True)
class Lesson:
    """One lesson, its placeholders filled in."""

    slug: str  # the file name without .md: keys, handout names
    title: str
    order: int
    preset: Preset
    question: Question
    intro: str  # Markdown
    reveal: str  # Markdown: what you should see
    going_further: str  # Markdown: a question to think on


@dataclass(frozen=True)
class LessonSet:
    """The lessons of a folder that loaded, in order, and one problem per file that did not."""

    lessons: tuple[Lesson, ...]
    problems: tuple[Problem, ...]


# --- Reading a folder ----------------------------------------------------------------------


def lessons_dir() -> Path:
    """$JLML_LESSONS_DIR, else the project's lessons/ folder."""
    if env := os.environ.get(LESSONS_ENV):
        return Path(env)
    return PROJECT_DIR / "lessons"


def load_lessons(folder: Path, manifest: Mapping[str, Any]) -> LessonSet:
    """Every ``*.md`` file of `folder` as a lesson; a file that fails becomes one `Problem`.

    Args:
        folder: where the lesson files are.
        manifest: the zoo manifest (`jlml_core.store.zoo.read_manifest()`) that fills the
            ``{{ metric ... }}`` placeholders.
    """
    lessons, problems = [], []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        try:
            lessons.append(parse_lesson(_read(path), path.stem, manifest))
        except LessonError as error:
            problems.append(Problem(path.name, str(error), error.line))
    lessons.sort(key=lambda lesson: (lesson.order, lesson.slug))
    return LessonSet(tuple(lessons), tuple(problems))


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_LESSON_BYTES:
            raise LessonError(f"longer than {MAX_LESSON_BYTES // 1000} kB; is it a lesson?")
        return path.read_text(encoding="utf-8-sig")  # a BOM from a Windows editor is dropped
    except UnicodeDecodeError as error:
        raise LessonError("not UTF-8 text; save it as UTF-8") from error
    except OSError as error:
        raise LessonError(f"cannot be read ({error.strerror})") from error


# --- Parsing one file ----------------------------------------------------------------------


def parse_lesson(text: str, slug: str, manifest: Mapping[str, Any]) -> Lesson:
    """One lesson file's text, checked and with its placeholders filled in.

    Args:
        text: the file's contents.
        slug: the file name without ``.md``.
        manifest: the zoo manifest the placeholders read.

    Raises:
        LessonError: the first problem found, with its line when known.
    """
    lines = fill_placeholders(text.replace("\r\n", "\n"), manifest).split("\n")
    if not lines or lines[0].strip() != "---":
        raise LessonError("a lesson starts with a '---' line, its settings, then '---'", 1)
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if end is None:
        raise LessonError("the settings at the top are not closed by a '---' line", 1)
    front = _front_matter("\n".join(lines[1:end]), first_line=2)
    intro, reveal, going_further = _sections(lines[end + 1 :], first_line=end + 2)
    return Lesson(
        slug=slug,
        title=_text(front, "title"),
        order=_order(front),
        preset=_preset(front),
        question=_question(front),
        intro=intro,
        reveal=reveal,
        going_further=going_further,
    )


@dataclass(frozen=True)
class _Front:
    """The parsed front matter and, for messages, the line of each key's value."""

    data: dict[str, Any]
    lines: dict[tuple[str, ...], int]

    def line(self, *path: str) -> int | None:
        return self.lines.get(path) or (self.lines.get(path[:-1]) if len(path) > 1 else None)


def _front_matter(text: str, first_line: int) -> _Front:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = first_line + mark.line if mark is not None else None
        problem = error.problem or "unreadable"
        hint = " (text with ': ' or ' #' in it needs quotes)" if "mapping" in problem else ""
        raise LessonError(f"the settings are not valid YAML: {problem}{hint}", line) from None
    except yaml.YAMLError as error:
        raise LessonError(f"the settings are not valid YAML: {error}", first_line) from None
    if not isinstance(data, dict):
        raise LessonError("the settings must be 'key: value' lines", first_line)
    lines: dict[tuple[str, ...], int] = {}
    _collect_lines(node, (), first_line, lines)
    front = _Front(data, lines)
    for key in data:
        if key not in FRONT_KEYS:
            raise LessonError(f"unknown setting {key!r} (known: {', '.join(FRONT_KEYS)})",
                              front.line(str(key)))  # fmt: skip
    return front


def _collect_lines(
    node: yaml.Node | None, path: tuple[str, ...], first: int, out: dict[tuple[str, ...], int]
) -> None:
    """The line of every mapping key's value under `node`, by its path of keys."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            key_path = (*path, str(key.value))
            out[key_path] = first + key.start_mark.line
            _collect_lines(value, key_path, first, out)


def _text(front: _Front, key: str) -> str:
    value = front.data.get(key)
    if value is None:
        raise LessonError(f"the lesson has no {key!r}", front.line(key))
    if not isinstance(value, str) or not value.strip():
        raise LessonError(f"{key!r} must be text", front.line(key))
    return value.strip()


def _order(front: _Front) -> int:
    order = front.data.get("order")
    if not isinstance(order, int) or isinstance(order, bool):
        raise LessonError("'order' must be a whole number (lessons are listed by it)",
                          front.line("order"))  # fmt: skip
    return order


def _preset(front: _Front) -> Preset:
    preset = front.data.get("preset")
    if not isinstance(preset, dict):
        raise LessonError("the lesson has no 'preset' with its page, model and controls",
                          front.line("preset"))  # fmt: skip
    for key in preset:
        if key not in PRESET_KEYS:
            raise LessonError(f"unknown preset setting {key!r} (known: {', '.join(PRESET_KEYS)})",
                              front.line("preset", str(key)))  # fmt: skip
    page = preset.get("page")
    if page not in PAGE_CONTROLS:
        raise LessonError(f"unknown page {page!r} (pages: {', '.join(PAGE_CONTROLS)})",
                          front.line("preset", "page"))  # fmt: skip
    model = _zoo_name(preset.get("model"), front.line("preset", "model"))
    controls = preset.get("controls") or {}
    if not isinstance(controls, dict):
        line = front.line("preset", "controls")
        raise LessonError("'controls' must be 'name: value' lines", line)
    pairs = []
    for name, value in controls.items():
        line = front.line("preset", "controls", str(name))
        allowed = PAGE_CONTROLS[page]
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise LessonError(f"the {page} page has no control {name!r} (its controls: {known})",
                              line)  # fmt: skip
        text = _control_value(value, line)
        if name in MODEL_CONTROLS:
            for piece in text.split(","):
                _zoo_name(piece.strip(), line)
        pairs.append((str(name), text))
    return Preset(page, model, tuple(pairs))


def _zoo_name(name: Any, line: int | None) -> str:
    if name not in ZOO:
        raise LessonError(f"unknown model {name!r}: give a zoo name such as 'vae-cnn-z2' "
                          "(python -m jlml_core zoo --table lists them)", line)  # fmt: skip
    return name


def _control_value(value: Any, line: int | None) -> str:
    """A YAML value as the text a link carries: true/false, numbers as written, text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)) or (isinstance(value, float) and math.isfinite(value)):
        return str(value).strip()
    raise LessonError("a control takes one value: a number, true/false or text", line)


def _question(front: _Front) -> Question:
    text = _text(front, "question")
    answer = front.data.get("answer")
    if answer is None:
        raise LessonError("the question has no 'answer'", front.line("question"))
    choices = front.data.get("choices")
    unit = str(front.data.get("unit") or "")
    if choices is not None:
        return Question(text, _right_choice(choices, answer, front), _choices(choices, front))
    try:
        _number(answer)
    except ValueError:
        raise LessonError("a question without 'choices' needs a number as its 'answer'",
                          front.line("answer")) from None  # fmt: skip
    tolerance, relative = _tolerance(front)
    return Question(text, str(answer), (), tolerance, relative, unit)


def _choices(choices: Any, front: _Front) -> tuple[str, ...]:
    if not isinstance(choices, list) or len(choices) < 2:
        raise LessonError("'choices' must list at least two answers, one per '- ' line",
                          front.line("choices"))  # fmt: skip
    if any(isinstance(choice, (dict, list)) for choice in choices):
        raise LessonError("a choice with ': ' in it needs quotes", front.line("choices"))
    texts = tuple(str(choice).strip() for choice in choices)
    if len(set(texts)) != len(texts):
        raise LessonError("two choices are the same", front.line("choices"))
    return texts


def _right_choice(choices: Any, answer: Any, front: _Front) -> str:
    """The right choice: `answer` is its number (1 = the first) or its exact text."""
    texts = _choices(choices, front)
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 1 <= answer <= len(texts):
            return texts[answer - 1]
        raise LessonError(f"'answer: {answer}' is not a choice: give 1 to {len(texts)} or the "
                          "right choice's text", front.line("answer"))  # fmt: skip
    if str(answer).strip() in texts:
        return str(answer).strip()
    raise LessonError("'answer' is none of the choices: give its number (1 = the first) or "
                      "its exact text", front.line("answer"))  # fmt: skip


def _tolerance(front: _Front) -> tuple[float, bool]:
    """A number question's tolerance: an absolute number, or a percentage of the answer."""
    raw = front.data.get("tolerance")
    line = front.line("tolerance") or front.line("answer")
    if raw is None:
        raise LessonError("a number question needs a 'tolerance' (e.g. 0.5, or 10%)", line)
    text = str(raw).strip()
    relative = text.endswith("%")
    try:
        value = _number(text)
    except ValueError:
        raise LessonError("'tolerance' must be a number or a percentage", line) from None
    if value < 0:
        raise LessonError("'tolerance' cannot be negative", line)
    return (value / 100 if relative else value), relative


def _number(value: Any) -> float:
    """A number written in a lesson ('6.43', '69.7%', 1,234): as a float; ValueError if none."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    number = float(str(value).strip().rstrip("%").replace(",", ""))
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _sections(lines: list[str], first_line: int) -> tuple[str, str, str]:
    """The Markdown after the settings: the introduction, then the two named sections."""
    named = {REVEAL.lower(): REVEAL, GOING_FURTHER.lower(): GOING_FURTHER}
    parts: dict[str, list[str]] = {"": []}
    current = ""
    for number, line in enumerate(lines, first_line):
        if line.startswith("## "):
            heading = line[3:].strip().rstrip("#").strip()
            if heading.lower() not in named:
                raise LessonError(f"unknown section '## {heading}': a lesson's sections are "
                                  f"'## {REVEAL}' and '## {GOING_FURTHER}'", number)  # fmt: skip
            current = named[heading.lower()]
            if current in parts:
                raise LessonError(f"a second '## {current}' section", number)
            parts[current] = []
        else:
            parts[current].append(line)
    texts = {name: "\n".join(body).strip() for name, body in parts.items()}
    for name in (REVEAL, GOING_FURTHER):
        if not texts.get(name):
            raise LessonError(f"the lesson has no '## {name}' section (or it is empty)")
    if not texts[""]:
        raise LessonError("the lesson has no introduction between the settings and its sections")
    return texts[""], texts[REVEAL], texts[GOING_FURTHER]


# --- Numbers from the zoo ------------------------------------------------------------------


def fill_placeholders(text: str, manifest: Mapping[str, Any]) -> str:
    """`text` with every ``{{ metric MODEL NAME [FORMAT] }}`` replaced by the manifest's number
    and every ``{{ label MODEL }}`` by the model's name in the sidebar.

    NAME is a key of the model's metrics (``test_kl``, ``knn_accuracy``, ...), or a list
    metric's element (``code_spread[0]``); FORMAT is an optional Python format spec (``.3f``).

    Raises:
        LessonError: an unknown placeholder, model or metric, at its line.
    """
    out = []
    for number, line in enumerate(text.split("\n"), 1):
        try:
            filled = PLACEHOLDER.sub(lambda m: placeholder_text(m.group(1), manifest), line)
        except LessonError as error:
            raise LessonError(str(error), number) from None
        if "{{" in filled or "}}" in filled:
            raise LessonError("a placeholder opens with {{ and closes with }} on one line", number)
        out.append(filled)
    return "\n".join(out)


def placeholder_text(placeholder: str, manifest: Mapping[str, Any]) -> str:
    """The text of one placeholder's inside: ``metric vae-cnn-z2 test_kl`` -> '6.43',
    ``label vae-dense-z2`` -> 'VAE · dense · z=2 · bce · 20 ep' (as the sidebar lists it).

    Raises:
        LessonError: it is no placeholder, or names an unknown model or metric.
    """
    words = placeholder.split()
    if len(words) == 2 and words[0] == "label":
        # The sidebar's label is a function of the config alone; no folder is read.
        return Entry(Path(words[1]), ZOO[_zoo_name(words[1], None)], {}).label
    if len(words) not in (3, 4) or words[0] != "metric":
        example = "{{ metric MODEL NAME }} or {{ label MODEL }}"
        raise LessonError(f"'{{{{{placeholder}}}}}' is not a placeholder: write {example}")
    _, model, name, *spec = words
    record = manifest.get(model)
    if not isinstance(record, dict):
        raise LessonError(f"the zoo manifest has no model {model!r}")
    metrics = record.get("metrics") or {}
    index = None
    if (indexed := INDEXED.fullmatch(name)) is not None:
        name, index = indexed.group(1), int(indexed.group(2))
    if name not in metrics:
        numeric = sorted(k for k, v in metrics.items() if isinstance(v, (int, float, list)))
        raise LessonError(f"{model} has no metric {name!r} (its metrics: {', '.join(numeric)})")
    value = metrics[name]
    if index is not None:
        if not isinstance(value, list) or index >= len(value):
            raise LessonError(f"{model}'s {name} has no element [{index}]")
        value = value[index]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        what = "a list: pick an element, e.g. [0]" if isinstance(value, list) else "not recorded"
        raise LessonError(f"{model}'s {name} is {what}")
    fmt = spec[0] if spec else METRIC_FORMATS.get(name, DEFAULT_FORMAT)
    try:
        return format(value, fmt)
    except ValueError:
        raise LessonError(f"{fmt!r} is not a number format (try .1f, .2f or .1%)") from None


# --- Links ---------------------------------------------------------------------------------


def model_param(name: str) -> str:
    """How a link names a zoo model: by its readable zoo name (``model=vae-cnn-z2``).

    Links read names and keys alike (`dashboard.inputs.parse_model_key`); `model_link_value`
    is what every other link writes, so lessons write the same.
    """
    return model_link_value(ZOO[name].key())


def preset_params(preset: Preset) -> dict[str, str]:
    """The query parameters that open `preset`'s page as a shared link would."""
    params = {"model": model_param(preset.model)}
    for name, value in preset.controls:
        if name in MODEL_CONTROLS:
            value = ",".join(model_param(piece.strip()) for piece in value.split(","))
        params[name] = value
    return params


def preset_url(preset: Preset, app_url: str = "") -> str:
    """The link to `preset`: relative to the app's pages, or absolute under `app_url`."""
    return view_url(app_url + preset.page, preset_params(preset))


def app_root(page_url: str | None) -> str:
    """The app's root URL ('http://host:8501/') from a page's URL; '' when it is unknown."""
    if not page_url:
        return ""
    parts = urllib.parse.urlsplit(page_url)
    path = parts.path.rstrip("/").rsplit("/", 1)[0] + "/"  # '/lessons/' is the page too
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def answers_hidden(value: str | None) -> bool:
    """Whether the page's ``?answers=`` asks to hide the answers (the teacher's link)."""
    return (value or "").strip().lower() == HIDDEN
