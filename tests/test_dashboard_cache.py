"""dashboard/cache.py outside a running app: what `long_lived` does to the garbage collector."""

from __future__ import annotations

import gc

from dashboard.cache import long_lived


def _tracked(value: object) -> bool:
    """True when `value` sits in a generation the collector scans (frozen ones are left out)."""
    return any(candidate is value for candidate in gc.get_objects())


def test_long_lived_moves_what_it_built_out_of_the_collectors_scans() -> None:
    gc.unfreeze()

    @long_lived
    def build() -> dict[str, list[int]]:
        return {"weights": list(range(10))}

    try:
        built = build()
        assert built == {"weights": list(range(10))}
        assert gc.get_freeze_count() > 0
        assert not _tracked(built)  # a full collection no longer walks it
    finally:
        gc.unfreeze()
    assert _tracked(built)


def test_long_lived_keeps_the_builders_name_and_docstring() -> None:
    def build_model() -> int:
        """Docstring."""
        return 1

    wrapped = long_lived(build_model)
    assert wrapped.__name__ == "build_model" and wrapped.__doc__ == "Docstring."
    gc.unfreeze()
    assert wrapped() == 1
    gc.unfreeze()
