"""Layer 2: training. `fit` and its epoch loop, the latent codes recorded while a model trains,
the Train page's time estimate, and data-parallel training. Nothing in `inference` imports this."""
