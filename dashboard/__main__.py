"""``python -m dashboard [streamlit options]``: the dashboard's server, imports done first.

``streamlit run app.py`` imports torch, Plotly and the app's modules on the first visitor's
first page run: about 1.5 s of CPU that every fresh server's first visitor waited for (issue
#20, docs/benchmarks.md "First open of every page"). Here the server process imports them
before Streamlit starts, so they are done when its health check first answers; then it is
``streamlit run app.py`` with the same options (``make run``, ``make demo`` and the Docker
image start it this way; ``streamlit run app.py`` still works, only its first page is slower).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def preload() -> list[str]:
    """Import every `dashboard` module (and with them torch, Plotly and the `jlml_core` modules
    the pages use); returns their names. Nothing runs: modules only define things."""
    # Decorating an `st.cache_data` function before the runtime exists logs a warning about
    # its storage; the storage is chosen again when the function is first called, inside it.
    from streamlit.runtime.caching import cache_data_api

    import dashboard

    quiet = cache_data_api._LOGGER
    no_warnings = _BelowWarning()
    quiet.addFilter(no_warnings)
    names = []
    try:
        for module in pkgutil.iter_modules(dashboard.__path__, "dashboard."):
            if module.name != __name__:
                importlib.import_module(module.name)
                names.append(module.name)
    finally:
        quiet.removeFilter(no_warnings)
    return names


def warm_up() -> None:
    """Pay the first-use costs the first chart or table page would: Plotly's template and its
    subplot grid (~0.15 s, loaded on first use), a pandas Styler (~0.04 s, jinja2's)."""
    import pandas as pd

    from jlml_core.figures.template import new_figure, new_subplots

    new_figure()
    new_subplots(rows=1, cols=2)
    pd.DataFrame({"x": [0.0]}).style.format("{:.1f}").to_html()


class _BelowWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING


def main(argv: list[str] | None = None) -> None:
    """Preload, warm up, measure how to decode fastest (`server.tune_decoding`), then hand over
    to Streamlit's own command line: ``streamlit run app.py ARGV``."""
    preload()
    warm_up()
    from dashboard import server

    server.tune_decoding()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
