"""Layer 2: using a trained model. Encode, decode, reconstruct, posteriors and the decoded
latent plane. Never imports `training`: a dashboard that only shows models never loads it."""
