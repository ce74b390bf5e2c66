"""`hotline api --workers N`: each uvicorn worker builds the app from the environment, with the roles
the command passed along."""

from __future__ import annotations

import pytest

from hotline.api.app import ROLES_VAR, app_from_environment


def test_a_worker_builds_the_api_it_was_started_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROLES_VAR, "api")
    paths = set(app_from_environment().openapi()["paths"])
    assert "/api/v1/departments/{code}/tickets" in paths
    assert not any(p.startswith("/channels/") for p in paths)  # not the gateway's webhooks
