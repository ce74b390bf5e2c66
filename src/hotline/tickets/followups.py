"""Non-text follow-ups: a photo, voice note or location sent right after a text joins that ticket.

Citizens on WeChat or the app often send the complaint as text, then a photo or their location
as a separate message. Within ten minutes, from the same citizen, such a message is attached to
the ticket the text made (its intake record points at it, an `attachment_added` event, the
ticket's location filled if it had none) instead of opening a ticket of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.schema import IntakeMessage
from hotline.tickets import repository

WINDOW = timedelta(minutes=10)
FOLLOW_UP_KINDS = frozenset({"image", "voice", "video", "location"})
_PLACEHOLDER = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "location": "[位置]"}


@dataclass(frozen=True)
class FollowUp:
    message: IntakeMessage
    target: str  # tracking number of the ticket it joins


def is_follow_up(m: IntakeMessage) -> bool:
    """A message with nothing to read: a voice note with speech-to-text is a message of its own."""
    return m.meta.get("message_kind") in FOLLOW_UP_KINDS and not m.text.strip()


def describe(m: IntakeMessage) -> str:
    """The text of a ticket made from a message with none (a lone photo or location)."""
    label = _PLACEHOLDER.get(str(m.meta.get("message_kind")), "")
    if m.location and (m.location.label or m.location.address):
        label = f"{label} {m.location.label or m.location.address}".strip()
    return label or "[无文字内容]"


def _identity(m: IntakeMessage) -> tuple[str, str]:
    return m.citizen.identity_kind.value, m.citizen.identity


def _within(text_at: datetime, follow_up_at: datetime) -> bool:
    return timedelta(0) <= follow_up_at - text_at <= WINDOW


async def plan(session: AsyncSession, new: Sequence[IntakeMessage]) -> dict[tuple[str, str], FollowUp]:
    """Which of these new messages join an earlier ticket, keyed by (channel, external_id)."""
    candidates = [m for m in new if is_follow_up(m) and m.citizen.identity_kind.value != "anonymous"]
    if not candidates:
        return {}
    out: dict[tuple[str, str], FollowUp] = {}
    candidate_keys = {(m.channel.value, m.external_id) for m in candidates}
    # A text earlier in this very batch: its ticket is made in the same unit of work.
    last_text: dict[tuple[str, str], IntakeMessage] = {}
    for m in new:
        if not is_follow_up(m):
            last_text[_identity(m)] = m
        elif (m.channel.value, m.external_id) in candidate_keys:
            t = last_text.get(_identity(m))
            if t is not None and _within(t.received_at, m.received_at):
                out[(m.channel.value, m.external_id)] = FollowUp(m, t.tracking_number)
    rest = [m for m in candidates if (m.channel.value, m.external_id) not in out]
    if rest:
        since = min(m.received_at for m in rest) - WINDOW
        recent = await repository.recent_tickets_of(session, list({_identity(m) for m in rest}), since)
        for m in rest:
            # The latest ticket of this citizen received in the ten minutes before this message.
            for identity, tracking_number, received_at in recent:
                if identity == _identity(m) and _within(received_at, m.received_at):
                    out[(m.channel.value, m.external_id)] = FollowUp(m, tracking_number)
                    break
    return out


async def attach(session: AsyncSession, follow_ups: dict[tuple[str, str], FollowUp],
                 now: datetime) -> list[tuple[IntakeMessage, str]]:
    """Record each follow-up against its ticket; returns (message, the ticket's tracking number)."""
    if not follow_ups:
        return []
    ids = await repository.ticket_ids(session, {f.target for f in follow_ups.values()})
    await repository.insert_intake(session, [
        {"channel": f.message.channel.value, "external_id": f.message.external_id,
         "ticket_id": ids.get(f.target), "schema_version": f.message.schema_version,
         "payload": f.message.model_dump(mode="json"), "received_at": f.message.received_at,
         "created_at": now}
        for f in follow_ups.values()
    ])
    events = []
    for f in follow_ups.values():
        m, ticket_id = f.message, ids.get(f.target)
        if ticket_id is None:
            continue
        loc = m.location
        if loc and (loc.lat is not None or loc.address):
            await repository.fill_location_if_empty(session, ticket_id, loc.address or loc.label,
                                                    loc.lat, loc.lng, now)
        events.append({
            "ticket_id": ticket_id, "kind": "attachment_added", "from_status": None, "to_status": None,
            "actor": f"channel:{m.channel.value}", "reason": None, "created_at": now,
            "data": {"external_id": m.external_id, "message_kind": m.meta.get("message_kind"),
                     "attachments": [a.model_dump(mode="json", exclude_none=True) for a in m.attachments],
                     "location": loc.model_dump(mode="json", exclude_none=True) if loc else None},
        })
    await repository.insert_events(session, events)
    return [(f.message, f.target) for f in follow_ups.values()]
