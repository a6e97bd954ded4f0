"""Train: choose a config, see a measured time estimate, train it live, stop at any time.

Stopping relies on Streamlit itself: any click (the Stop button, another widget, another page)
reruns the script, which ends this run at its next Streamlit call, i.e. inside the progress
callback. `fit` then unwinds before `CheckpointStore.save`, which writes atomically anyway, so
a stopped run leaves nothing in the cache. The next run sees the leftover RUNNING marker and
reports the cancellation.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch
from streamlit.delta_generator import DeltaGenerator

from dashboard import cache
from dashboard.charts import show_chart
from dashboard.collapse_view import with_collapse_chart
from dashboard.live_training import LiveTraining
from dashboard.settings import demo_mode
from dashboard.sidebar import ANY
from dashboard.snippets import config_arguments, show_code
from dashboard.train_form import config_form, evaluate_every_epoch
from dashboard.zoo_replay import offer_history_gif
from jlml_core.analysis import comparison
from jlml_core.config import ConfigError, TrainConfig
from jlml_core.data.datasets import DataError, resolve_dataset_dir
from jlml_core.store import checkpoints, model_cache
from jlml_core.training import calibration
from jlml_core.training.calibration import Throughput

REQUEST, RUNNING, RESULT = "train_request", "train_running", "train_result"
ESTIMATE = "train_estimate_request"
HERE = Path(__file__).resolve().parent  # absolute page paths work from any entry point
VIEWS = (
    (HERE / "reconstructions.py", "Reconstructions"),
    (HERE / "latent_explorer.py", "Latent Explorer"),
    (HERE / "generation.py", "Generation"),
    (HERE / "model_zoo.py", "Model Zoo"),
)


def _select(key: str) -> None:
    """Make `key` the sidebar's model. A button callback: it runs before the sidebar is drawn."""
    for name in list(st.session_state):
        if str(name).startswith("filter_"):
            st.session_state[name] = ANY  # a filter must not hide the chosen model
    st.session_state["model_key"] = key


def _open_buttons(key: str) -> None:
    """Buttons that select the model and open it on the other pages.

    The same widget keys serve a just-trained and an already-cached model, so a click still
    finds its button on the rerun it causes (by then the model counts as cached).
    """
    row = st.container(horizontal=True)
    row.button("Select it", key="open_select", type="primary", on_click=_select, args=(key,))
    for page, title in VIEWS:
        if row.button(f"Open in {title}", key=f"open_{title}", on_click=_select, args=(key,)):
            st.switch_page(page)


def _show_result(result: dict) -> None:
    if result["status"] == "trained":
        estimate = result.get("estimate")
        guess = f" (estimated {comparison.format_duration(estimate)})" if estimate else ""
        st.success(f"Trained and saved **{result['label']}** in {result['seconds']:.0f} s{guess}.")
        _open_buttons(result["key"])
        trained = next((e for e in cache.list_entries() if e.key == result["key"]), None)
        model = trained.config if trained is not None else None
        latent_figure, loss_figure = result.get("figures", (None, None))
        scatter_column, loss_column = st.columns([3, 2], gap="medium")
        if latent_figure is not None:
            show_chart(
                latent_figure, key="train_final_latent", where=scatter_column,
                name="latent_space", model=model,
                alt=f"Scatter of test digits' codes in the latent plane under the newly trained "
                f"{result['label']}, coloured by class",
            )  # fmt: skip
        if loss_figure is not None:
            show_chart(
                loss_figure, key="train_final_curves", where=loss_column,
                name="training_curves", model=model,
                alt=f"Training curves of {result['label']}: train and test loss per epoch",
            )  # fmt: skip
        if trained is not None:
            offer_history_gif(trained, key="train_history_gif")
    elif result["status"] == "cancelled":
        st.warning(f"Training of **{result['label']}** was cancelled; nothing was saved.")
    else:
        st.error(f"Training of **{result['label']}** failed: {result['error']}")


