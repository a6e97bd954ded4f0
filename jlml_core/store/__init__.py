"""Layer 3: trained models on disk. `checkpoints` reads and writes a checkpoint's own files
(safetensors + JSON), `test_codes` the encoded test set shipped beside it; nothing outside this
layer touches those folders. `model_cache` finds a config's model in the cache or the zoo, or
trains it once (`get_or_train`); `zoo` lists the models the zoo ships."""
