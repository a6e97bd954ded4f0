"""AppTest for shared links: each page opens with the model and the choices its URL names.

A link is untrusted: an unknown or path-like model falls back to the default with a notice,
numbers are clamped into their widget's range, junk is ignored. A zoo model goes by its zoo name
in a link (``?model=vae-cnn-z16``), any other model by its config key; a key still works.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from dashboard.settings import LAPTOP_LIMITS
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent, plane
from jlml_core.store.checkpoints import load_model
from jlml_core.store.model_cache import CACHE_ENV, ZOO_ENV
from jlml_core.store.zoo import ZOO
from tests.apptest_helpers import ROOT, entry_for, open_link, texts
from tests.pages.test_page_loss_comparison import relabelled_copy


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def test_the_model_and_a_clicked_digit_come_from_the_link(app_env: Path) -> None:
    ae = entry_for(app_env, "ae")
    at = open_link("latent_explorer", {"model": ae.key, "digit": "7"})
    assert not at.exception
    assert at.session_state["model_key"] == ae.key
    assert at.caption[0].value.startswith("Where AE ")
    assert "**Test digit #7**" in _markdown(at)
    assert at.query_params["model"] == ae.key and at.query_params["digit"] == "7"


@pytest.mark.parametrize(
    "model", ["../../etc/passwd", "ffffffffffff", "E0CE167B8CDE", "%00", "vae-cnn-z16"]
)  # the zoo name: app_env's zoo is empty
def test_an_unknown_model_falls_back_to_the_default_with_a_notice(
    app_env: Path, model: str
) -> None:
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["model"] = model
    at.run()
    assert not at.exception
    assert "default model is shown" in texts(at.sidebar.info)
    assert any("not available here" in toast.value for toast in at.toast)
    assert at.session_state["model_key"] in {e.key for e in cache.list_entries()}
    assert at.query_params["model"] == at.session_state["model_key"]  # the URL is corrected
    at.switch_page("views/latent_explorer.py").run()
    assert not at.exception and not at.sidebar.info  # said once
    assert at.session_state["model_key"] == at.query_params["model"]


def test_a_digit_beyond_the_test_set_is_clamped_and_junk_ignored(app_env: Path) -> None:
    at = open_link("latent_explorer", {"digit": "123456"})
    assert "**Test digit #9999**" in _markdown(at)
    at = open_link("latent_explorer", {"digit": "7; rm -rf /"})
    assert not at.exception
    assert "Test digit" not in _markdown(at)
    assert any("Click a digit" in info.value for info in at.info)


def test_a_linked_place_is_decoded_exactly_and_clamped_into_the_plane(app_env: Path) -> None:
    entry = entry_for(app_env, "vae")
    codes = latent.encode_images(load_model(entry.path), load_split("mnist", "test").images).mu
    points = latent.fit_projection(codes).project(codes)  # as the page: the PCA plane
    (x0, x1), (y0, y1) = plane.plane_extent(points)
    x, y = x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 7  # arbitrary floats: read back exactly or fail
    at = open_link("latent_explorer", {"model": entry.key, "at": f"{x!r},{y!r}"})
    assert not at.exception
    assert f"**Decoded position** ({x:.2f}, {y:.2f})" in _markdown(at)
    assert at.query_params["at"] == f"{x!r},{y!r}"
    far = open_link("latent_explorer", {"model": entry.key, "at": "1e6,-1e6"})
    assert f"**Decoded position** ({x1:.2f}, {y0:.2f})" in _markdown(far)  # the plot's corner


def test_the_manifold_background_comes_from_the_link_clamped(app_env: Path) -> None:
    params = {"latent_background": "true", "latent_background_size": "500"}
    at = open_link("latent_explorer", params)
    assert not at.exception
    assert at.checkbox(key="latent_background").value is True
    assert at.slider(key="latent_background_size").value == LAPTOP_LIMITS.manifold_digits


def test_generation_opens_with_the_linked_seed_temperature_grid_and_endpoints(
    app_env: Path,
) -> None:
    params = {
        "gen_seed": "5",
        "gen_temperature": "0.5",
        "gen_grid": "40",  # above the slider's range: clamped to its maximum
        "gen_start": "12",
        "gen_end": "-3",  # below: clamped to 0
        "gen_method": "spherical",
        "gen_tab": "Interpolation",
        "gen_steps": "many",  # junk: the default
    }
    at = open_link("generation", params)
    assert not at.exception
    n = LAPTOP_LIMITS.prior_grid
    assert at.slider(key="gen_grid").value == n
    assert at.number_input(key="gen_seed").value == 5
    assert at.slider(key="gen_temperature").value == 0.5
    assert (at.number_input(key="gen_start").value, at.number_input(key="gen_end").value) == (
        12,
        0,
    )
    assert at.radio(key="gen_method").value == "spherical"
    assert at.slider(key="gen_steps").value == 8
    assert any(c.startswith(f"{n * n} samples, seed 5, temperature 0.5") for c in _captions(at))
    assert any(c.startswith("Left: test digit #12 ") for c in _captions(at))


def test_reconstructions_open_with_the_linked_selection(app_env: Path) -> None:
    at = open_link("reconstructions", {"recon_method": "By class", "recon_class": "3",
                                       "recon_count": "4", "recon_class_seed": "9"})  # fmt: skip
    assert not at.exception
    assert at.radio(key="recon_method").value == "By class"
    originals = [c for c in _captions(at) if c.startswith("#")]
    assert len(originals) == 4 and all(c.endswith("· 3") for c in originals)
    at = open_link("reconstructions", {"recon_method": "By index", "recon_indices": "5, 6"})
    assert [c.split()[0] for c in _captions(at) if c.startswith("#")] == ["#5", "#6"]


def test_model_zoo_opens_with_the_linked_models_listed_ones_only(app_env: Path) -> None:
    ae, vae4 = entry_for(app_env, "ae").key, entry_for(app_env, "vae", 4).key
    at = open_link("model_zoo", {"zoo_models": f"{vae4},../../etc/passwd,{ae},{ae}"})
    assert not at.exception
    assert at.multiselect(key="zoo_models").value == [vae4, ae]
    assert at.query_params["zoo_models"] == f"{vae4},{ae}"


def test_link_to_this_view_shows_the_model_and_the_choices(app_env: Path) -> None:
    vae = entry_for(app_env, "vae")
    at = open_link("latent_explorer", {"model": vae.key, "digit": "42"})
    at.button(key="link_to_view").click().run()
    assert not at.exception
    (link,) = [c.value for c in at.code if "model=" in c.value]
    assert f"model={vae.key}" in link and "digit=42" in link


def test_loss_comparison_keeps_its_matched_set_in_the_url(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "matched"
    shutil.copytree(app_env, folder)
    relabelled_copy(entry_for(folder, "vae").path, folder, loss="cb")  # a bce/cb pair
    monkeypatch.setenv(CACHE_ENV, str(folder))
    at = open_link("loss_comparison", {"lc_group": "no such set"})
    assert not at.exception
    matched = at.selectbox(key="lc_group")
    assert matched.value == 0  # junk: the first set
    assert matched.proto.query_param_key == "lc_group"  # bound: a choice goes into the URL
    assert at.radio(key="lc_output").proto.query_param_key == "lc_output"
    assert at.multiselect(key="lc_pixels").proto.query_param_key == "lc_pixels"


def test_a_clamped_number_goes_back_into_the_link_to_this_view(app_env: Path) -> None:
    at = open_link("generation", {"gen_grid": "40", "gen_seed": "5"})
    most = LAPTOP_LIMITS.prior_grid
    assert at.slider(key="gen_grid").value == most
    at.button(key="link_to_view").click().run()
    (link,) = [c.value for c in at.code if "gen_seed=" in c.value]
    assert f"gen_grid={most}" in link and "gen_seed=5" in link
    at.slider(key="gen_grid").set_value(3).run()  # a later choice replaces the clamped one
    at.button(key="link_to_view").click().run()
    (link,) = [c.value for c in at.code if "gen_seed=" in c.value]
    assert f"gen_grid={most}" not in link


def test_reconstructions_open_with_the_linked_second_model_and_error_view(app_env: Path) -> None:
    vae, ae = entry_for(app_env, "vae"), entry_for(app_env, "ae")
    params = {"model": vae.key, "recon_compare": "true", "recon_second_model": ae.key,
              "recon_show_error": "true", "recon_error_kind": "signed x̂ − x"}  # fmt: skip
    at = open_link("reconstructions", params)
    assert not at.exception
    assert at.selectbox(key="recon_second_model").value == ae.key
    assert at.radio(key="recon_error_kind").value == "signed"
    assert at.query_params["recon_second_model"] == ae.key
    at = open_link("reconstructions", {**params, "recon_second_model": "../../etc/passwd"})
    assert not at.exception
    assert at.selectbox(key="recon_second_model").value != "../../etc/passwd"  # the first other
    assert at.query_params["recon_second_model"] == at.selectbox(key="recon_second_model").value
    at.toggle(key="recon_compare").set_value(False).run()
    assert "recon_second_model" not in at.query_params


def test_the_posterior_overlay_and_zoo_views_come_from_the_link(app_env: Path) -> None:
    at = open_link("latent_explorer", {"latent_posteriors": "true"})
    assert not at.exception
    assert at.checkbox(key="latent_posteriors").value is True
    at = open_link(
        "model_zoo", {"zoo_view": "Distance and radius", "zoo_quantity": "no such thing"}
    )
    assert not at.exception
    bound = {w.key: w.proto.query_param_key for w in [*at.radio, *at.selectbox]}
    assert bound.get("zoo_quantity") == "zoo_quantity"  # its tab is open: the link said so
    at = open_link("model_zoo", {"zoo_view": "no such tab"})
    assert not at.exception
    assert at.slider(key="zoo_points")  # the first tab


# --- Zoo models by name -----------------------------------------------------------------------


@pytest.fixture
def zoo_env(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped zoo (checkpoints/) beside app_env's tiny models, which are not zoo models."""
    monkeypatch.setenv(ZOO_ENV, str(ROOT / "checkpoints"))
    return app_env


