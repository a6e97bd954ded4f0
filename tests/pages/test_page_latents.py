"""AppTest for the beta-VAE and posterior-collapse sections (issue #18, families 2 and 7):
Generation's "Latent traversals" tab and the Model Zoo's "Posterior collapse" section."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from dashboard.collapse_view import COLLAPSE_OPEN
from tests.apptest_helpers import ROOT, entry_for, open_page


def _chart(at: AppTest, key: str) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key)]
    return json.loads(chart.proto.spec)


def _values(array: dict | list) -> list[float]:
    """A figure spec's array: Plotly writes numpy arrays as base64 ``bdata``."""
    if isinstance(array, list):
        return array
    return np.frombuffer(base64.b64decode(array["bdata"]), np.dtype(array["dtype"])).tolist()


def _text(elements) -> str:
    return " ".join(e.value for e in elements)


def _traversals(model_key: str | None) -> AppTest:
    """Generation with its "Latent traversals" tab open (the tab runs only when open)."""
    at = open_page("generation", model_key)
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("gen_traversal")]
    at.session_state["gen_tab"] = "Latent traversals"  # as a click on the tab does
    return at.run()


def _collapse_section(model_key: str) -> AppTest:
    """The Model Zoo with its collapse section shown (its toggle on)."""
    at = open_page("model_zoo", model_key)
    return at.toggle(key=COLLAPSE_OPEN).set_value(True).run()


def test_traversal_grid_of_a_vae_follows_the_chosen_digit(app_env: Path) -> None:
    entry = entry_for(app_env, "vae", 4)  # the tiny 4-D VAE
    at = _traversals(entry.key)
    assert not at.exception
    grid = _chart(at, "gen_traversal")
    rows = grid["layout"]["yaxis"]["ticktext"]
    assert len(rows) == 4 and all(" nats" in row for row in rows)
    kls = [float(row.split("· ")[1].split(" ")[0]) for row in rows]
    assert kls == sorted(kls, reverse=True)  # largest KL first
    assert grid["layout"]["xaxis"]["ticktext"][0] == "-3"
    assert "dimensions are active" in _text(at.caption)
    bars = _chart(at, "gen_kl_bars")
    assert len(bars["data"]) == 1 and len(bars["data"][0]["x"]) == 4
    first = grid["data"][0]["z"]
    at.number_input(key="gen_trav_digit").set_value(5).run()
    assert not at.exception
    assert _chart(at, "gen_traversal")["data"][0]["z"] != first
    at.slider(key="gen_trav_rows").set_value(2).run()
    assert len(_chart(at, "gen_traversal")["layout"]["yaxis"]["ticktext"]) == 2
    # The tiny cache has no beta pair: the page says so instead of failing.
    assert "β pair" in _text(at.caption)


def test_traversals_say_plainly_that_an_autoencoder_has_none(app_env: Path) -> None:
    at = _traversals(entry_for(app_env, "ae").key)
    assert not at.exception
    assert any("Latent traversals need a VAE" in info.value for info in at.info)
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("gen_traversal")]


def test_model_zoo_plots_the_collapse_numbers_recorded_in_training(app_env: Path) -> None:
    entry = entry_for(app_env, "vae", 4)
    at = open_page("model_zoo", entry.key)
    assert not at.exception
    assert any("Posterior collapse" in h.value for h in at.header)
    assert not [c for c in at.get("plotly_chart") if "collapse" in c.proto.id]  # until asked
    at = _collapse_section(entry.key)
    assert not at.exception
    history = _chart(at, "zoo_collapse_history")
    names = [trace["name"] for trace in history["data"]]
    assert names == ["z1", "z2", "z3", "z4", "active units", "I(x; z)"]
    assert _values(history["data"][0]["x"]) == [1.0, 2.0]  # the tiny model's two epochs
    bars = _chart(at, "zoo_collapse_bars")
    assert len(bars["data"]) == 1  # no remedy pair in the tiny cache: the model alone


def test_a_history_without_the_numbers_is_read_as_not_recorded(
    app_env: Path, tmp_path: Path
) -> None:
    entry = entry_for(app_env, "vae", 4)
    history = json.loads((entry.path / "history.json").read_text())
    for record in history:
        for key in ("test_kl_per_dim", "test_active_units", "test_mutual_information"):
            record.pop(key)
    original = (entry.path / "history.json").read_text()
    try:
        (entry.path / "history.json").write_text(json.dumps(history))
        cache.history_for.clear()
        at = _collapse_section(entry.key)
        assert not at.exception
        assert "trained before training recorded these numbers" in _text(at.caption)
        assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("collapse_history")]
    finally:
        (entry.path / "history.json").write_text(original)
        cache.history_for.clear()


@pytest.mark.skipif(
    not any((ROOT / "checkpoints").glob("mnist-vae-cnn_shallow-z10-*")),
    reason="the zoo's beta pair is not built in checkpoints/",
)
def test_the_shipped_beta_pair_sits_side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("JLML_ZOO_DIR", raising=False)
    at = _traversals(None)
    assert not at.exception
    pair = _chart(at, "gen_beta_pair")
    assert len(pair["data"]) == 2
    # beta = 4 prices KL four times higher: more dimensions fall to (nearly) nothing.
    nearly_off = [sum(kl < 0.25 for kl in _values(bars["y"])) for bars in pair["data"]]
    assert nearly_off[1] > nearly_off[0]


def _live_collapse_script() -> None:
    from dashboard.collapse_view import with_collapse_chart
    from jlml_core.config import TrainConfig
    from jlml_core.training.train import fit

    config = TrainConfig(arch="dense", latent_dim=3, hidden_dim=32, epochs=2, train_subset=500)
    fit(config, on_progress=with_collapse_chart(lambda progress: None, config))


def test_the_train_page_redraws_the_collapse_numbers_after_each_epoch(app_env: Path) -> None:
    at = AppTest.from_function(_live_collapse_script, default_timeout=120).run()
    assert not at.exception
    (chart,) = at.get("plotly_chart")  # one placeholder, redrawn after every epoch
    assert chart.proto.id.endswith("train_collapse_2")
    spec = json.loads(chart.proto.spec)
    assert [trace["name"] for trace in spec["data"]] == [
        "z1",
        "z2",
        "z3",
        "active units",
        "I(x; z)",
    ]
    assert _values(spec["data"][3]["x"]) == [1.0, 2.0]
