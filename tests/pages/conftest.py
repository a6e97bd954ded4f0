"""What the pages' download buttons would save, for the page tests.

A download button makes its file only when clicked (`dashboard.charts.download_button` hands
Streamlit a function), and AppTest cannot click through to the file. So `downloads` records
each function as the page registers it with Streamlit's media file manager, by file name; a
test calls it and checks the real bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager


class Offered(NamedTuple):
    """A file a download button offers: its MIME type and the function that makes it."""

    mime: str | None
    make: Callable[[], str | bytes]


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Offered]:
    """File name -> `Offered`, for every download button the page runs so far have drawn."""
    offered: dict[str, Offered] = {}
    register = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        offered[file_name] = Offered(mimetype, data_callable)
        return register(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return offered
