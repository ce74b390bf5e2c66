"""Domain errors carry their HTTP status; one handler renders them as problem details."""

from __future__ import annotations

from typing import Any


class HotlineError(Exception):
    status_code = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        return {"type": self.type, "title": self.title, "status": self.status_code,
                "detail": self.detail, **self.extra}


class NotFound(HotlineError):
    status_code = 404
    title = "Not found"


class Conflict(HotlineError):
    status_code = 409
    title = "Conflict"


class Unauthorized(HotlineError):
    status_code = 401
    title = "Unauthorized"


class Forbidden(HotlineError):
    status_code = 403
    title = "Forbidden"


class Unavailable(HotlineError):
    status_code = 503
    title = "Service unavailable"


class PayloadTooLarge(HotlineError):
    status_code = 413
    title = "Payload too large"


class TooManyRequests(HotlineError):
    status_code = 429
    title = "Too many requests"
