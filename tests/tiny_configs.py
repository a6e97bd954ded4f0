"""Tiny configs several test modules train: one definition, so they train the same model."""

from jlml_core.config import TrainConfig

# A conditional VAE that trains in ~3 s: batches of 64 at 3e-3, so in its 94 steps the
# decoder already learns to use the label.
TINY_CVAE = TrainConfig(
    arch="dense",
    hidden_dim=64,
    conditional=True,
    epochs=2,
    train_subset=3000,
    batch_size=64,
    learning_rate=3e-3,
    seed=1,
)
