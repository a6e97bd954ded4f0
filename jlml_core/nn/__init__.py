"""Layer 1: the networks. Encoder/decoder architectures (a registry users extend), faster
drop-in layers, the `Autoencoder` built from a config, and the losses as pure tensor functions."""
