"""Streamlit glue shared by the pages: cached loaders, the model sidebar, image display.

Computation lives in `jlml_core`; this package only caches its results per model and lays
them out. Nothing here is imported by `jlml_core`.
"""
