"""dashboard/cache.py outside a running app: what `long_lived` does to the garbage collector."""

from __future__ import annotations

import gc

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools

from dashboard.cache import long_lived, sent_unchanged


def _tracked(value: object) -> bool:
    """True when `value` sits in a generation the collector scans (frozen ones are left out)."""
    return any(candidate is value for candidate in gc.get_objects())


def test_long_lived_moves_what_it_built_out_of_the_collectors_scans() -> None:
    gc.unfreeze()

    @long_lived
    def build() -> dict[str, list[int]]:
        return {"weights": list(range(10))}

    try:
        built = build()
        assert built == {"weights": list(range(10))}
        assert gc.get_freeze_count() > 0
        assert not _tracked(built)  # a full collection no longer walks it
    finally:
        gc.unfreeze()
    assert _tracked(built)


def test_long_lived_keeps_the_builders_name_and_docstring() -> None:
    def build_model() -> int:
        """Docstring."""
        return 1

    wrapped = long_lived(build_model)
    assert wrapped.__name__ == "build_model" and wrapped.__doc__ == "Docstring."
    gc.unfreeze()
    assert wrapped() == 1
    gc.unfreeze()


def test_sent_unchanged_hands_out_one_dict_equal_to_plotlys_own() -> None:
    import plotly.graph_objects as go

    def build() -> go.Figure:
        x = np.arange(500, dtype=np.float32)
        return go.Figure(go.Scattergl(x=x, y=x**2, mode="markers"), layout={"height": 300})

    plain, frozen = build(), sent_unchanged(build())
    sent = plotly.tools.return_figure_from_figure_or_data(frozen, validate_figure=True)
    assert sent is frozen.to_dict()  # no copy per rerun
    assert pio.to_json(sent, validate=False) == pio.to_json(plain.to_dict(), validate=False)
