"""Your digit's "Is it a digit?" section: where the drawing's out-of-distribution score falls
between the model's scores of its own test images and of the other shipped dataset's.

Scoring the first 2,000 test images of each dataset costs seconds (a conv VAE's 20,000 cost
about a minute on a busy core), so the section opens behind a toggle and the scores are cached
per model; the drawing itself is scored on every change (one image). `bench/ood.py` scores all
10,000 of each; `bench/ood.py --first 2000` gives the page's AUCs, within 0.01 of those.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st
import torch

from jlml_core.analysis import ood
from jlml_core.config import TrainConfig
from jlml_core.figures.ood import ood_histogram
from jlml_core.store.checkpoints import Entry

from . import cache
from .charts import show_chart
from .server import heavy_compute

TOGGLE_KEY = "your_digit_ood"
# One posterior draw per image for a VAE: the page's histograms and AUC are what
# `bench/ood.py --samples 1` prints; more draws smooth single scores but barely move the AUC.
SAMPLES = 1
SCORED = 2000  # test images of each dataset on the page
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def dataset_names(dataset: str) -> tuple[str, str]:
    """Legend names of a model's own test images and of the other shipped dataset's."""
    other = ood.OTHER_DATASET[dataset]
    return f"{DATASET_NAMES[dataset]} test images", f"{DATASET_NAMES[other]} test images"


@st.cache_resource(show_spinner="Scoring 4,000 test images under the model…", max_entries=8)
def _scores_at(path: str, version: float, config_json: str) -> ood.OODScores:
    config = TrainConfig.from_dict(json.loads(config_json))
    model = cache.load_model(path, version)
    inside = cache.test_set(config.dataset).images[:SCORED]  # (SCORED, H, W) uint8
    outside = cache.test_set(ood.OTHER_DATASET[config.dataset]).images[:SCORED]
    with heavy_compute():
        return ood.ood_evaluation(model, config, inside, outside, samples=SAMPLES)


def scores_for(entry: Entry) -> ood.OODScores:
    """The entry's scores of its test split and of the other shipped dataset's, and the AUC."""
    config_json = json.dumps(entry.config.to_dict())
    return _scores_at(str(entry.path), cache.entry_version(entry.path), config_json)


def where_it_falls(score: float, scores: ood.OODScores, dataset: str) -> str:
    """One sentence: the drawing's score against both sets."""
    inside_name, outside_name = dataset_names(dataset)
    above_inside = 100 * ood.share_below(score, scores.inside)
    above_outside = 100 * ood.share_below(score, scores.outside)
    return (
        f"Your digit's {scores.score_name} is **{score:.1f}** nats: higher than "
        f"**{above_inside:.0f} %** of the {inside_name} and than **{above_outside:.0f} %** "
        f"of the {outside_name}."
    )


def show_where_it_falls(entry: Entry, digit: torch.Tensor) -> None:
    """The section for one prepared digit, (1, H, W) uint8, under the page's model."""
    st.divider()
    st.subheader("Is it a digit? Out-of-distribution scores")
    config = entry.config
    if (reason := ood.supports_ood(config)) is not None:
        st.info(f"{entry.label} cannot be scored here. {reason}")
        return
    inside_name, outside_name = dataset_names(config.dataset)
    st.caption(
        f"How unlike its training images {entry.label} finds a picture: its "
        f"{ood.score_name(config)} in nats, for the {inside_name} and the {outside_name}. "
        "Higher means less like what the model was trained on; the ROC AUC says how well "
        "the score alone tells the two sets apart (1: perfectly, 0.5: not at all)."
    )
    label = f"Score {SCORED:,} test images of each and show where your digit falls"
    if not st.toggle(label, key=TOGGLE_KEY):
        return
    scores = scores_for(entry)
    model = cache.model_for(entry)
    with heavy_compute():
        score = float(ood.ood_scores(model, digit, config, samples=SAMPLES)[0])
    figure = ood_histogram(
        scores.inside,
        scores.outside,
        inside_name=inside_name,
        outside_name=outside_name,
        score_name=scores.score_name,
        auc=scores.auc,
        marker=score,
    )
    show_chart(
        figure,
        name="ood_scores",
        model=config,
        key="your_digit_ood_chart",
        alt=f"Histograms of the {scores.score_name} of {inside_name} and {outside_name} "
        f"under {entry.label}, ROC AUC {scores.auc:.3f}, with a dashed line at your digit's "
        f"score {score:.1f}",
    )
    st.markdown(where_it_falls(score, scores, config.dataset))
    st.caption(
        f"ROC AUC {scores.auc:.3f} over {len(scores.inside):,} + {len(scores.outside):,} "
        f"images. Medians: {np.median(scores.inside):.1f} and "
        f"{np.median(scores.outside):.1f} nats."
    )
