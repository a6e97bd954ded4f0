"""Latent traversals: which code each cell decodes, and the decode itself."""

from __future__ import annotations

import numpy as np
import pytest

from jlml_core.config import TrainConfig
from jlml_core.inference import latent, traversal
from jlml_core.nn.models import build_model


def test_values_span_the_prior_symmetrically() -> None:
    values = traversal.traversal_values(9)
    assert values[0] == -3.0 and values[-1] == 3.0 and values[4] == 0.0
    with pytest.raises(ValueError):
        traversal.traversal_values(1)


def test_each_row_changes_only_its_dimension() -> None:
    code = np.array([0.5, -1.0, 2.0, 0.0], np.float32)
    values = np.array([-3.0, 0.0, 3.0], np.float32)
    codes = traversal.traversal_codes(code, [2, 0], values)  # (2, 3, 4)
    assert codes.shape == (2, 3, 4)
    np.testing.assert_array_equal(codes[0, :, 2], values)
    np.testing.assert_array_equal(codes[1, :, 0], values)
    np.testing.assert_array_equal(codes[0][:, [0, 1, 3]], np.tile(code[[0, 1, 3]], (3, 1)))
    np.testing.assert_array_equal(codes[1][:, 1:], np.tile(code[1:], (3, 1)))
    with pytest.raises(ValueError, match="outside"):
        traversal.traversal_codes(code, [4], values)


def test_traverse_decodes_the_same_codes_as_decode_points() -> None:
    model = build_model(TrainConfig(arch="dense", latent_dim=3, hidden_dim=16)).eval()
    code = np.array([0.2, -0.4, 1.0], np.float32)
    values = traversal.traversal_values(5)
    images = traversal.traverse(model, code, [1, 2], values)
    assert images.shape == (2, 5, 28, 28)
    expected = latent.decode_points(model, traversal.traversal_codes(code, [1, 2], values)[1])
    np.testing.assert_allclose(images[1], expected, atol=1e-6)
    # The middle column of row 0 sets z2 = 0; a row through the code's own value would repeat it.
    assert not np.allclose(images[0, 0], images[0, -1])
