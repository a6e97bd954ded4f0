"""A lesson as a printable handout: one self-contained HTML file (no Streamlit, no network).

The lesson's Markdown is turned into HTML by `markdown_html`, which knows the little Markdown a
lesson uses (paragraphs, ### headings, lists, **bold**, *italic*, `code`, links); anything else
prints as the text it is. Every piece of lesson text is HTML-escaped first.
"""

from __future__ import annotations

import html
import re

from dashboard.lessons import Lesson

_INLINE = (  # (pattern on escaped text, replacement), applied in order
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"<em>\1</em>"),
    (re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)"), r'<a href="\2">\1</a>'),
)
_BULLET = re.compile(r"[-*] ")
_NUMBERED = re.compile(r"\d+[.)] ")
_HEADING = re.compile(r"(#{1,6}) ")

STYLE = """
body { font: 12pt/1.45 Georgia, 'Times New Roman', serif; color: #111; max-width: 42em;
       margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; }
h2 { font-size: 1.15em; margin-top: 1.4em; border-bottom: 1px solid #999; }
.meta { color: #555; margin-top: 0; }
code { font-family: Menlo, Consolas, monospace; font-size: 0.92em; }
ul.choices { list-style: none; padding-left: 0.5em; }
ul.choices li::before { content: "\\2610\\00a0\\00a0"; }
.lines { height: 5.6em; background: repeating-linear-gradient(transparent 0 1.35em,
         #bbb 1.35em 1.4em); margin: 0.4em 0 1em; }
.answer { border-left: 3px solid #444; padding-left: 0.8em; }
a { color: #1a4e8a; word-break: break-all; }
@page { margin: 2cm; }
@media print { body { margin: 0; max-width: none; } a { color: #111; }
               h2 { break-after: avoid; } .lines, li { break-inside: avoid; } }
"""


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, replacement in _INLINE:
        out = pattern.sub(replacement, out)
    return out


def _list(lines: list[str], marker: re.Pattern[str], tag: str) -> str:
    """Lines of a Markdown list as <ul> or <ol>; a line without the marker continues its item."""
    items: list[list[str]] = []
    for line in lines:
        if (item := marker.match(line)) is not None:
            items.append([line[item.end() :]])
        else:
            items[-1].append(line)
    return f"<{tag}>" + "".join(f"<li>{_inline(' '.join(i))}</li>" for i in items) + f"</{tag}>"


def markdown_html(text: str) -> str:
    """A lesson's Markdown as HTML: blocks split by blank lines, inline marks, escaped text."""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    out = []
    for block in blocks:
        lines = [line.strip() for line in block.split("\n")]
        if heading := _HEADING.match(lines[0]):
            level = min(len(heading.group(1)) + 1, 6)  # the handout's h1/h2 are its own
            out.append(f"<h{level}>{_inline(lines[0][heading.end() :])}</h{level}>")
            lines = lines[1:]
            if not lines:
                continue
        for marker, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            if marker.match(lines[0]):
                out.append(_list(lines, marker, tag))
                break
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(out)


def handout_html(lesson: Lesson, view_url: str, with_answers: bool = False) -> str:
    """`lesson` as a page to print: its text, question and live view link, room to write.

    Args:
        lesson: the lesson.
        view_url: the link that opens its live view (absolute when the app's address is known).
        with_answers: add the answer and "what you should see" (the teacher's copy).
    """
    question = lesson.question
    if question.is_number:
        unit = f" {html.escape(question.unit)}" if question.unit else ""
        guess = f"<p>Your guess: ______________{unit}</p>"
    else:
        guess = '<ul class="choices">' + "".join(
            f"<li>{_inline(choice)}</li>" for choice in question.choices
        ) + "</ul>"  # fmt: skip
    link = html.escape(view_url)
    parts = [
        f"<h1>{_inline(lesson.title)}</h1>",
        f'<p class="meta">JL-ML Autoencoder Lab · lesson {lesson.order}'
        + (" · with answers" if with_answers else "")
        + "</p>",
        markdown_html(lesson.intro),
        "<h2>1. Predict</h2>",
        markdown_html(question.text),
        guess,
        "<h2>2. Try</h2>",
        f'<p>Open the live view: <a href="{link}">{link}</a></p>',
        "<p>What do you see? Was your prediction right?</p>",
        '<div class="lines"></div>',
    ]
    if with_answers:
        parts += [
            "<h2>3. What you should see</h2>",
            f'<p class="answer"><strong>Answer:</strong> {_inline(question.answer_text())}</p>',
            markdown_html(lesson.reveal),
        ]
    parts += [
        f"<h2>{'4' if with_answers else '3'}. Going further</h2>",
        markdown_html(lesson.going_further),
        '<div class="lines"></div>',
    ]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(lesson.title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
