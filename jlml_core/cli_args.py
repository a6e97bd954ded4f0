"""Command-line flags derived from `TrainConfig`'s fields: one flag per field, nothing typed twice.

A flag's name, type, choices, default and help come from its field: the type annotation
(``Literal[...]`` gives the choices, ``int | None`` an optional number), the default, and the help
text in the field's metadata (`jlml_core.config`). A new config field therefore gets its
``train`` flag (`add_config_arguments`) and its ``sweep`` flag (`add_sweep_arguments`) without
an edit here. Sweep flags are the field names (``--learning-rate``); ``train`` uses the flag a
field's metadata names, where it has one (``--lr``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from jlml_core.config import FLAG, HELP, NONE_MEANS, RECIPES, ConfigError, Recipe, TrainConfig
from jlml_core.nn import architectures

CONFIG_GROUP = "model and training"
SWEEP_GROUP = "config fields (comma-separated values sweep a field; one value fixes it)"
_SWEEP_DEST_PREFIX = "sweep_"


class CliError(Exception):
    """A user mistake; printed as one line, exit status 2."""


@dataclass(frozen=True)
class ConfigOption:
    """One `TrainConfig` field as the command line sees it.

    Attributes:
        name: the field's name, e.g. "latent_dim".
        flag: its ``train`` flag: "--latent-dim", or the one its metadata names ("--lr").
        annotation: the field's resolved type, e.g. ``int | None`` or ``Literal["ae", "vae"]``.
        value_type: what the flag's text is parsed as: int, float or str.
        choices: the allowed values of a ``Literal`` field, else ().
        optional: the field may be None (its type is ``X | None``).
        default: the field's default.
        help: what the flag sets ("" when its name says it all).
        none_means: what a None default stands for, shown as the default ("" says nothing).
    """

    name: str
    flag: str
    annotation: Any
    value_type: type
    choices: tuple[Any, ...]
    optional: bool
    default: Any
    help: str
    none_means: str

    @property
    def dest(self) -> str:
        """The argparse attribute of the ``train`` flag (argparse's own name for it)."""
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def sweep_flag(self) -> str:
        return f"--{self.name.replace('_', '-')}"

    @property
    def sweep_dest(self) -> str:
        return f"{_SWEEP_DEST_PREFIX}{self.name}"


@functools.cache
def config_options() -> tuple[ConfigOption, ...]:
    """Every `TrainConfig` field as a command-line option, in declaration order."""
    hints = typing.get_type_hints(TrainConfig)
    return tuple(_option(field, hints[field.name]) for field in dataclasses.fields(TrainConfig))


def _option(field: dataclasses.Field, annotation: Any) -> ConfigOption:
    arguments = typing.get_args(annotation)
    optional = isinstance(annotation, types.UnionType) and type(None) in arguments
    inner = next(a for a in arguments if a is not type(None)) if optional else annotation
    choices = typing.get_args(inner) if typing.get_origin(inner) is Literal else ()
    return ConfigOption(
        name=field.name,
        flag=field.metadata.get(FLAG, f"--{field.name.replace('_', '-')}"),
        annotation=annotation,
        value_type=type(choices[0]) if choices else inner,
        choices=choices,
        optional=optional,
        default=field.default,
        help=field.metadata.get(HELP, ""),
        none_means=field.metadata.get(NONE_MEANS, ""),
    )


_TRUE_TEXTS = ("true", "yes", "on", "1")
_FALSE_TEXTS = ("false", "no", "off", "0")


def parse_bool(text: str) -> bool:
    """A yes/no flag's text: true/yes/on/1 or false/no/off/0 (any case)."""
    lowered = text.strip().lower()
    if lowered in _TRUE_TEXTS:
        return True
    if lowered in _FALSE_TEXTS:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _escaped(text: str) -> str:
    return text.replace("%", "%%")  # argparse %-formats help texts


def _train_help(option: ConfigOption) -> str:
    if option.default is not None:
        default = f"(default: {_escaped(str(option.default))})"
    elif option.none_means:
        default = f"(default: {_escaped(option.none_means)})"
    else:
        default = ""
    return " ".join(part for part in (_escaped(option.help), default) if part)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per `TrainConfig` field (a "model and training" group) and ``--recipe``
    to `parser`.

    `config_from_args` turns the parsed flags into the config. A flag left out is absent
    from the namespace (not set to its default), so a recipe's value can stand in for it.
    """
    group = parser.add_argument_group(CONFIG_GROUP)
    group.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default=None,
        help="start from a named recipe; flags given as well override its values. "
        + "; ".join(f"{r.name}: {_escaped(r.summary)}" for r in RECIPES.values()),
    )
    for option in config_options():
        group.add_argument(
            option.flag,
            dest=option.dest,
            type=parse_bool if option.value_type is bool else option.value_type,
            choices=option.choices or None,
            default=argparse.SUPPRESS,
            help=_train_help(option),
        )


def recipe_from_args(args: argparse.Namespace) -> Recipe | None:
    """The recipe ``--recipe`` named, or None."""
    return RECIPES[args.recipe] if getattr(args, "recipe", None) else None


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Build and validate the config that `add_config_arguments`' parsed flags give.

    Raises:
        CliError: an unknown architecture, or a value the config refuses (the message says
            which and why).
    """
    given = {o.name: getattr(args, o.dest) for o in config_options() if hasattr(args, o.dest)}
    recipe = recipe_from_args(args)
    try:
        architectures.get_architecture(given.get("arch", TrainConfig.arch))
    except KeyError as error:
        raise CliError(error.args[0]) from error
    try:
        return recipe.config(**given) if recipe is not None else TrainConfig(**given)
    except ConfigError as error:
        raise CliError(str(error)) from error


def _sweep_help(option: ConfigOption) -> str:
    kinds = "|".join(map(str, option.choices))
    return _escaped(
        "; ".join(part for part in (option.help, kinds, f"default: {option.default}") if part)
    )


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one ``--field-name V[,V...]`` flag per `TrainConfig` field to `parser`.

    `sweep_texts` reads back the ones given.
    """
    group = parser.add_argument_group(SWEEP_GROUP)
    for option in config_options():
        group.add_argument(
            option.sweep_flag, dest=option.sweep_dest, metavar="V[,V...]", help=_sweep_help(option)
        )


def sweep_texts(args: argparse.Namespace) -> dict[str, str]:
    """The text given to each sweep flag, by field name; fields not given are left out."""
    return {
        option.name: text
        for option in config_options()
        if (text := getattr(args, option.sweep_dest)) is not None
    }