def _link_to_this_view(at: AppTest) -> str:
    at.button(key="link_to_view").click().run()
    assert not at.exception
    (link,) = [c.value for c in at.code if "model=" in c.value]
    return link


def test_a_zoo_name_in_the_link_selects_that_zoo_model(zoo_env: Path) -> None:
    key = ZOO["vae-cnn-z16"].key()
    at = open_link("home", {"model": "vae-cnn-z16"})
    assert not at.exception and not at.sidebar.info
    assert at.session_state["model_key"] == key
    assert at.query_params["model"] == "vae-cnn-z16"
    assert "zoo model `vae-cnn-z16`" in texts(at.sidebar.caption)  # the name to edit a link with
    link = _link_to_this_view(at)
    assert "model=vae-cnn-z16" in link and key not in link


def test_an_old_link_with_a_zoo_model_s_key_still_selects_it(zoo_env: Path) -> None:
    key = ZOO["vae-cnn-z16"].key()
    at = open_link("home", {"model": key})
    assert not at.exception and not at.sidebar.info
    assert at.session_state["model_key"] == key
    assert at.query_params["model"] == "vae-cnn-z16"  # the address now reads by name


def test_a_model_outside_the_zoo_is_linked_by_its_key(zoo_env: Path) -> None:
    ae = entry_for(zoo_env, "ae")
    at = open_link("home", {"model": ae.key})
    assert not at.exception and at.session_state["model_key"] == ae.key
    assert at.query_params["model"] == ae.key
    assert "zoo model" not in texts(at.sidebar.caption)
    assert f"model={ae.key}" in _link_to_this_view(at)
    at.selectbox(key="model_key").set_value(ZOO["vae-cnn-z2"].key()).run()  # picked by hand
    assert not at.exception
    assert at.query_params["model"] == "vae-cnn-z2"


def test_the_second_model_and_the_compared_models_go_by_zoo_name(zoo_env: Path) -> None:
    params = {"model": "vae-cnn-z2", "recon_method": "By index", "recon_indices": "0, 1",
              "recon_compare": "true", "recon_second_model": "vae-cnn-z2-mse"}  # fmt: skip
    at = open_link("reconstructions", params)
    assert not at.exception
    assert at.selectbox(key="recon_second_model").value == ZOO["vae-cnn-z2-mse"].key()
    assert at.query_params["recon_second_model"] == "vae-cnn-z2-mse"
    assert "recon_second_model=vae-cnn-z2-mse" in _link_to_this_view(at)
    old = {"zoo_mode": "Pick models", "zoo_models": f"{ZOO['vae-dense-z2'].key()},ae-dense-z2"}
    at = open_link("model_zoo", {**old, "zoo_points": "500"})
    assert not at.exception
    assert at.multiselect(key="zoo_models").value == [
        ZOO["vae-dense-z2"].key(),
        ZOO["ae-dense-z2"].key(),
    ]
    assert at.query_params["zoo_models"] == "vae-dense-z2,ae-dense-z2"
