"""dashboard/charts.py: every chart goes through `show_chart`, whose camera button saves a
print-size PNG or an SVG named after the model; every download through `download_button`."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from dashboard import charts
from jlml_core.store.zoo import DEFAULT_MODEL, ZOO
from tests.apptest_helpers import entry_for, open_page

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "dashboard" / "charts.py"


def _calls_of(name: str, methods_only: bool = False) -> list[str]:
    """`file:line` of every call of `name(...)` or `<anything>.name(...)` (only the latter with
    `methods_only`) in app.py, dashboard/ and views/."""
    files = [ROOT / "app.py", *(ROOT / "dashboard").glob("*.py"), *(ROOT / "views").glob("*.py")]
    assert len(files) > 20
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in files
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == name)
            or (not methods_only and isinstance(node.func, ast.Name) and node.func.id == name)
        )
    ]


@pytest.mark.parametrize("streamlit_call", ["plotly_chart", "download_button"])
def test_every_chart_and_download_goes_through_the_helper(streamlit_call: str) -> None:
    """`st.plotly_chart`, `column.plotly_chart`, `placeholder.plotly_chart`, ...: only in the
    helper; the pages call `show_chart` and `charts.download_button`."""
    calls = _calls_of(streamlit_call, methods_only=True)
    helper = [call for call in calls if call.startswith("dashboard/charts.py:")]
    assert len(helper) == 1, calls  # the helper's own call
    assert calls == helper, f"call the helper instead at {sorted(set(calls) - set(helper))}"
    assert len(_calls_of("show_chart")) >= 16  # every chart of every page
    assert len(_calls_of("download_button")) >= 5  # codes, tables, mosaics, replay; its own


def test_the_camera_button_saves_a_named_print_size_png_by_default() -> None:
    config = charts.chart_config("latent_scatter", ZOO[DEFAULT_MODEL], {"scrollZoom": True})
    assert config == {
        "scrollZoom": True,  # the chart's own options stay
        "toImageButtonOptions": {
            "format": "png",
            "filename": "vae-cnn-z2_latent_scatter",  # Plotly adds the extension
            "scale": 3,
        },
    }
    assert charts.PRINT_SCALE == 3


def test_or_an_svg_and_a_chart_of_no_single_model() -> None:
    options = charts.chart_config("cb_mean", image_format="svg")["toImageButtonOptions"]
    assert options == {"format": "svg", "filename": "jlml_cb_mean", "scale": 3}
    assert set(charts.IMAGE_FORMATS) == {"png", "svg"}


def _chart_config(at, key: str) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key)]
    return json.loads(chart.proto.config)


def test_the_sidebar_switches_every_camera_button_to_svg(app_env: Path) -> None:
    entry = entry_for(app_env, "vae")
    at = open_page("latent_explorer", entry.key)
    assert not at.exception
    config = _chart_config(at, "latent_scatter")
    assert config["toImageButtonOptions"] == {
        "format": "png",
        "filename": f"{entry.config.slug()}_latent_scatter",
        "scale": 3,
    }
    assert config["scrollZoom"] and not config["displaylogo"]  # the explorer's own options
    (scatter,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith("latent_scatter")]
    assert list(scatter.proto.selection_mode) == [0]  # still selects points (on_select)

    at.radio(key=charts.IMAGE_FORMAT_KEY).set_value("svg").run()
    assert not at.exception
    assert _chart_config(at, "latent_scatter")["toImageButtonOptions"]["format"] == "svg"
    at.switch_page("views/model_zoo.py").run()  # the choice holds on every page
    assert not at.exception
    formats = {
        json.loads(c.proto.config)["toImageButtonOptions"]["format"] for c in at.get("plotly_chart")
    }
    assert formats == {"svg"}
