"""``torchrun --nproc_per_node=2 -m jlml_core.jobs.torchrun --out DIR [config flags]``.

The entry point that trains one config over several processes with `fit_data_parallel`
(DDP on gloo); rank 0 saves it into the store at --out.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import torch
import torch.distributed as dist

from jlml_core.cli_args import add_config_arguments, config_from_args
from jlml_core.training.distributed import fit_data_parallel


def build_parser() -> argparse.ArgumentParser:
    """--out and the same config flags as ``jlml train``."""
    parser = argparse.ArgumentParser(prog="python -m jlml_core.jobs.torchrun")
    parser.add_argument("--out", required=True, help="store folder for the trained model")
    add_config_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for torchrun: train the config the flags give, rank 0 saves it to --out."""
    from jlml_core.store.checkpoints import CheckpointStore

    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    dist.init_process_group("gloo")
    try:
        result = fit_data_parallel(config)
        if dist.get_rank() == 0:
            folder = CheckpointStore(args.out).save(config, result)
            print(f"saved {folder}; test metrics {result.metrics}", file=sys.stderr)
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
