"""Deployment switches read from the environment or Streamlit secrets, and the demo's bounds."""

from __future__ import annotations

import dataclasses
import os
import re

import streamlit as st

DEMO_ENV = "JLML_DEMO"


def demo_mode() -> bool:
    """Hosted demos hide training: $JLML_DEMO=1 or `demo = true` in .streamlit/secrets.toml."""
    if os.environ.get(DEMO_ENV, "").lower() in {"1", "true", "yes"}:
        return True
    try:
        return bool(st.secrets.get("demo", False))
    except Exception:  # noqa: BLE001 - Streamlit raises its own error when no secrets file exists
        return False


@dataclasses.dataclass(frozen=True)
class Limits:
    """Upper bounds of the controls whose cost grows with their value.

    The laptop values are what a student running the app alone may ask for; DEMO_LIMITS keep
    every request of a public demo under about a second of CPU on a 2-core machine (see
    bench/demo_costs.py for the measured costs at each bound).
    """

    prior_grid: int = 16  # Generation: n × n decoded prior samples
    interpolation_steps: int = 20  # Generation: codes decoded between two digits
    plane_grid: int = 25  # Generation: n × n grid over the latent plane
    mosaic_grid: int = 15  # Generation: n × n plane through three digits
    manifold_digits: int = 30  # Latent Explorer: decoded digits per side underneath the scatter
    shown_digits: int = 20  # Reconstructions: digits per row
    typed_indices: int = 50  # Reconstructions: test indices typed by hand
    compared_models: int = 6  # Model Zoo: models side by side
    zoo_points: int = 10_000  # Model Zoo: test codes per scatter


LAPTOP_LIMITS = Limits()
DEMO_LIMITS = Limits(
    prior_grid=10,
    interpolation_steps=12,
    plane_grid=12,
    mosaic_grid=9,
    manifold_digits=16,
    shown_digits=10,
    typed_indices=10,
    compared_models=3,
    zoo_points=3_000,
)


def limits() -> Limits:
    """The bounds in force: DEMO_LIMITS in demo mode, else LAPTOP_LIMITS."""
    return DEMO_LIMITS if demo_mode() else LAPTOP_LIMITS


# Absolute paths (POSIX or Windows) inside an error message: the message stays, the folders go.
_PATH = re.compile(r"(?:[A-Za-z]:\\|/)[^\s'\"():,]+")


def public_error(error: BaseException | str) -> str:
    """An error message fit to show: in demo mode every absolute path is cut to its last part.

    A visitor learns that a file is missing, not where the server keeps its files.
    """
    text = str(error)
    if not demo_mode():
        return text
    return _PATH.sub(lambda m: "…/" + re.split(r"[\\/]", m.group().rstrip("/\\"))[-1], text)
