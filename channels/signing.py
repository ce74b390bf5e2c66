"""Signature and freshness checks shared by the platform adapters (constant-time compares)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from hotline.kit.errors import Forbidden, NotFound, Unauthorized

# WeChat and Weibo sign a timestamp: older than this, or further ahead than the clock skew we
# tolerate between their servers and ours, and the request is a replay or a forgery.
MAX_AGE_SECONDS = 300
MAX_FUTURE_SKEW_SECONDS = 30


class ChannelNotConfigured(NotFound):
    title = "Channel not configured"


def require_secret(value: str | None, channel: str, *env: str) -> str:
    """A channel whose secret is not set answers 404: it must never take unsigned messages."""
    if not value:
        raise ChannelNotConfigured(f"the {channel} channel is not configured: set {' and '.join(env)}",
                                   channel=channel)
    return value


def sha1_sorted(*parts: str) -> str:
    """WeChat/Weibo signature: sha1 of the parts sorted and concatenated, hex."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def same_signature(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def require_params(query: Mapping[str, str], *names: str) -> list[str]:
    values = [query.get(n) or "" for n in names]
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise Unauthorized(f"the request is not signed: missing query parameter(s) {', '.join(missing)}",
                           missing=missing)
    return values


def check_fresh(timestamp: str, now: float | None = None) -> int:
    """The signed timestamp (epoch seconds; milliseconds tolerated) must be recent."""
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise Forbidden(f"timestamp '{timestamp[:20]}' is not epoch seconds") from exc
    if ts > 10**11:  # milliseconds
        ts //= 1000
    now = time.time() if now is None else now
    if ts < now - MAX_AGE_SECONDS:
        raise Forbidden(f"the request timestamp is stale (older than {MAX_AGE_SECONDS} s): "
                        "a replay is refused", age_seconds=int(now - ts))
    if ts > now + MAX_FUTURE_SKEW_SECONDS:
        raise Forbidden("the request timestamp is in the future: check the sender's clock",
                        ahead_seconds=int(ts - now))
    return ts


def verify_sha1_push(query: Mapping[str, str], secret: str, platform: str, setting: str,
                     signature_of: Callable[..., str] = sha1_sorted) -> tuple[str, str]:
    """The WeChat/Weibo scheme: sha1 of the sorted (secret, timestamp, nonce), fresh timestamp.

    Returns (timestamp, nonce); 403 when the signature does not match.
    """
    signature, timestamp, nonce = require_params(query, "signature", "timestamp", "nonce")
    if not same_signature(signature_of(secret, timestamp, nonce), signature):
        raise Forbidden(f"the {platform} signature does not match: check {setting}")
    check_fresh(timestamp)
    return timestamp, nonce


def url_check_echo(query: Mapping[str, str]) -> str:
    """The URL check (服务器配置) both platforms make with GET: echo `echostr` back."""
    echostr = query.get("echostr")
    if not echostr:
        from hotline.channels.base import BadPayload

        raise BadPayload("the URL check needs an echostr parameter")
    return echostr
