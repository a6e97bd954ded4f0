"""Layer 0, beside `config`: where and how arithmetic runs (device, bf16 precision, memory)."""
