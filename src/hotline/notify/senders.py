"""Outbox senders for people: email (SMTP), SMS (provider HTTP API), unit webhooks, WeChat, Weibo.

Each raises on failure so the outbox retries with backoff; each is registered in
`SENDER_FACTORIES` on import (the relay imports this module).
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import time
from email.message import EmailMessage
from typing import Any

import httpx

from hotline.kit.settings import Settings
from hotline.notify.outbox import SENDER_FACTORIES, OutboxItem, Sender


class DeliveryError(RuntimeError):
    """The provider answered, and the answer was no."""


class SmtpSender:
    """Plain SMTP with the stdlib (optional STARTTLS and login), in a thread: no event-loop stall."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _send(self, item: OutboxItem) -> None:
        s = self.settings
        if not s.smtp_host:
            raise DeliveryError("HOTLINE_SMTP_HOST is not set; the email waits in the outbox")
        p = item.payload
        msg = EmailMessage()
        msg["From"] = s.smtp_sender
        msg["To"] = ", ".join(p["to"])
        msg["Subject"] = p["subject"]
        msg["Message-ID"] = f"<outbox-{item.id}@hotline>"  # the same id on a retry: dedupable
        msg.set_content(p["body"])
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.notify_timeout_seconds) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(msg)

    async def __call__(self, item: OutboxItem) -> None:
        await asyncio.to_thread(self._send, item)


class _Http:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.settings.notify_timeout_seconds)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _ok(r: httpx.Response, what: str) -> Any:
    if r.status_code >= 300:
        raise DeliveryError(f"{what} answered HTTP {r.status_code}: {r.text[:200]}")
    try:
        return r.json()
    except ValueError:
        return None


class SmsSender(_Http):
    """POST {"to", "text", "id"} to HOTLINE_SMS_API_URL (bearer HOTLINE_SMS_API_TOKEN)."""

    async def __call__(self, item: OutboxItem) -> None:
        url = self.settings.sms_api_url
        if not url:
            raise DeliveryError("HOTLINE_SMS_API_URL is not set; the SMS waits in the outbox")
        headers = {"Idempotency-Key": f"hotline-outbox-{item.id}"}
        if self.settings.sms_api_token:
            headers["Authorization"] = f"Bearer {self.settings.sms_api_token}"
        r = await self.client.post(url, json={"to": item.payload["to"], "text": item.payload["text"],
                                              "id": str(item.id)}, headers=headers)
        _ok(r, "the SMS provider")


class WebhookSender(_Http):
    """POST the unit's event to its own system, signed (X-Hotline-Signature: sha256=HMAC)."""

    async def __call__(self, item: OutboxItem) -> None:
        if not item.destination:
            raise DeliveryError("webhook without a URL")
        headers = {"content-type": "application/json", "X-Hotline-Delivery": str(item.id)}
        if "signature" in item.payload:
            headers["X-Hotline-Signature"] = item.payload["signature"]
        r = await self.client.post(item.destination, content=item.payload["body"].encode(), headers=headers)
        _ok(r, f"webhook {item.destination}")


class WeChatSender(_Http):
    """Customer-service message (客服消息) to the citizen's openid."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._token: tuple[str, float] | None = None

    async def _access_token(self) -> str:
        s = self.settings
        if s.wechat_access_token:
            return s.wechat_access_token
        if self._token and self._token[1] > time.monotonic():
            return self._token[0]
        if not (s.wechat_app_id and s.wechat_app_secret):
            raise DeliveryError("WeChat needs HOTLINE_WECHAT_ACCESS_TOKEN or app id and secret")
        r = await self.client.get(f"{s.wechat_api_base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": s.wechat_app_id, "secret": s.wechat_app_secret})
        data = _ok(r, "WeChat token") or {}
        if "access_token" not in data:
            raise DeliveryError(f"WeChat token refused: {data}")
        self._token = (data["access_token"], time.monotonic() + int(data.get("expires_in", 7200)) - 300)
        return str(data["access_token"])

    async def __call__(self, item: OutboxItem) -> None:
        token = await self._access_token()
        body = {"touser": item.payload["to"], "msgtype": "text", "text": {"content": item.payload["text"]}}
        r = await self.client.post(f"{self.settings.wechat_api_base}/cgi-bin/message/custom/send",
                                   params={"access_token": token},
                                   content=json.dumps(body, ensure_ascii=False).encode(),
                                   headers={"content-type": "application/json"})
        data = _ok(r, "WeChat") or {}
        if data.get("errcode", 0) != 0:
            if data.get("errcode") in (40001, 42001):  # token expired: fetch a new one next time
                self._token = None
            raise DeliveryError(f"WeChat refused the message: {data}")


class WeiboSender(_Http):
    """A private-message reply from the centre's Weibo account (粉丝服务 messages/reply)."""

    async def __call__(self, item: OutboxItem) -> None:
        token = self.settings.weibo_access_token
        if not token:
            raise DeliveryError("HOTLINE_WEIBO_ACCESS_TOKEN is not set; the reply waits in the outbox")
        r = await self.client.post(f"{self.settings.weibo_api_base}/2/messages/reply.json", data={
            "access_token": token, "type": "text", "receiver_id": item.payload["to"],
            "data": json.dumps({"text": item.payload["text"]}, ensure_ascii=False)})
        data = _ok(r, "Weibo") or {}
        if "error_code" in data:
            raise DeliveryError(f"Weibo refused the reply: {data}")


def _factory(cls: type) -> Any:
    def make(settings: Settings) -> Sender:
        return cls(settings)  # type: ignore[no-any-return]

    return make


SENDER_FACTORIES.update({
    "email": _factory(SmtpSender),
    "sms": _factory(SmsSender),
    "webhook": _factory(WebhookSender),
    "wechat_message": _factory(WeChatSender),
    "weibo_reply": _factory(WeiboSender),
})
