"""AppTest for the Reconstructions page: originals over reconstructions, and its controls."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import entry_for, open_page

ROOT = Path(__file__).resolve().parents[2]


def _key(cache_dir: Path, kind: str, latent_dim: int = 2) -> str:
    return entry_for(cache_dir, kind, latent_dim).key


def _page(model_key: str) -> AppTest:
    return open_page("reconstructions", model_key)


def _image_count(at: AppTest) -> int:
    return sum(len(image.value) for image in at.image)


def _captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def test_rows_of_originals_and_reconstructions_follow_the_digit_count(app_env: Path) -> None:
    at = _page(_key(app_env, "vae"))
    assert not at.exception
    assert at.title[0].value == "Reconstructions"
    assert _image_count(at) == 2 * 10
    captions = _captions(at)
    assert sum(c.startswith("#") for c in captions) == 10  # originals: index and class
    assert sum(c.startswith("BCE ") for c in captions) == 10  # losses under reconstructions
    at.slider(key="recon_count").set_value(4).run()
    assert _image_count(at) == 2 * 4
    at.toggle(key="recon_show_error").set_value(True).run()
    assert _image_count(at) == 3 * 4
    at.number_input(key="recon_seed").set_value(7).run()
    assert _captions(at)[:4] != captions[:4]  # a new seed, other digits


def test_indices_are_validated(app_env: Path) -> None:
    at = _page(_key(app_env, "vae"))
    at.radio(key="recon_method").set_value("By index").run()
    at.text_input(key="recon_indices").set_value("3, 9999, 12").run()
    assert not at.exception
    assert _image_count(at) == 6 and _captions(at)[0].startswith("#3 ")
    at.text_input(key="recon_indices").set_value("3, 10000").run()
    assert not at.exception
    assert "Out of range: 10000" in at.error[0].value
    assert _image_count(at) == 0
    at.text_input(key="recon_indices").set_value("seven").run()
    assert "Not a whole number" in at.error[0].value


def test_worst_reconstructed_are_sorted_by_loss(app_env: Path) -> None:
    at = _page(_key(app_env, "vae"))
    at.radio(key="recon_method").set_value("Worst reconstructed").run()
    losses = [float(c.split()[1]) for c in _captions(at) if c.startswith("BCE ")]
    assert len(losses) == 10
    assert all(a >= b - 0.05 for a, b in zip(losses, losses[1:], strict=False))
    assert any("reconstructs worst" in c.value for c in at.caption)


def test_second_model_adds_its_rows_for_the_same_digits(app_env: Path) -> None:
    at = _page(_key(app_env, "vae"))
    at.toggle(key="recon_compare").set_value(True).run()
    assert not at.exception
    assert _image_count(at) == 3 * 10
    labels = [m.value for m in at.markdown if m.value.startswith("**Reconstructions")]
    assert len(labels) == 2 and labels[0] != labels[1]


def test_continuous_bernoulli_model_offers_lambda_or_mean(app_env: Path) -> None:
    at = _page(_key(app_env, "vae", latent_dim=4))
    assert any("continuous-Bernoulli decoder" in c.value for c in at.caption)
    before = [image.value for image in at.image]
    at.radio(key="recon_cb_output").set_value("cb_mean").run()
    assert not at.exception
    after = [image.value for image in at.image]
    assert after[0] == before[0]  # the same originals ...
    assert after[10:] != before[10:]  # ... decoded differently
