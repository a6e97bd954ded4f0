"""Comparing models that differ only in their likelihood, on scales that mean the same for all.

A model's own loss, −ELBO and IW-NLL are in the units of its likelihood: BCE scores grey pixels
as if they were 0/1 outcomes (not a density at all), the continuous Bernoulli is a density on
[0, 1], the MSE model a Gaussian density on the real line. So across likelihoods this module
compares only what is measured on images and codes: the error and sharpness of the image
shown for a reconstruction (in pixel space), kNN accuracy of the codes, and the MNIST-FID and
classifier confidence of prior samples. IW-NLL is compared within one likelihood only.

`conclusion` writes the page's verdict from those numbers, so it stays true when the models
change.

Reference:
    Loaiza-Ganem & Cunningham (2019), "The continuous Bernoulli: fixing a pervasive error in
    variational autoencoders", NeurIPS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from jlml_core.data.batches import prepare_batch, uses_channels_last
from jlml_core.inference.latent import ImageOutput, logits_to_images
from jlml_core.nn.losses import LOSS_LABELS
from jlml_core.nn.models import Autoencoder, Labels, class_labels
from jlml_core.store.checkpoints import Entry

# A difference smaller than this share of the larger value is reported as "about the same".
MATERIAL = 0.03
OUTPUT_NAMES: dict[str, str] = {"sigmoid": "λ", "cb_mean": "mean"}
LIKELIHOOD_NAMES: dict[str, str] = {loss: labels.likelihood for loss, labels in LOSS_LABELS.items()}


class PixelErrors(NamedTuple):
    """How a displayed reconstruction compares with its test image, averaged over a test set.

    Attributes:
        mse: mean squared error per pixel, images in [0, 1].
        mae: mean absolute error per pixel.
        sharpness: edge energy (summed squared differences of neighbouring pixels) of the
            reconstructions over that of the test images: 1 is as sharp as the data, blurry
            images score below 1.
    """

    mse: float
    mae: float
    sharpness: float


def edge_energy(images: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences between horizontally and vertically adjacent pixels.

    Args:
        images: (N, H, W) floats.

    Returns:
        A float64 scalar tensor.
    """
    images = images.double()
    across = (images[:, :, 1:] - images[:, :, :-1]).square().sum()
    down = (images[:, 1:, :] - images[:, :-1, :]).square().sum()
    return across + down


@torch.inference_mode()
def shown_image_errors(
    model: Autoencoder,
    images_uint8: torch.Tensor,
    outputs: Sequence[ImageOutput] = ("sigmoid",),
    batch_size: int = 1000,
    labels: Labels = None,
) -> dict[str, PixelErrors]:
    """Pixel-space error and sharpness of the reconstructions a page shows, per way to show them.

    Each image is encoded, its posterior mean decoded once, and the logits turned into each
    requested picture (λ, or the continuous Bernoulli's mean), so one pass serves both.

    Args:
        model: a trained model (eval mode is set here).
        images_uint8: (N, H, W) uint8 test images.
        outputs: how the decoder's logits become an image (`latent.logits_to_images`).
        batch_size: images per forward pass (memory only; same result).
        labels: the images' classes (N,) for a conditional model, None for any other.

    Returns:
        output -> `PixelErrors` over all N images.
    """
    model.eval()
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    squared = {o: torch.zeros((), dtype=torch.float64) for o in outputs}
    absolute = {o: torch.zeros((), dtype=torch.float64) for o in outputs}
    edges = {o: torch.zeros((), dtype=torch.float64) for o in outputs}
    data_edges = torch.zeros((), dtype=torch.float64)
    labels = class_labels(model, labels, len(images_uint8))
    for start in range(0, len(images_uint8), batch_size):
        x = prepare_batch(images_uint8[start : start + batch_size], device, channels_last)
        if labels is None:
            mu, _ = model.encode(x)
            logits = model.decode(mu)  # (B, 1, H, W)
        else:  # a conditional model, with each image's class
            y = labels[start : start + batch_size].to(device)
            logits = model.decode(model.encode(x, y)[0], y)
        target = x[:, 0].double().cpu()  # (B, H, W)
        data_edges += edge_energy(target)
        for output in outputs:
            shown = torch.from_numpy(logits_to_images(logits, output)).double()  # (B, H, W)
            squared[output] += (shown - target).square().sum()
            absolute[output] += (shown - target).abs().sum()
            edges[output] += edge_energy(shown)
    pixels = max(images_uint8.numel(), 1)
    return {
        output: PixelErrors(
            mse=float(squared[output]) / pixels,
            mae=float(absolute[output]) / pixels,
            sharpness=float(edges[output] / data_edges) if data_edges > 0 else float("nan"),
        )
        for output in outputs
    }


