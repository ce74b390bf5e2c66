"""`Idempotency-Key` for every write: a retried request gets the first response, not a second write.

Use it in any write endpoint:

    async def accept(..., idem: Idempotency) -> JSONResponse:
        if (replay := await idem.replay()) is not None:
            return replay
        ... do the write ...
        return await idem.respond(200, result)   # a Pydantic model, dict or None

The key is claimed by inserting a row in the request's own unit of work, so a concurrent duplicate
waits on the unique index until the first commits, then replays it; if the first request fails,
its transaction rolls back and the key is free again. The same key with a different request → 422.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from hotline.api.deps import SessionDep
from hotline.auth import repository
from hotline.auth.deps import CurrentPrincipal
from hotline.auth.principal import Principal
from hotline.kit.clock import utcnow
from hotline.kit.errors import Conflict, HotlineError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 200


class IdempotencyKeyReused(HotlineError):
    status_code = 422
    title = "Idempotency key reused"


class InvalidIdempotencyKey(HotlineError):
    title = "Invalid Idempotency-Key"


class IdempotentWrite:
    """One write request's idempotency state; `key` is None when the client sent none."""

    def __init__(self, session: Any, principal: Principal, key: str | None, request_hash: str,
                 method: str, path: str) -> None:
        self.session = session
        self.principal = principal
        self.key = key
        self.request_hash = request_hash
        self.method = method
        self.path = path
        self._claimed = False

    async def replay(self) -> Response | None:
        """The stored response if this key was used before; None (and the key claimed) otherwise."""
        if self.key is None or self.principal.id is None:
            return None
        claimed = await repository.claim_idempotency_key(self.session, {
            "principal_id": self.principal.id, "key": self.key, "request_hash": self.request_hash,
            "method": self.method, "path": self.path, "status_code": None, "response": None,
            "created_at": utcnow(),
        })
        if claimed:
            self._claimed = True
            return None
        rec = await repository.get_idempotency_record(self.session, self.principal.id, self.key)
        if rec is None:  # pragma: no cover - the row was there a moment ago
            raise Conflict("the Idempotency-Key is being used by another request; retry")
        if rec.request_hash != self.request_hash:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {self.key!r} was used for a different request ({rec.method} {rec.path}); "
                "use a new key for a new request")
        if rec.status_code is None:
            raise Conflict("a request with this Idempotency-Key is still being processed; retry")
        headers = {REPLAYED: "true"}
        if rec.status_code == 204 or rec.response is None:
            return Response(status_code=rec.status_code, headers=headers)
        return JSONResponse(rec.response, status_code=rec.status_code, headers=headers)

    async def respond(self, status_code: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
        """The response to send, stored first when the client sent a key."""
        payload = None if body is None else jsonable_encoder(body)
        if self._claimed and self.key is not None and self.principal.id is not None:
            await repository.store_idempotent_response(self.session, self.principal.id, self.key, status_code,
                                                       payload)
        if status_code == 204 or payload is None:
            return Response(status_code=status_code, headers=headers)
        return JSONResponse(payload, status_code=status_code, headers=headers)


async def idempotent_write(request: Request, session: SessionDep, principal: CurrentPrincipal) -> IdempotentWrite:
    key = request.headers.get(HEADER)
    if key is not None:
        key = key.strip()
        if not key or len(key) > MAX_KEY:
            raise InvalidIdempotencyKey(f"{HEADER} must be 1 to {MAX_KEY} characters")
    body = await request.body()
    h = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return IdempotentWrite(session, principal, key, h.hexdigest(), request.method, request.url.path)


Idempotency = Annotated[IdempotentWrite, Depends(idempotent_write)]
