"""Reference baseline: the original project's Keras/TensorFlow VAE on MNIST.

Trains the classic Keras VAE (keras.io "Variational AutoEncoder", a ``keras.Model`` subclass
with a custom ``train_step``; Kingma & Welling 2014) and measures training throughput and the
test negative ELBO, so JL-ML's PyTorch numbers have something to be compared against.

Self-contained on purpose: it runs in a separate TensorFlow venv (see bench/README_keras.md),
imports nothing from ``jlml_core`` and reads MNIST straight from the gzipped IDX files.

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu numpy
    /tmp/tfvenv/bin/python bench/keras_baseline.py --arch cnn_shallow --epochs 5 \
        --json-out bench/results/keras_baseline_cnn_shallow.json

Loss per image = BCE from logits summed over the 784 pixels + KL(q(z|x) || N(0, I)) summed over
latent dims (closed form, Kingma & Welling App. B); averaged over the batch. In nats/image.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import struct
import sys
import time
from pathlib import Path

# Quieten TF's C++ start-up banner; must be set before tensorflow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIRS = (REPO_ROOT / "data" / "mnist", Path("/work/shared/data/mnist"))
IMAGE_SHAPE = (28, 28, 1)
N_PIXELS = 28 * 28


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def read_idx_gz(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (uint8 payload) into an array of its declared shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file (magic {raw[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(shape)


def resolve_data_dir(data_dir: str | None) -> Path:
    """Use --data-dir if given, else the repo's data/mnist, else shared/data/mnist."""
    candidates = [Path(data_dir)] if data_dir else list(DEFAULT_DATA_DIRS)
    for d in candidates:
        if (d / "train-images-idx3-ubyte.gz").is_file():
            return d
    raise FileNotFoundError(f"no MNIST IDX files found in any of {[str(c) for c in candidates]}")