def outputs_for(loss: str) -> tuple[ImageOutput, ...]:
    """The ways a model's images are shown: λ and the mean for the continuous Bernoulli,
    otherwise λ alone (for BCE it is the Bernoulli mean, for MSE the Gaussian mean)."""
    return ("sigmoid", "cb_mean") if loss == "cb" else ("sigmoid",)


def shown_pairs(
    entries: Sequence[Entry], cb_outputs: Sequence[str]
) -> list[tuple[Entry, ImageOutput]]:
    """(model, output) pairs to draw: BCE and MSE models as λ, CB ones in `cb_outputs`."""
    return [
        (entry, output)
        for entry in entries
        for output in outputs_for(entry.config.loss)
        if entry.config.loss != "cb" or output in cb_outputs
    ]


def shown_title(loss: str, output: ImageOutput) -> str:
    """E.g. "continuous Bernoulli (λ)", or "BCE" for a model shown one way only."""
    likelihood = LIKELIHOOD_NAMES.get(loss, loss)
    return f"{likelihood} ({OUTPUT_NAMES[output]})" if loss == "cb" else likelihood


@dataclass(frozen=True)
class ShownScores:
    """One model shown one way (a continuous Bernoulli model appears twice: as λ and as mean).

    Every number is on a scale shared by all likelihoods; None where it was not measured.
    """

    name: str
    loss: str
    output: ImageOutput
    pixel_mse: float | None
    pixel_mae: float | None
    sharpness: float | None
    knn_accuracy: float | None
    sample_fid: float | None
    sample_confidence: float | None

    @property
    def title(self) -> str:
        return shown_title(self.loss, self.output)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if np.isfinite(value) else None


def shown_scores(
    entry: Entry,
    errors: Mapping[str, PixelErrors],
    sample_quality: Mapping[str, tuple[float, float]] | None = None,
) -> list[ShownScores]:
    """The rows of one model: one per way of showing its images.

    Args:
        entry: the model (its metrics.json supplies kNN accuracy, and FID and confidence of
            its λ samples as `evaluate` measured them).
        errors: `shown_image_errors` of the model, by output.
        sample_quality: (FID, confidence) of samples shown another way than λ, by output
            (e.g. the continuous Bernoulli's mean); λ's come from the entry's metrics.
    """
    rows = []
    for output in outputs_for(entry.config.loss):
        error = errors.get(output)
        if output == "sigmoid":
            fid = _finite(entry.metrics.get("sample_fid"))
            confidence = _finite(entry.metrics.get("sample_confidence"))
        else:
            fid, confidence = (sample_quality or {}).get(output, (None, None))
        rows.append(
            ShownScores(
                name=entry.label,
                loss=entry.config.loss,
                output=output,
                pixel_mse=error.mse if error else None,
                pixel_mae=error.mae if error else None,
                sharpness=error.sharpness if error else None,
                knn_accuracy=_finite(entry.metrics.get("knn_accuracy")),
                sample_fid=_finite(fid),
                sample_confidence=_finite(confidence),
            )
        )
    return rows


def scores_table(rows: Sequence[ShownScores]) -> list[dict[str, Any]]:
    """Table rows for the page: what is shown, then the comparable numbers."""
    return [
        {
            "likelihood (shown as)": row.title,
            "pixel MSE": row.pixel_mse,
            "pixel MAE": row.pixel_mae,
            "sharpness": row.sharpness,
            "kNN acc": row.knn_accuracy,
            "sample FID": row.sample_fid,
            "confidence": row.sample_confidence,
        }
        for row in rows
    ]


