"""AppTest for Your digit's out-of-distribution section: the drawing's score on the histograms
of the model's MNIST and Fashion-MNIST test scores, the ROC AUC, and models it cannot score."""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import entry_for, open_page
from tests.pages.test_page_your_digit import UPLOAD_KEY, mnist_png


def _upload(at: AppTest) -> AppTest:
    return (
        at.file_uploader(key=UPLOAD_KEY).set_value(("seven.png", mnist_png(0), "image/png")).run()
    )


def _ood_figure(at: AppTest) -> dict:
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(f for f in charts if "ROC AUC" in f["layout"].get("title", {}).get("text", ""))


def test_a_drawn_digit_falls_among_the_digits_not_the_clothes(app_env) -> None:
    at = _upload(open_page("your_digit", entry_for(app_env, "vae").key))
    assert not at.exception
    assert "Is it a digit? Out-of-distribution scores" in [h.value for h in at.subheader]
    assert not any("ROC AUC" in c.proto.spec for c in at.get("plotly_chart"))  # not yet asked
    at.toggle(key="your_digit_ood").set_value(True).run()
    assert not at.exception
    figure = _ood_figure(at)
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["MNIST test images (2,000)", "Fashion-MNIST test images (2,000)"]
    auc = float(re.search(r"ROC AUC (\d\.\d+)", figure["layout"]["title"]["text"]).group(1))
    assert auc > 0.9  # even a 2-epoch digit VAE tells digits from clothes
    sentence = next(m.value for m in at.markdown if m.value.startswith("Your digit's"))
    assert "negative ELBO" in sentence
    above_digits, above_clothes = map(int, re.findall(r"\*\*(\d+) %\*\*", sentence))
    assert above_clothes < above_digits  # a real MNIST digit scores like digits
    assert figure["layout"]["shapes"][0]["x0"] == figure["layout"]["shapes"][0]["x1"]
    # (An AE's score, its reconstruction loss, is tested in tests/core/analysis/test_ood.py.)
