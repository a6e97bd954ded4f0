"""Helpers shared by the page tests (AppTest runs the real app.py router, then the page)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import cache
from jlml_core.store.checkpoints import CheckpointStore, Entry

ROOT = Path(__file__).resolve().parent.parent


def entry_for(cache_dir: Path, kind: str, latent_dim: int = 2) -> Entry:
    """The tiny model of this kind and latent size in a test cache."""
    return next(
        e
        for e in CheckpointStore(cache_dir).entries()
        if (e.config.kind, e.config.latent_dim) == (kind, latent_dim)
    )


def open_page(page: str, model_key: str | None = None) -> AppTest:
    """Run the app with `model_key` chosen in the sidebar, then switch to views/<page>.py."""
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if model_key is not None:
        at.session_state["model_key"] = model_key
    return at.run().switch_page(f"views/{page}.py").run()


def texts(elements) -> str:
    """All the text values of a list of elements, space-joined."""
    return " ".join(e.value for e in elements)


def open_link(page: str, params: dict[str, str]) -> AppTest:
    """Open views/<page>.py as a shared link would: with these URL query parameters."""
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run().switch_page(f"views/{page}.py").run()