def iw_nll_by_likelihood(sets: Mapping[str, Sequence[Entry]]) -> list[dict[str, Any]]:
    """IW-NLL (nats per image) with one column per likelihood and one row per matched set.

    Only values in one column are comparable: each column is a different likelihood.
    """
    losses = sorted({e.config.loss for entries in sets.values() for e in entries})
    table = []
    for title, entries in sets.items():
        row: dict[str, Any] = {"matched set": title}
        for loss in losses:
            member = next((e for e in entries if e.config.loss == loss), None)
            value = _finite(member.metrics.get("test_iw_nll")) if member else None
            row[LIKELIHOOD_NAMES.get(loss, loss)] = value
        table.append(row)
    return table


# --- The written verdict ---------------------------------------------------------------------


def _relation(a: float, b: float, higher_is_better: bool) -> int:
    """+1 if a is materially better than b, -1 if materially worse, 0 if about the same."""
    if max(abs(a), abs(b)) == 0 or abs(a - b) <= MATERIAL * max(abs(a), abs(b)):
        return 0
    return 1 if (a > b) == higher_is_better else -1


def _sharpness_sentence(cb: ShownScores, bce: ShownScores) -> tuple[str, int] | None:
    if cb.sharpness is None or bce.sharpness is None:
        return None
    verdict = _relation(cb.sharpness, bce.sharpness, higher_is_better=True)
    word = {1: "sharper than", 0: "about as sharp as", -1: "blurrier than"}[verdict]
    text = (
        f"**Sharpness.** The continuous Bernoulli's λ reconstructions are {word} BCE's: "
        f"their edge energy is {cb.sharpness:.2f} of the test digits' against {bce.sharpness:.2f}"
    )
    if cb.pixel_mse is not None and bce.pixel_mse is not None:
        closer = {1: "closer to", 0: "as close to", -1: "further from"}[
            _relation(cb.pixel_mse, bce.pixel_mse, higher_is_better=False)
        ]
        text += (
            f", and they are {closer} the test digits (pixel MSE {cb.pixel_mse:.4f} against "
            f"{bce.pixel_mse:.4f}, MAE {cb.pixel_mae:.3f} against {bce.pixel_mae:.3f})"
        )
    return text + ".", verdict


def _samples_sentence(cb: ShownScores, bce: ShownScores) -> tuple[str, int] | None:
    if None in (cb.sample_fid, bce.sample_fid, cb.sample_confidence, bce.sample_confidence):
        return None
    fid = _relation(cb.sample_fid, bce.sample_fid, higher_is_better=False)
    confidence = _relation(cb.sample_confidence, bce.sample_confidence, higher_is_better=True)
    verdict = fid if fid == confidence else 0
    word = {1: "better", 0: "neither clearly better nor worse", -1: "worse"}[verdict]
    text = (
        f"**Samples.** Shown as λ, the continuous Bernoulli's prior samples are {word} than "
        f"BCE's by the digit classifier: MNIST-FID {cb.sample_fid:.1f} against "
        f"{bce.sample_fid:.1f} (lower is closer to real digits), confidence "
        f"{cb.sample_confidence:.2f} against {bce.sample_confidence:.2f}."
    )
    return text, verdict


def _mean_sentence(cb: ShownScores, mean: ShownScores) -> str | None:
    if None in (cb.sharpness, mean.sharpness, cb.pixel_mse, mean.pixel_mse):
        return None
    text = (
        f"**λ or the mean.** The same model shown as its distribution's mean has edge energy "
        f"{mean.sharpness:.2f} (λ: {cb.sharpness:.2f}) and pixel MSE {mean.pixel_mse:.4f} "
        f"(λ: {cb.pixel_mse:.4f})"
    )
    if mean.sample_fid is not None and cb.sample_fid is not None:
        text += f"; its samples have MNIST-FID {mean.sample_fid:.1f} (λ: {cb.sample_fid:.1f})"
    better = _relation(mean.pixel_mse, cb.pixel_mse, higher_is_better=False)
    if better > 0:
        return text + ": the mean, though greyer, is the closer picture of the data."
    if better < 0:
        return text + ": λ is both sharper and closer to the data than the greyer mean."
    return text + ": both are about equally close to the data."


