"""The Train page's recipes and family presets (dashboard/train_form.py) name valid, distinct
configs."""

from __future__ import annotations

import pytest

from dashboard.train_form import DEFAULTS, FAMILIES, FAMILY_FIELDS
from jlml_core.config import RECIPES, TrainConfig


def _preset_config(changes: dict) -> TrainConfig:
    """The form's starting config (the default recipe's) with the family's fields set."""
    fields = {field: changes.get(field, getattr(DEFAULTS, field)) for field in FAMILY_FIELDS}
    return DEFAULTS.replace(**fields)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_preset_is_a_valid_config_that_only_sets_family_fields(name: str) -> None:
    assert set(FAMILIES[name]) <= set(FAMILY_FIELDS)
    _preset_config(FAMILIES[name])  # raises ConfigError if the preset were impossible


def test_presets_are_distinct_models_and_the_first_is_the_default() -> None:
    configs = [_preset_config(changes) for changes in FAMILIES.values()]
    assert configs[0] == DEFAULTS
    assert len({config.key() for config in configs}) == len(configs)


def test_the_form_starts_from_the_quick_recipe_and_no_recipe_sets_a_family_field() -> None:
    assert RECIPES["quick"].config() == DEFAULTS
    for recipe in RECIPES.values():
        assert not {field for field, _ in recipe.values} & set(FAMILY_FIELDS), recipe.name