def load_mnist(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (train, test) images as float32 in [0, 1], shape (N, 28, 28, 1); not binarised."""

    def images(split: str) -> np.ndarray:
        x = read_idx_gz(data_dir / f"{split}-images-idx3-ubyte.gz")  # (N, 28, 28) uint8
        return (x.astype(np.float32) / 255.0)[..., None]  # (N, 28, 28, 1)

    x_train, x_test = images("train"), images("t10k")
    if x_train.shape[0] != 60_000 or x_test.shape[0] != 10_000:
        raise ValueError(f"unexpected MNIST sizes {x_train.shape}, {x_test.shape}")
    return x_train, x_test


# --------------------------------------------------------------------------------------------
# Model: the classic Keras VAE, with logits out of the decoder
# --------------------------------------------------------------------------------------------
class Sampling(layers.Layer):
    """Reparameterisation trick: z = mu + exp(logvar / 2) * eps, eps ~ N(0, I)."""

    def __init__(self, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(tf.shape(z_mean), seed=self.seed_generator)
        return z_mean + tf.exp(0.5 * z_log_var) * eps


def build_encoder(arch: str, latent_dim: int, seed: int, hidden_dim: int | None) -> keras.Model:
    inputs = keras.Input(shape=IMAGE_SHAPE)  # (B, 28, 28, 1)
    if arch == "cnn_shallow":
        h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)  # 14x14
        h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)  # (B, 7, 7, 64)
        h = layers.Flatten()(h)
        h = layers.Dense(hidden_dim or 16, activation="relu")(h)
    elif arch == "dense":
        h = layers.Flatten()(inputs)  # (B, 784)
        h = layers.Dense(hidden_dim or 512, activation="relu")(h)
    else:
        raise ValueError(f"unknown arch {arch!r}")
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling(seed, name="z")([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name=f"encoder_{arch}")


def build_decoder(arch: str, latent_dim: int, hidden_dim: int | None) -> keras.Model:
    z = keras.Input(shape=(latent_dim,))
    if arch == "cnn_shallow":
        h = layers.Dense(7 * 7 * 32, activation="relu")(z)
        h = layers.Reshape((7, 7, 32))(h)
        h = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(h)  # 14
        h = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)  # 28
        logits = layers.Conv2D(1, 3, padding="same")(h)  # (B, 28, 28, 1)
    elif arch == "dense":
        h = layers.Dense(hidden_dim or 512, activation="relu")(z)
        h = layers.Dense(N_PIXELS)(h)
        logits = layers.Reshape(IMAGE_SHAPE)(h)  # (B, 28, 28, 1)
    else:
        raise ValueError(f"unknown arch {arch!r}")
    return keras.Model(z, logits, name=f"decoder_{arch}")


def per_image_neg_elbo(x, logits, z_mean, z_log_var):
    """Negative ELBO per image in nats, shape (B,): summed BCE-with-logits + analytic KL."""
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)  # (B, 28, 28, 1)
    recon = tf.reduce_sum(bce, axis=[1, 2, 3])  # (B,)
    kl = -0.5 * tf.reduce_sum(1.0 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var), axis=1)
    return recon, kl


class VAE(keras.Model):
    """The classic Keras VAE: encoder + decoder and a custom train_step on the negative ELBO."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, x, training=False):
        z_mean, z_log_var, z = self.encoder(x, training=training)
        return self.decoder(z, training=training)

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(x, training=True)
            logits = self.decoder(z, training=True)
            recon, kl = per_image_neg_elbo(x, logits, z_mean, z_log_var)
            reconstruction_loss = tf.reduce_mean(recon)
            kl_loss = tf.reduce_mean(kl)
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------
def machine_busy_seconds() -> float | None:
    """CPU-seconds all processes on the machine have spent busy since boot (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class EpochTimer(keras.callbacks.Callback):
    """Per epoch: wall-clock seconds as model.fit runs it (fit's own overhead included), and
    how many cores *other* processes kept busy meanwhile, so contended epochs show up."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.own_cores: list[float] = []
        self.other_cores: list[float | None] = []
        self._start = (0.0, 0.0, None)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = (time.perf_counter(), own_cpu_seconds(), machine_busy_seconds())

    def on_epoch_end(self, epoch, logs=None):
        t0, own0, busy0 = self._start
        wall = time.perf_counter() - t0
        own = own_cpu_seconds() - own0
        busy1 = machine_busy_seconds()
        self.seconds.append(wall)
        self.own_cores.append(own / wall)
        other = None if busy0 is None or busy1 is None else max(0.0, (busy1 - busy0 - own) / wall)
        self.other_cores.append(other)


def evaluate_neg_elbo(vae: VAE, x: np.ndarray, batch_size: int, seed: int) -> dict[str, float]:
    """Mean test negative ELBO (nats/image), decoding z = z_mean and a single sampled z."""
    encoder, decoder = vae.encoder, vae.decoder
    sampler = Sampling(seed)

    @tf.function(autograph=False)  # straight-line tensor code: nothing for AutoGraph to convert
    def step(xb):
        z_mean, z_log_var, _ = encoder(xb, training=False)
        z = sampler([z_mean, z_log_var])
        recon_mean, kl = per_image_neg_elbo(xb, decoder(z_mean, training=False), z_mean, z_log_var)
        recon_sampled, _ = per_image_neg_elbo(xb, decoder(z, training=False), z_mean, z_log_var)
        return recon_mean, recon_sampled, kl

    sums = np.zeros(3, dtype=np.float64)  # recon(mean z), recon(sampled z), kl
    for start in range(0, len(x), batch_size):
        outs = step(tf.constant(x[start : start + batch_size]))
        sums += [float(tf.reduce_sum(tf.cast(o, tf.float64))) for o in outs]
    recon_mean, recon_sampled, kl = sums / len(x)
    return {
        "test_neg_elbo_mean_z": recon_mean + kl,
        "test_neg_elbo_sampled": recon_sampled + kl,
        "test_recon_mean_z": recon_mean,
        "test_recon_sampled": recon_sampled,
        "test_kl": kl,
    }


class TestElboEachEpoch(keras.callbacks.Callback):
    """Test -ELBO after every epoch, printed at once, so a long run that has to be stopped
    still leaves its learning curve. Runs after EpochTimer: epoch times exclude it."""

    def __init__(self, x_test: np.ndarray, seed: int):
        super().__init__()
        self.x_test, self.seed = x_test, seed
        self.per_epoch: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        test = evaluate_neg_elbo(self.model, self.x_test, batch_size=1000, seed=self.seed)
        self.per_epoch.append(test["test_neg_elbo_sampled"])
        print(f"epoch {epoch + 1}: test -ELBO {test['test_neg_elbo_sampled']:.2f}", flush=True)


def machine_info() -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "nproc": (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
    }


def loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", choices=["cnn_shallow", "dense"], default="cnn_shallow")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--hidden-dim",
        type=int,
        default=None,
        help="encoder dense width (cnn_shallow: 16, the Keras example's; dense: 512)",
    )
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder with the MNIST *.gz IDX files (default: data/mnist, then "
        "/work/shared/data/mnist)",
    )
    p.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        help="Keras compile() option; 1 = one Python round trip per batch (default, "
        "as the original project ran)",
    )
    p.add_argument(
        "--jit-compile",
        choices=["auto", "true", "false"],
        default="auto",
        help="XLA; Keras 'auto' resolves to off on a CPU-only machine",
    )
    p.add_argument(
        "--eval-each-epoch",
        action="store_true",
        help="print the test -ELBO (sampled z) after every epoch; epoch times exclude it",
    )
    p.add_argument("--json-out", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be >= 2: the first epoch is warm-up, steady state needs another")
    return args


def learning_rate(args: argparse.Namespace, n_train: int):
    """Constant, or cosine decay to 0 over all steps (JL-ML's schedule="cosine")."""
    if args.schedule == "constant":
        return args.lr
    steps = args.epochs * -(-n_train // args.batch_size)
    return keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=steps)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)  # Python, NumPy and TF seeds

    data_dir = resolve_data_dir(args.data_dir)
    x_train, x_test = load_mnist(data_dir)

    encoder = build_encoder(args.arch, args.latent_dim, seed=args.seed, hidden_dim=args.hidden_dim)
    decoder = build_decoder(args.arch, args.latent_dim, hidden_dim=args.hidden_dim)
    vae = VAE(encoder, decoder, name=f"vae_{args.arch}")
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    vae.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate(args, len(x_train))),
        steps_per_execution=args.steps_per_execution,
        jit_compile=jit,
    )
    n_params = encoder.count_params() + decoder.count_params()

    timer = EpochTimer()
    curve = TestElboEachEpoch(x_test, seed=args.seed + 1) if args.eval_each_epoch else None
    callbacks = [timer] if curve is None else [timer, curve]
    load_before = loadavg()
    t0 = time.perf_counter()
    # fit() shuffles the in-memory array afresh every epoch (shuffle=True); the last batch is
    # the 96-image remainder of 60,000 / 128.
    history = vae.fit(
        x_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    total_train_seconds = time.perf_counter() - t0
    load_after = loadavg()

    n_train = len(x_train)
    per_epoch_ips = [n_train / s for s in timer.seconds]
    steady_seconds = sum(timer.seconds[1:])
    steady_ips = n_train * (len(timer.seconds) - 1) / steady_seconds

    t_eval = time.perf_counter()
    test = evaluate_neg_elbo(vae, x_test, batch_size=1000, seed=args.seed + 1)
    eval_seconds = time.perf_counter() - t_eval

    result = {
        "framework": "keras",
        "arch": args.arch,
        "epochs": args.epochs,
        "latent_dim": args.latent_dim,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "hidden_dim": args.hidden_dim,
        "schedule": args.schedule,
        "seed": args.seed,
        "n_params": int(n_params),
        "n_train": n_train,
        "n_test": len(x_test),
        "images_per_second": steady_ips,
        "images_per_second_note": "steady state: epochs 2..N, wall clock of model.fit per epoch",
        "first_epoch_images_per_second": per_epoch_ips[0],
        "per_epoch_images_per_second": per_epoch_ips,
        "per_epoch_seconds": timer.seconds,
        "per_epoch_own_cores": timer.own_cores,
        "per_epoch_other_processes_cores": timer.other_cores,
        "per_epoch_cores_note": "cores kept busy by this process / by every other process on the "
        "machine during each epoch (/proc/stat); other > ~0.2 means the "
        "epoch was contended",
        "total_train_seconds": total_train_seconds,
        "train_loss_per_epoch": [float(v) for v in history.history["loss"]],
        "test_neg_elbo_sampled_per_epoch": curve.per_epoch if curve else None,
        "test_neg_elbo_mean_z": test["test_neg_elbo_mean_z"],
        "test_neg_elbo_sampled": test["test_neg_elbo_sampled"],
        "test_neg_elbo_note": "nats/image on the 10,000 test images; mean_z decodes z = z_mean, "
        "sampled decodes one reparameterised z ~ q(z|x); KL is analytic",
        "test_recon_mean_z": test["test_recon_mean_z"],
        "test_recon_sampled": test["test_recon_sampled"],
        "test_kl": test["test_kl"],
        "eval_seconds": eval_seconds,
        "steps_per_execution": args.steps_per_execution,
        "jit_compile": args.jit_compile,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "data_dir": str(data_dir),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "machine": machine_info(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print_table(result)
    if args.json_out:
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    return result


def print_table(r: dict) -> None:
    rows = [
        ("arch", r["arch"]),
        ("epochs / batch / latent", f"{r['epochs']} / {r['batch_size']} / {r['latent_dim']}"),
        ("parameters", f"{r['n_params']:,}"),
        ("img/s, steady (epochs 2..N)", f"{r['images_per_second']:,.0f}"),
        ("img/s, first epoch (warm-up)", f"{r['first_epoch_images_per_second']:,.0f}"),
        ("img/s per epoch", ", ".join(f"{v:,.0f}" for v in r["per_epoch_images_per_second"])),
        (
            "cores used: this / others",
            ", ".join(
                f"{own:.1f}/{'?' if other is None else f'{other:.1f}'}"
                for own, other in zip(
                    r["per_epoch_own_cores"], r["per_epoch_other_processes_cores"], strict=True
                )
            ),
        ),
        ("total train time", f"{r['total_train_seconds']:.1f} s"),
        ("train loss per epoch", ", ".join(f"{v:.2f}" for v in r["train_loss_per_epoch"])),
        ("test -ELBO, z = z_mean", f"{r['test_neg_elbo_mean_z']:.2f} nats/image"),
        ("test -ELBO, one sampled z", f"{r['test_neg_elbo_sampled']:.2f} nats/image"),
        ("test KL", f"{r['test_kl']:.2f} nats/image"),
        ("TensorFlow / Keras", f"{r['tensorflow_version']} / {r['keras_version']}"),
        ("CPU", f"{r['machine']['cpu_model']} x {r['machine']['nproc']}"),
        ("load avg before / after", f"{r['loadavg_before']} / {r['loadavg_after']}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\nKeras VAE baseline ({r['arch']})")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


if __name__ == "__main__":
    main()