def _others_sentence(rows: Sequence[ShownScores]) -> str | None:
    shown = [r for r in rows if r.output == "sigmoid"]
    if not shown:
        return None
    parts = []
    for label, read, fmt in (
        ("pixel MSE", lambda r: r.pixel_mse, "{:.4f}"),
        ("kNN accuracy", lambda r: r.knn_accuracy, "{:.1%}"),
        ("MNIST-FID", lambda r: r.sample_fid, "{:.1f}"),
    ):
        values = [(r, read(r)) for r in shown if read(r) is not None]
        if len(values) >= 2:
            cells = ", ".join(f"{LIKELIHOOD_NAMES[r.loss]} {fmt.format(v)}" for r, v in values)
            parts.append(f"{label}: {cells}")
    if not parts:
        return None
    return "**All likelihoods, shown as λ.** " + "; ".join(parts) + "."


def conclusion(rows: Sequence[ShownScores]) -> list[str]:
    """What a matched set's measured numbers show, as Markdown paragraphs.

    Compares the continuous Bernoulli's λ images with BCE's (sharpness, pixel error, sample
    FID and confidence), λ with the mean, and states whether Loaiza-Ganem & Cunningham's
    (2019) finding holds here. Only measured numbers enter; missing ones leave their
    sentence out.

    Args:
        rows: `shown_scores` of every model in the set.
    """
    by = {(row.loss, row.output): row for row in rows}
    bce, cb, mean = by.get(("bce", "sigmoid")), by.get(("cb", "sigmoid")), by.get(("cb", "cb_mean"))
    paragraphs: list[str] = []
    verdicts: dict[str, int] = {}
    if bce is not None and cb is not None:
        for aspect, sentence in (
            ("images", _sharpness_sentence(cb, bce)),
            ("samples", _samples_sentence(cb, bce)),
        ):
            if sentence is not None:
                paragraphs.append(sentence[0])
                verdicts[aspect] = sentence[1]
    if cb is not None and mean is not None and (text := _mean_sentence(cb, mean)):
        paragraphs.append(text)
    if (text := _others_sentence(rows)) is not None:
        paragraphs.append(text)
    if verdicts:
        paragraphs.append(_paper_paragraph(verdicts))
    return paragraphs


_FINDINGS = {
    "images": {
        1: "images sharper than BCE's",
        0: "images about as sharp as BCE's",
        -1: "images blurrier than BCE's",
    },
    "samples": {1: "better samples", 0: "samples no better than BCE's", -1: "worse samples"},
}


def _paper_paragraph(verdicts: Mapping[str, int]) -> str:
    """Whether the numbers support Loaiza-Ganem & Cunningham (2019).

    Args:
        verdicts: "images" (sharpness) and/or "samples" -> +1 / 0 / -1 for the continuous
            Bernoulli's λ against BCE.
    """
    claim = (
        "**Against the paper.** Loaiza-Ganem & Cunningham (2019) argue that a proper likelihood "
        "for grey pixels makes better VAEs, and show continuous Bernoulli images read through λ "
        "as sharper than the greyish mean and than BCE's. "
    )
    found = " and ".join(_FINDINGS[aspect][v] for aspect, v in verdicts.items())
    if all(v > 0 for v in verdicts.values()):
        return claim + f"This lab's models agree: the continuous Bernoulli's λ gives {found}."
    if any(v > 0 for v in verdicts.values()):
        return claim + (
            f"This lab's models agree only in part: the continuous Bernoulli's λ gives {found}."
        )
    return claim + (
        f"This lab's models do not show it: the continuous Bernoulli's λ gives {found}. A "
        "likelihood that is proper on [0, 1] is a better model of grey levels; by these "
        "measures it does not make better-looking digits here."
    )
