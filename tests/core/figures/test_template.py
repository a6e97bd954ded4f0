"""The figures' template: set as Plotly's default for a construction only, same JSON as by name."""

from __future__ import annotations

import json
import threading

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from jlml_core.figures import loss_curves, template


def test_a_new_figure_sends_what_the_template_set_by_name_sends() -> None:
    trace = go.Scatter(x=[0, 1], y=[2, 3])
    by_name = go.Figure(trace, layout=dict(template=template.TEMPLATE, height=300))
    fast = template.new_figure(trace, layout=dict(height=300))
    assert json.loads(fast.to_json()) == json.loads(by_name.to_json())  # key order may differ
    subplots = template.new_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    expected = make_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    expected.update_layout(template=template.TEMPLATE)
    assert json.loads(subplots.to_json()) == json.loads(expected.to_json())


def test_a_page_figure_is_on_the_template_and_the_default_is_left_alone() -> None:
    before = pio.templates.default
    figure = loss_curves.latent_scatter_figure(
        np.zeros((4, 2)), np.array([0, 1, 2, 3]), [str(i) for i in range(10)]
    )
    assert figure.layout.template == pio.templates[template.TEMPLATE]
    assert pio.templates.default == before
    assert go.Figure().layout.template == pio.templates[before]  # other figures: untouched


def test_figures_built_in_threads_all_get_the_template_and_restore_the_default() -> None:
    before = pio.templates.default
    figures: list[go.Figure] = []

    def build() -> None:
        for _ in range(20):
            figures.append(template.new_figure())

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(figures) == 80
    assert all(f.layout.template == pio.templates[template.TEMPLATE] for f in figures)
    assert pio.templates.default == before
