"""Layer 5: long-running work. Train many configs on a local pool or Ray, grid sweeps, the zoo
rebuild, and the torchrun entry point."""
