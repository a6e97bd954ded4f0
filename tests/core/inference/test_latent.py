"""Tests for inference.latent: encodings, decodes, grids, projections and interpolations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.inference import decoder
from jlml_core.inference.latent import (
    Projection,
    decode_points,
    encode_images,
    fit_projection,
    grid_points,
    interpolate,
    logits_to_images,
    nearest,
    plane_grid,
    reconstruct,
    sample_prior,
    tile,
)
from jlml_core.nn.models import build_model
from jlml_core.runtime import precision as precisions
from jlml_core.store import zoo
from jlml_core.store.checkpoints import load_model
from jlml_core.store.model_cache import zoo_dir

KINDS = ["ae", "vae"]
ARCHS = ["dense", "cnn_shallow", "cnn_deep"]


def _uint8_images(n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=generator)


def _codes_on_a_plane(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n codes (n, dim) = offset + coefficients @ basis, with orthonormal basis rows (2, dim)."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, 2)))  # (dim, 2), orthonormal columns
    coefficients = rng.standard_normal((n, 2)) * [3.0, 1.0]  # distinct variances
    return rng.standard_normal(dim) + coefficients @ basis.T, basis.T


# --- encode / decode ------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_encode_decode_shapes(kind: str, arch: str) -> None:
    model = build_model(TrainConfig(kind=kind, arch=arch, latent_dim=3)).eval()
    images = _uint8_images(7)
    encodings = encode_images(model, images, batch_size=3)
    assert encodings.mu.shape == (7, 3) and encodings.mu.dtype == np.float32
    if kind == "vae":
        assert encodings.logvar is not None and encodings.logvar.shape == (7, 3)
    else:
        assert encodings.logvar is None
    whole = encode_images(model, images, batch_size=1000)
    np.testing.assert_allclose(encodings.mu, whole.mu, rtol=1e-5, atol=1e-6)
    decoded = decode_points(model, encodings.mu)
    assert decoded.shape == (7, 28, 28) and decoded.dtype == np.float32
    assert decoded.min() >= 0 and decoded.max() <= 1
    np.testing.assert_allclose(reconstruct(model, images), decoded, rtol=1e-5, atol=1e-6)


def test_decode_points_matches_the_model() -> None:
    model = build_model(TrainConfig(arch="dense", latent_dim=2)).eval()
    z = np.array([[0.0, 0.0], [1.5, -2.0]], np.float32)
    expected = torch.sigmoid(model.decode(torch.from_numpy(z)))[:, 0].detach().numpy()
    np.testing.assert_allclose(
        decode_points(model, z, batch_size=1, precision="fp32"), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        decode_points(model, z[1], precision="fp32"), expected[1:], rtol=1e-6
    )  # one code


def test_zero_points_give_zero_images() -> None:
    model = build_model(TrainConfig(arch="dense", latent_dim=4)).eval()
    assert decode_points(model, np.zeros((0, 4))).shape == (0, 28, 28)
    assert encode_images(model, _uint8_images(0)).mu.shape == (0, 4)
    assert reconstruct(model, _uint8_images(0)).shape == (0, 28, 28)


def test_logits_to_images_cb_mean_is_between_lambda_and_a_half() -> None:
    logits = torch.tensor([-4.0, -1.0, 0.0, 1.0, 4.0]).view(5, 1, 1, 1)
    lam = logits_to_images(logits, "sigmoid").ravel()
    mean = logits_to_images(logits, "cb_mean").ravel()
    assert mean.shape == (5,)
    # The continuous-Bernoulli mean is pulled from lambda towards 1/2.
    assert np.all(np.abs(mean - 0.5) <= np.abs(lam - 0.5) + 1e-7)
    assert mean[2] == pytest.approx(0.5)


# --- the inference decoder -------------------------------------------------------------------

# What tests/core/runtime/test_precision.py holds bf16 decodes of zoo models to, against fp32.
MAX_PIXEL_ERROR = 0.06
MEAN_PIXEL_ERROR = 0.002


def _eager_decode(model, z: np.ndarray, precision: str, output: str = "sigmoid") -> np.ndarray:
    """The path decode_points took before the inference decoder: model.decode under autocast."""
    with torch.inference_mode(), precisions.autocast(precision):
        logits = model.decode(torch.from_numpy(np.asarray(z, np.float32)))
    return logits_to_images(logits.float(), output)


def _assert_within_bf16_error(actual: np.ndarray, expected: np.ndarray) -> None:
    error = np.abs(actual - expected)
    assert error.max() < MAX_PIXEL_ERROR and error.mean() < MEAN_PIXEL_ERROR


def _strong(model):
    """The last layer scaled so the logits' spread is 3, as a trained model's: a fresh model's
    logits are all near 0, where every decode looks alike."""
    last = [m for m in model.decoder.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    with torch.no_grad():
        spread = model.decode(torch.from_numpy(sample_prior(64, model.latent_dim, seed=3))).std()
        last[-1].weight.mul_(3 / spread)
        last[-1].bias.mul_(3 / spread)
    return model


@pytest.mark.parametrize("output", ["sigmoid", "cb_mean"])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("arch", ARCHS)
def test_decode_points_computes_what_the_model_does(
    arch: str, channels_last: bool, output: str
) -> None:
    model = _strong(build_model(TrainConfig(arch=arch, latent_dim=3, init="glorot")).eval())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    z = sample_prior(40, 3, seed=1, temperature=2.0)
    exact = _eager_decode(model, z, "fp32", output)
    fp32 = decode_points(model, z, output, batch_size=16, precision="fp32")
    np.testing.assert_allclose(fp32, exact, rtol=0, atol=1e-5)
    assert np.abs(exact - 0.5).max() > 0.3  # the logits span a real range
    bf16 = decode_points(model, z, output, batch_size=16, precision="bf16")
    _assert_within_bf16_error(bf16, _eager_decode(model, z, "bf16", output))


@pytest.mark.parametrize(
    ("arch", "prepared"), [("dense", True), ("cnn_shallow", True), ("cnn_deep", False)]
)
def test_the_built_in_decoders_get_inference_steps_others_run_as_they_are(
    arch: str, prepared: bool
) -> None:
    model = build_model(TrainConfig(arch=arch, latent_dim=2)).eval()
    steps = decoder._inference_steps(model.decoder, torch.bfloat16)
    assert (steps is not None) == prepared
    z = sample_prior(5, 2, seed=0)
    if not prepared:  # cnn_deep: model.decode under autocast, exactly as before
        np.testing.assert_array_equal(
            decode_points(model, z, precision="bf16"), _eager_decode(model, z, "bf16")
        )


def test_decode_points_follows_weights_changed_after_a_decode() -> None:
    model = build_model(TrainConfig(arch="cnn_shallow", latent_dim=2)).eval()
    other = _strong(build_model(TrainConfig(arch="cnn_shallow", latent_dim=2, seed=7)).eval())
    z = sample_prior(6, 2, seed=0)
    for precision in ("fp32", "bf16"):
        decode_points(model, z, precision=precision)  # prepares the inference steps
    with torch.no_grad():
        model.decoder[0].weight.mul_(-2)  # in place
    np.testing.assert_allclose(
        decode_points(model, z, precision="fp32"), _eager_decode(model, z, "fp32"), atol=1e-5
    )
    model.load_state_dict(other.state_dict())
    for precision in ("fp32", "bf16"):
        _assert_within_bf16_error(
            decode_points(model, z, precision=precision), _eager_decode(other, z, "fp32")
        )
    model.decoder[7].bias = torch.nn.Parameter(torch.full((1,), 50.0))  # a new tensor
    assert decode_points(model, z, precision="fp32").min() > 0.99


MANIFEST = zoo.read_manifest()


@pytest.mark.skipif(not MANIFEST, reason="no zoo has been built into checkpoints/")
@pytest.mark.parametrize("name", ["vae-cnn-z2", "vae-dense-z2", "vae-cnn-z2-cb"])
def test_zoo_decodes_match_the_models_own_decode(name: str) -> None:
    model = load_model(zoo_dir() / MANIFEST[name]["folder"])
    output = "cb_mean" if zoo.ZOO[name].loss == "cb" else "sigmoid"
    grid = grid_points((-4.0, 4.0), (-4.0, 4.0), 20)  # (400, 2): the Latent Explorer's grid
    exact = _eager_decode(model, grid, "fp32", output)
    np.testing.assert_allclose(
        decode_points(model, grid, output, precision="fp32"), exact, rtol=0, atol=1e-5
    )
    bf16 = decode_points(model, grid, output, precision="bf16")
    before = _eager_decode(model, grid, "bf16", output)
    if output == "sigmoid":
        _assert_within_bf16_error(bf16, before)
        _assert_within_bf16_error(bf16, exact)
    # The continuous-Bernoulli model's logits cancel out of large terms at a few pixels, where
    # bf16 misses by up to ~0.5 either way; on average it is as close to fp32 as before.
    assert np.abs(bf16 - exact).mean() <= max(MEAN_PIXEL_ERROR, np.abs(before - exact).mean())
    # A click decodes one point as the background decodes it among 400.
    one = decode_points(model, grid[37], output, precision="bf16")[0]
    np.testing.assert_allclose(one, bf16[37], rtol=0, atol=1e-5)


# --- grids ----------------------------------------------------------------------------------


def test_grid_points_rows_run_from_top_to_bottom() -> None:
    points = grid_points((-1.0, 1.0), (0.0, 4.0), 3)
    assert points.shape == (9, 2)
    rows = points.reshape(3, 3, 2)
    np.testing.assert_array_equal(rows[:, 0, 1], [4.0, 2.0, 0.0])  # top row: highest y
    np.testing.assert_array_equal(rows[0, :, 0], [-1.0, 0.0, 1.0])  # left to right
    assert np.all(rows[:, :, 1] == rows[:, :1, 1])  # y is constant along a row


def test_grid_points_needs_a_point() -> None:
    with pytest.raises(ValueError):
        grid_points((0, 1), (0, 1), 0)


def test_plane_grid_corners_are_the_three_codes() -> None:
    rng = np.random.default_rng(0)
    z_a, z_b, z_c = rng.standard_normal((3, 6)).astype(np.float32)
    grid = plane_grid(z_a, z_b, z_c, 5)
    assert grid.shape == (5, 5, 6)
    np.testing.assert_allclose(grid[0, 0], z_a, atol=1e-6)
    np.testing.assert_allclose(grid[0, -1], z_b, atol=1e-6)
    np.testing.assert_allclose(grid[-1, 0], z_c, atol=1e-6)
    np.testing.assert_allclose(grid[-1, -1], z_b + z_c - z_a, atol=1e-5)
    np.testing.assert_allclose(grid[0, 2], (z_a + z_b) / 2, atol=1e-6)
    wider = plane_grid(z_a, z_b, z_c, 5, margin=0.5)
    np.testing.assert_allclose(wider[0, 0], z_a - 0.5 * (z_b - z_a) - 0.5 * (z_c - z_a), atol=1e-5)


# --- projection -----------------------------------------------------------------------------


def test_projection_of_two_dimensional_codes_is_the_identity() -> None:
    codes = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32) + 3
    projection = fit_projection(codes)
    assert projection.is_identity
    np.testing.assert_array_equal(projection.project(codes), codes)
    np.testing.assert_array_equal(projection.lift(codes), codes)


def test_projection_of_one_dimensional_codes_ignores_y() -> None:
    projection = fit_projection(np.array([[1.0], [2.0], [-3.0]]))
    points = np.array([[0.5, 9.0], [-2.0, -9.0]], np.float32)
    np.testing.assert_array_equal(projection.lift(points), [[0.5], [-2.0]])
    np.testing.assert_array_equal(projection.project([[0.5], [-2.0]]), [[0.5, 0.0], [-2.0, 0.0]])


def test_pca_projection_round_trips_codes_on_the_plane() -> None:
    codes, basis = _codes_on_a_plane(200, 16)
    projection = fit_projection(codes)
    assert isinstance(projection, Projection) and not projection.is_identity
    np.testing.assert_allclose(projection.lift(projection.project(codes)), codes, atol=1e-4)
    points = np.array([[0.0, 0.0], [1.0, -2.0]], np.float32)
    np.testing.assert_allclose(projection.project(projection.lift(points)), points, atol=1e-5)
    # The components span the plane the codes were drawn on: their coordinates in its basis
    # form a rotation (or reflection).
    in_plane = projection.components @ basis.T  # (2, 2)
    np.testing.assert_allclose(in_plane @ in_plane.T, np.eye(2), atol=1e-5)
    np.testing.assert_allclose(projection.explained_variance_ratio.sum(), 1.0, atol=1e-5)
    assert projection.explained_variance_ratio[0] > projection.explained_variance_ratio[1]


def test_pca_components_are_orthonormal_and_the_mean_is_the_data_mean() -> None:
    codes = np.random.default_rng(1).standard_normal((300, 16)) * np.arange(1, 17)
    projection = fit_projection(codes)
    assert projection.components.shape == (2, 16)
    np.testing.assert_allclose(
        projection.components @ projection.components.T, np.eye(2), atol=1e-6
    )
    np.testing.assert_allclose(projection.mean, codes.mean(axis=0), rtol=1e-5)
    projected = projection.project(codes)
    np.testing.assert_allclose(projected.mean(axis=0), 0, atol=1e-3)
    assert projected[:, 0].var() >= projected[:, 1].var()


def test_pca_signs_are_stable() -> None:
    codes, _ = _codes_on_a_plane(200, 16)
    reference = fit_projection(codes).components
    order = np.random.default_rng(2).permutation(len(codes))
    for variant in (codes[order], -codes, codes * 2.0 + 1.0):
        components = fit_projection(variant).components
        # Same directions up to sign, and the sign rule picks the same one each time.
        np.testing.assert_allclose(components, reference, atol=1e-5)
    for row in reference:
        assert row[np.argmax(np.abs(row))] > 0


# --- interpolation --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolation_endpoints_are_exact(method: str) -> None:
    rng = np.random.default_rng(0)
    z_a, z_b = rng.standard_normal((2, 8)).astype(np.float32)
    path = interpolate(z_a, z_b, 7, method)
    assert path.shape == (7, 8)
    np.testing.assert_allclose(path[0], z_a, atol=1e-6)
    np.testing.assert_allclose(path[-1], z_b, atol=1e-6)


def test_linear_midpoint_is_the_average() -> None:
    z_a, z_b = np.array([0.0, 2.0, -4.0]), np.array([2.0, 2.0, 4.0])
    np.testing.assert_allclose(interpolate(z_a, z_b, 3)[1], [1.0, 2.0, 0.0])
    steps = interpolate(z_a, z_b, 5)
    np.testing.assert_allclose(np.diff(steps, axis=0), np.tile((z_b - z_a) / 4, (4, 1)), atol=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_endpoints() -> None:
    rng = np.random.default_rng(3)
    z_a, z_b = rng.standard_normal((2, 16))
    z_b *= np.linalg.norm(z_a) / np.linalg.norm(z_b)
    path = interpolate(z_a, z_b, 9, "spherical")
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z_a), rtol=1e-5)
    linear = interpolate(z_a, z_b, 9, "linear")
    assert np.linalg.norm(linear[4]) < np.linalg.norm(z_a)  # lerp cuts inside the sphere


@pytest.mark.parametrize(
    ("z_a", "z_b"),
    [
        pytest.param([1.0, 2.0], [2.0, 4.0], id="parallel"),
        pytest.param([1.0, 2.0], [1.0, 2.0], id="equal"),
        pytest.param([1.0, 0.0], [-1.0, 0.0], id="antiparallel"),
        pytest.param([1.0, 2.0], [-2.0, -4.0], id="antiparallel-longer"),
        pytest.param([0.0, 0.0], [1.0, 1.0], id="zero"),
    ],
)
def test_slerp_falls_back_to_lerp_when_the_angle_is_degenerate(z_a, z_b) -> None:
    spherical = interpolate(np.array(z_a), np.array(z_b), 5, "spherical")
    linear = interpolate(np.array(z_a), np.array(z_b), 5, "linear")
    np.testing.assert_allclose(spherical, linear, atol=1e-6)


def test_interpolation_needs_two_steps() -> None:
    with pytest.raises(ValueError):
        interpolate(np.zeros(2), np.ones(2), 1)


# --- neighbours and samples -----------------------------------------------------------------


def test_nearest_returns_sorted_distances_and_the_exact_match_first() -> None:
    codes = np.random.default_rng(4).standard_normal((100, 5)).astype(np.float32)
    index, distances = nearest(codes, codes[37], k=6)
    assert index.shape == distances.shape == (6,)
    assert index[0] == 37 and distances[0] == 0
    assert np.all(np.diff(distances) >= 0)
    expected = np.argsort(np.linalg.norm(codes - codes[37], axis=1))[:6]
    np.testing.assert_array_equal(index, expected)
    np.testing.assert_allclose(distances, np.linalg.norm(codes[index] - codes[37], axis=1))


def test_nearest_with_k_larger_than_the_set() -> None:
    codes = np.array([[3.0], [1.0], [2.0]])
    index, distances = nearest(codes, np.array([0.0]), k=10)
    np.testing.assert_array_equal(index, [1, 2, 0])
    np.testing.assert_allclose(distances, [1.0, 2.0, 3.0])


def test_sample_prior_is_reproducible_and_scaled_by_temperature() -> None:
    first = sample_prior(500, 3, seed=7)
    assert first.shape == (500, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, sample_prior(500, 3, seed=7))
    assert not np.array_equal(first, sample_prior(500, 3, seed=8))
    np.testing.assert_array_equal(sample_prior(500, 3, seed=7, temperature=0.5), first * 0.5)
    assert np.all(sample_prior(4, 3, temperature=0.0) == 0)
    assert 0.85 < first.std() < 1.15
    with pytest.raises(ValueError):
        sample_prior(1, 1, temperature=-1.0)


# --- tiling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "columns", "pad", "shape"),
    [
        (6, 3, 1, (2 * 29 - 1, 3 * 29 - 1)),
        (7, 3, 2, (3 * 30 - 2, 3 * 30 - 2)),
        (1, 4, 0, (28, 4 * 28)),
        (64, 8, 1, (8 * 29 - 1, 8 * 29 - 1)),
    ],
)
def test_tile_shapes(count: int, columns: int, pad: int, shape: tuple[int, int]) -> None:
    images = np.zeros((count, 28, 28), np.float32)
    canvas = tile(images, columns, pad=pad, fill=1.0)
    assert canvas.shape == shape


def test_tile_places_images_row_by_row() -> None:
    images = np.arange(4, dtype=np.float32)[:, None, None] * np.ones((4, 2, 3), np.float32)
    canvas = tile(images / 10, columns=2, pad=1, fill=1.0)
    assert canvas.shape == (5, 7)
    assert canvas[0, 0] == 0.0 and canvas[0, 4] == pytest.approx(0.1)
    assert canvas[3, 0] == pytest.approx(0.2) and canvas[4, 6] == pytest.approx(0.3)
    assert np.all(canvas[2, :] == 1.0) and np.all(canvas[:, 3] == 1.0)  # padding


@pytest.mark.parametrize(
    ("count", "columns", "pad"), [(400, 20, 0), (7, 3, 1), (5, 5, 2), (1, 4, 0)]
)
def test_tile_matches_placing_each_image_by_hand(count: int, columns: int, pad: int) -> None:
    images = np.random.default_rng(0).random((count, 4, 3), dtype=np.float32)
    canvas = tile(images, columns, pad=pad, fill=0.5)
    rows = -(-count // columns)
    expected = np.full((rows * (4 + pad) - pad, columns * (3 + pad) - pad), 0.5, np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        expected[r * (4 + pad) : r * (4 + pad) + 4, c * (3 + pad) : c * (3 + pad) + 3] = image
    np.testing.assert_array_equal(canvas, expected)
    assert canvas.flags.c_contiguous
