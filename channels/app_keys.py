"""App keys for the mobile app and Open311 clients, checked without a database.

A key is 32 random bytes shown once; the setting `HOTLINE_APP_KEYS` holds only
`name:HMAC-SHA256(secret_key, key)`. A keyed digest costs microseconds per request (a password
hasher would cost ~250 ms of CPU on every call; see the performance notes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hotline.kit.errors import Forbidden, NotFound, Unauthorized
from hotline.kit.settings import Settings

KEY_PREFIX = "hak_"


class AppKeysNotConfigured(NotFound):
    title = "Channel not configured"


def app_key_digest(secret_key: str, key: str) -> str:
    return hmac.new(secret_key.encode(), key.encode(), hashlib.sha256).hexdigest()


def new_app_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_app_keys(value: str) -> dict[str, str]:
    """`name:hexdigest,name:hexdigest` → {name: digest}; a malformed entry is a startup error."""
    out: dict[str, str] = {}
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        name, sep, digest = entry.rpartition(":")
        if not sep or not name or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"HOTLINE_APP_KEYS entry {entry[:40]!r} is not name:<64 hex digits> "
                             "(create one with `hotline app-key create --name NAME`)")
        out[name] = digest
    return out


class AppKeyring:
    """Which app (by name) a presented key belongs to."""

    def __init__(self, settings: Settings) -> None:
        self.secret_key = settings.secret_key
        self.digests = parse_app_keys(settings.app_keys)

    def identify(self, key: str | None, what: str = "X-Hotline-App-Key header") -> str:
        """The app's name; 404 when no keys are configured, 401 when missing, 403 when wrong."""
        if not self.digests:
            raise AppKeysNotConfigured("no app keys are configured: create one with "
                                       "`hotline app-key create --name NAME` and set HOTLINE_APP_KEYS")
        if not key:
            raise Unauthorized(f"send the app key in the {what}")
        given = app_key_digest(self.secret_key, key)
        found = None
        for name, digest in self.digests.items():
            # Compare with every entry, in constant time, so timing tells nothing about the keys.
            if hmac.compare_digest(given, digest):
                found = name
        if found is None:
            raise Forbidden("the app key is not valid: check it, or create a new one with "
                            "`hotline app-key create`")
        return found