def _train(config: TrainConfig, label: str, controls: DeltaGenerator, speed: Throughput) -> None:
    """Train `config` into the user's cache, drawing progress; reruns the page when done."""
    st.session_state[RUNNING] = {"config": config.to_dict(), "label": label}
    controls.button(
        "Stop",
        icon=":material/stop_circle:",
        key="train_stop",
        help="Stops after the current few steps.",
    )
    test = cache.test_set(config.dataset)
    every = evaluate_every_epoch()
    live = LiveTraining(
        config, label, speed, test.labels.numpy(), test.class_names, evaluate_every_epoch=every
    )
    try:
        model_cache.get_or_train(
            config, on_progress=with_collapse_chart(live, config), evaluate_every_epoch=every
        )
    except (checkpoints.CheckpointError, DataError, OSError, RuntimeError, ValueError) as error:
        st.session_state[RESULT] = {"status": "failed", "label": label, "error": str(error)}
    else:
        # The last pictures stay on the page after the rerun (this user's session only).
        st.session_state[RESULT] = {"status": "trained", "label": label, "key": config.key(),
                                    "seconds": live.elapsed(), "estimate": live.estimate,
                                    "figures": (live.latent_figure, live.loss_figure)}  # fmt: skip
    del st.session_state[RUNNING]
    cache.refresh_entries()
    st.rerun()


def _estimate_caption(config: TrainConfig, speed: Throughput) -> str:
    every = evaluate_every_epoch()
    estimate = calibration.estimate_training_seconds(config, speed, evaluate_every_epoch=every)
    threads = torch.get_num_threads()
    return (
        f"Estimated time: **{comparison.format_duration(estimate)}** (measured here: "
        f"{speed.train_images_per_second:,.0f} images/s for `{speed.arch}` training, "
        f"{speed.eval_images_per_second:,.0f} images/s evaluating, {threads} torch "
        f"thread{'s' if threads > 1 else ''}); a busier machine is slower."
    )


def _interrupted() -> None:
    """A previous run stopped mid-training (Stop, another widget, another page): say so."""
    running = st.session_state.pop(RUNNING)
    config = TrainConfig.from_dict(running["config"])
    if model_cache.find(config) is not None:  # stopped after the model was saved
        result = {"status": "trained", "key": config.key(), "seconds": 0.0}
    else:
        result = {"status": "cancelled"}
    st.session_state[RESULT] = result | {"label": running["label"]}


def _request_training() -> None:
    st.session_state[REQUEST] = True


st.title("Train a model")
if demo_mode():
    st.info("Training is switched off in this demo. Every trained model is on the other pages.")
    st.stop()
st.markdown(
    "Pick a configuration and train it here; the model lands in your cache "
    f"(`{model_cache.default_cache_dir()}`) and every page can show it. Click **Stop**, or "
    "anything else, to cancel: nothing half-trained is saved."
)
if RUNNING in st.session_state:
    _interrupted()
training = st.session_state.pop(REQUEST, False)
values = config_form(disabled=training)
result = None if training else st.session_state.pop(RESULT, None)  # shown once

try:
    config = TrainConfig(**values)
    resolve_dataset_dir(config.dataset)
except (ConfigError, DataError) as error:
    st.error(f"**This configuration cannot be trained:** {error}")
    st.stop()
label = checkpoints.Entry(Path(config.slug()), config, {}).label
show_code("train", config.key(), arguments=config_arguments(config))
st.divider()
if result is not None:
    _show_result(result)
just_trained = result is not None and result.get("key") == config.key()
if (store := model_cache.find(config)) is not None:
    if not just_trained:
        st.success(f"**{label}** is already trained (`{store.path_for(config)}`). Open it:")
        _open_buttons(config.key())
else:
    st.markdown(f"**{label}** · key `{config.key()}`")
    # The estimate times real steps (~3 s of CPU), so it is measured on request or when
    # training starts, never to open the page (issue #20: every page's first open <= 3 s).
    speed = cache.measured_throughput(config)
    if speed is None and (training or st.session_state.pop(ESTIMATE, False)):
        try:
            speed = cache.throughput_for(config)  # with its own spinner
        except (DataError, OSError, RuntimeError, ValueError) as error:
            st.session_state[RESULT] = {"status": "failed", "label": label, "error": str(error)}
            training = False
    if speed is not None:
        st.caption(_estimate_caption(config, speed))
    else:
        st.caption(
            "**Estimate the time** measures this machine's speed first; the quick recipe takes "
            'about a minute on a 2-core laptop CPU (docs/benchmarks.md, "Time to quality").'
        )
    controls = st.container(horizontal=True)
    controls.button(
        "Training…" if training else "Train",
        type="primary",
        icon=":material/play_arrow:",
        key="train_start",
        on_click=_request_training,
        disabled=training,
    )
    if speed is None and not training:
        controls.button(
            "Estimate the time", icon=":material/timer:", key="train_estimate",
            on_click=lambda: st.session_state.update({ESTIMATE: True}),
            help="Times 16 real training steps and an evaluation on this machine (a few "
            "seconds).",
        )  # fmt: skip
    if training and speed is not None:
        _train(config, label, controls, speed)
