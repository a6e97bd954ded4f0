"""The Loss Comparison page's "comparable measures" of each zoo matched set, as Markdown tables.

    .venv/bin/python bench/loss_comparison_tables.py     # ~1 minute a continuous-Bernoulli model

The same functions the page calls: pixel MSE, MAE and sharpness of the shown reconstructions
over the 10,000 test digits (`likelihood.shown_image_errors`), kNN accuracy and the λ samples'
MNIST-FID and confidence from each model's metrics.json, and the FID and confidence of a
continuous-Bernoulli model's samples shown as the mean (`evaluation.sample_quality`, 10,000
samples, seed 0; what the page's "Also score the samples shown as the mean" computes).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core

from jlml_core.analysis import classifier, comparison, evaluation, likelihood  # noqa: E402
from jlml_core.data.datasets import load_split  # noqa: E402
from jlml_core.jobs.runner import machine_description  # noqa: E402
from jlml_core.store import checkpoints, model_cache  # noqa: E402

COLUMNS = ("pixel MSE", "pixel MAE", "sharpness", "kNN acc", "sample FID", "confidence")
FORMATS = ("{:.4f}", "{:.3f}", "{:.2f}", "{:.3f}", "{:.1f}", "{:.3f}")


def main() -> int:
    print(machine_description())
    entries = checkpoints.CheckpointStore(model_cache.zoo_dir()).entries()
    sets = comparison.matched_sets(entries, comparison.zoo_matched_configs())
    digits = classifier.load_classifier()
    for matched in sets:
        rows = []
        for entry in matched.entries:
            model = checkpoints.load_model(entry.path)
            test = load_split(entry.config.dataset, "test")
            outputs = likelihood.outputs_for(entry.config.loss)
            errors = likelihood.shown_image_errors(model, test.images, outputs)
            quality = {
                output: evaluation.sample_quality(model, test, digits, output=output)
                for output in outputs
                if output != "sigmoid"
            }
            rows += likelihood.shown_scores(entry, errors, quality)
        print(f"\n| {matched.title}, shown as | " + " | ".join(COLUMNS) + " |")
        print("|---|" + "---:|" * len(COLUMNS))
        for row in likelihood.scores_table(rows):
            cells = [
                "–" if row[c] is None else f.format(row[c])
                for c, f in zip(COLUMNS, FORMATS, strict=True)
            ]
            print(f"| {row['likelihood (shown as)']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
