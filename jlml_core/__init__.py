"""JL-ML Autoencoder Lab: train, cache and explore autoencoders and VAEs on handwritten digits.

The package holds all computation; the Streamlit dashboard (``app.py`` + ``views/``) only
lays it out.
See the README for a tour of the public API.
"""
