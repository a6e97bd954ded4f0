"""Tables the pages show, each with a button that saves it as CSV; the models-and-metrics
table of the Model Zoo."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from jlml_core.analysis import comparison
from jlml_core.figures.exports import table_csv
from jlml_core.store.checkpoints import Entry

from .charts import download_button


def frame_csv(table: pd.DataFrame) -> str:
    """A shown table as CSV text: its columns in order, raw numbers, missing ones empty."""
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return table_csv(rows, [str(column) for column in table.columns])


def show_table(table: pd.DataFrame, *, file_name: str, key: str, **kwargs: Any) -> None:
    """`st.dataframe(table)` with a button below that saves it as CSV.

    Args:
        table: the table as shown.
        file_name: the CSV's name (`jlml_core.figures.exports.file_name`).
        key: widget key of the table; the button's is `{key}_csv`.
        **kwargs: the rest of `st.dataframe`'s arguments (column_config, hide_index, ...).
    """
    st.dataframe(table, key=key, **kwargs)
    download_button(
        "Download the table (CSV)", partial(frame_csv, table), file_name, key=f"{key}_csv"
    )


def show_small_table(
    table: pd.DataFrame,
    *,
    file_name: str,
    key: str,
    formats: dict[str, str] | None = None,
    number: str = "{:,.1f}",
) -> None:
    """A few rows as a static table (`st.table`), numbers formatted, with the CSV button below.

    `st.dataframe`'s interactive grid loads ~1.2 MB of JavaScript and costs a 2-core machine's
    browser ~0.5 s on a page's first open: worth it for the Model Zoo's sortable list of every
    model, not for a handful of rows.

    Args:
        table: the table as shown (its index is not).
        file_name: the CSV's name (`jlml_core.figures.exports.file_name`).
        key: the button's key is `{key}_csv`.
        formats: a format string per numeric column (e.g. ``"{:.1%}"``); others get `number`.
        number: the format of the numeric columns not in `formats`.
    """
    formats = formats or {}
    numeric = table.select_dtypes("number").columns
    style = table.style.format({c: formats.get(c, number) for c in numeric}, na_rep="–")
    st.table(style.hide(axis="index"))
    download_button(
        "Download the table (CSV)", partial(frame_csv, table), file_name, key=f"{key}_csv"
    )


def show_metrics_table(
    entries: Sequence[Entry],
    columns: Sequence[str] | None = None,
    key: str = "metrics_table",
    hide_empty: bool = False,
    keep_rest: bool = True,
    file_name: str = "jlml_metrics.csv",
) -> pd.DataFrame:
    """A sortable st.dataframe of `comparison.metrics_table(entries)`, numbers formatted,
    downloadable as CSV.

    Args:
        entries: the models, one row each.
        columns: the config/label columns shown before the metrics; the others follow them
            (default: all before).
        key: widget key of the table.
        hide_empty: leave out metric columns that no model has.
        keep_rest: show the columns not named in `columns` after the metrics.
        file_name: the name its CSV is saved under.

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
    show_table(
        table, file_name=file_name, key=key, hide_index=True, column_config=formats, width="stretch"
    )
    return table
