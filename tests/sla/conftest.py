"""Each SLA test starts from a fresh process calendar and policy cache (the database is emptied too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotline.sla import service
from tests.conftest import settings_for


@pytest.fixture(autouse=True)
def fresh_sla_state(request: pytest.FixtureRequest) -> Iterator[None]:
    service.configure(settings_for("sqlite+aiosqlite:///unused.db"))
    yield
    service.configure(settings_for("sqlite+aiosqlite:///unused.db"))
