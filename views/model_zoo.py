"""Model Zoo: every listed model with its metrics, and chosen models' latent spaces side by side."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, links
from dashboard.charts import show_chart
from dashboard.collapse_view import show_collapse
from dashboard.tables import show_metrics_table
from dashboard.zoo_compare import show_comparison
from dashboard.zoo_replay import show_replay
from jlml_core.analysis import comparison
from jlml_core.figures import loss_curves
from jlml_core.figures.exports import file_name
from jlml_core.store.checkpoints import Entry

TABLE_FRONT = ["kind", "arch", "latent", "loss", "recon weight", "KL weight"]


def _metrics_section(entries: list[Entry]) -> None:
    st.header("All models")
    table = show_metrics_table(
        entries, TABLE_FRONT, key="zoo_table", file_name=file_name("model_zoo_metrics", "csv")
    )
    st.caption(
        f"{len(entries)} models. Click a column header to sort; −ELBO, reconstruction and KL "
        "are nats per test image, kNN accuracy is on the test codes, FID and confidence are "
        "of prior samples scored by the digit classifier."
    )
    if missing := [e for e in entries if comparison.missing_evaluation(e)]:
        st.info(
            f"{len(missing)} of {len(entries)} models have no evaluation metrics yet (IW-NLL, "
            "active units, kNN accuracy, sample FID, confidence). Compute them with "
            "`python -m jlml_core evaluate --model KEY`."
        )
        with st.expander("Commands for the models without them"):
            st.code("\n".join(comparison.evaluate_command(e) for e in missing), language="bash")
    charted = [c.title for c in comparison.METRIC_COLUMNS if table[c.title].notna().any()]
    if charted:
        metric = st.selectbox("Chart a metric", charted, key="zoo_metric", bind=links.BIND)
        show_chart(
            loss_curves.metric_bars_figure(list(table["model"]), list(table[metric]), metric),
            name=f"model_zoo_{metric}",
            key="zoo_metric_chart",
            alt=f"Bar chart of {metric} for each of the {len(table)} models in the table",
        )


st.title("Model Zoo")
st.markdown(
    "Every trained model in the shipped zoo and your cache, with what was measured on it. "
    "Below, put a few of them side by side: their latent spaces, how far from the origin "
    "each class sits, and what they decode."
)
entries = cache.list_entries()
if not entries:
    st.info(
        "No trained models yet. Build the zoo with `python -m jlml_core zoo` (about an hour), "
        "or train a single model on the Train page."
    )
    st.stop()

_metrics_section(entries)
show_replay(entries)
show_collapse(entries)
show_comparison(entries)
