"""The models-and-metrics table shared by the Loss Comparison and Model Zoo pages."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from jlml_core.analysis import comparison
from jlml_core.store.checkpoints import Entry


def show_metrics_table(
    entries: Sequence[Entry],
    columns: Sequence[str] | None = None,
    key: str | None = None,
    hide_empty: bool = False,
    keep_rest: bool = True,
) -> pd.DataFrame:
    """A sortable st.dataframe of `comparison.metrics_table(entries)`, numbers formatted.

    Args:
        entries: the models, one row each.
        columns: the config/label columns shown before the metrics; the others follow them
            (default: all before).
        key: widget key of the table.
        hide_empty: leave out metric columns that no model has.
        keep_rest: show the columns not named in `columns` after the metrics.

    Returns:
        The table as shown.
    """
    table = pd.DataFrame(comparison.metrics_table(entries))
    all_metrics = [c.title for c in comparison.METRIC_COLUMNS]
    metrics = [t for t in all_metrics if table[t].notna().any()] if hide_empty else all_metrics
    rest = [c for c in table if c not in all_metrics and c not in (columns or [])]
    rest = rest if keep_rest else []
    order = [*columns, *metrics, *rest] if columns is not None else [*rest, *metrics]
    table = table[order]
    formats = {
        c.title: st.column_config.NumberColumn(c.title, format=c.format)
        for c in comparison.METRIC_COLUMNS
    }
    st.dataframe(table, hide_index=True, column_config=formats, key=key, width="stretch")
    return table
