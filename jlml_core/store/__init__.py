"""Layer 3: trained models on disk. The safetensors + JSON checkpoint cache (the only code that
reads or writes checkpoint files) and the list of models the zoo ships."""
