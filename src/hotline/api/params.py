"""Checks on request parameters that every endpoint can share."""

from __future__ import annotations

from hotline.kit.errors import HotlineError


class InvalidParameter(HotlineError):
    status_code = 422
    title = "Invalid parameter"


def refuse_nul(**params: str | None) -> None:
    """PostgreSQL text cannot hold NUL: say so (422), rather than fail inside the database (500)."""
    for name, value in params.items():
        if value is not None and "\x00" in value:
            raise InvalidParameter(f"{name} must not contain a NUL character")
