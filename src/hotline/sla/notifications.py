"""What the SLA side tells people, written to the outbox in the caller's unit of work.

Units hear about reminders by email, SMS and their webhook (`unit_contacts`); citizens get the
reply and the callback survey (回访) on the channel they came in on (WeChat, Weibo, else SMS).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.notify.outbox import enqueue
from hotline.sla import repository
from hotline.tickets.models import CitizenContact, Ticket

log = logging.getLogger(__name__)

EMAIL, SMS, WEBHOOK, WECHAT, WEIBO = "email", "sms", "webhook", "wechat_message", "weibo_reply"

STEP_TITLES = {
    "warning": "时限预警",
    "breach": "已超时",
    "reminder": "催办",
    "reminder_notice": "催办通知书",
    "reprimand": "通报",
    "supervision": "督办",
}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def notify_unit(session: AsyncSession, department_code: str | None, ticket: Ticket, step: str,
                      text: str, data: dict[str, Any]) -> list[str]:
    """Queue the unit's reminder on every route it has configured; returns the kinds queued."""
    if not department_code:
        return []
    contact = await repository.unit_contact(session, department_code)
    if contact is None:
        log.warning("unit %s has no email, SMS or webhook configured: %s for %s is only on the timeline",
                    department_code, step, ticket.tracking_number)
        return []
    title = STEP_TITLES.get(step, step)
    subject = f"【12345 {title}】工单 {ticket.tracking_number}"
    key = f"ticket:{ticket.tracking_number}"
    kinds = []
    if contact.email:
        enqueue(session, EMAIL, {"to": [contact.email], "subject": subject, "body": text}, key=key,
                destination=contact.email)
        kinds.append(EMAIL)
    if contact.sms_phone:
        enqueue(session, SMS, {"to": contact.sms_phone, "text": f"{subject} {text}"}, key=key,
                destination=contact.sms_phone)
        kinds.append(SMS)
    if contact.webhook_url:
        body = {"event": f"sla.{step}", "tracking_number": ticket.tracking_number, "unit": department_code,
                "title": title, "text": text, **data}
        raw = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        payload: dict[str, Any] = {"body": raw}
        if contact.webhook_secret:
            payload["signature"] = sign(contact.webhook_secret, raw.encode())
        enqueue(session, WEBHOOK, payload, key=key, destination=contact.webhook_url)
        kinds.append(WEBHOOK)
    return kinds


async def notify_citizen(session: AsyncSession, ticket: Ticket, text: str, purpose: str,
                         not_before: datetime | None = None) -> str | None:
    """Queue a message to the ticket's citizen on their channel; None if they cannot be reached.

    `purpose` is "reply" or "callback_survey"; `not_before` delays it (a survey is not sent at night).
    """
    if ticket.citizen_id is None:
        return None
    citizen = await session.get(CitizenContact, ticket.citizen_id)
    if citizen is None:
        return None
    payload: dict[str, Any] = {"tracking_number": ticket.tracking_number, "purpose": purpose, "text": text}
    kind: str | None = None
    if ticket.channel == "wechat" and citizen.identity_kind == "wechat_openid":
        kind, to = WECHAT, citizen.identity
    elif ticket.channel == "weibo" and citizen.identity_kind == "weibo_uid":
        kind, to = WEIBO, citizen.identity
    elif citizen.phone:
        kind, to = SMS, citizen.phone
    if kind is None:
        log.info("ticket %s: the citizen left no way to reach them; %s not sent", ticket.tracking_number, purpose)
        return None
    payload["to"] = to
    row = enqueue(session, kind, payload, key=f"citizen:{citizen.id}", destination=to)
    if not_before is not None:
        row.next_attempt_at = not_before
    return kind
