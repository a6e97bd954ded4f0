"""Layer 3: trained models on disk. `checkpoints` is the only code that reads or writes a
checkpoint's files (safetensors + JSON); `model_cache` finds a config's model in the cache or
the zoo, or trains it once (`get_or_train`); `zoo` lists the models the zoo ships."""
