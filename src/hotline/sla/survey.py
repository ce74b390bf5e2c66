"""The citizen's answer to the callback survey (回访), read where it arrives: on the intake path.

After a unit's reply the citizen gets "回复 1 满意，2 基本满意，3 不满意" (sla/hooks.py) on the
channel they came in on. Their answer comes back as an ordinary message ("1", "２", "不满意"); it
is recorded on the ticket as the callback (satisfied closes the loop, unsatisfied reopens it 重办
with the same unit) and makes no new ticket.

Which ticket: the citizen's (same channel identity) latest ticket waiting for its callback
(status `replied`) whose reply is at most `SURVEY_WINDOW` old. A "1" that comes after a later
self-served answer asks for a person instead (knowledge/selfservice.py) and is left alone, as is a
bare "1" from a citizen with no ticket waiting. The intake inbox records the message against the
ticket, so a re-sent or redelivered answer is counted once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal, Role
from hotline.intake.schema import IntakeMessage
from hotline.kit.clock import utcnow
from hotline.sla.notifications import notify_citizen
from hotline.tickets import repository as tickets_repo
from hotline.tickets.actions import record_callback
from hotline.tickets.models import Ticket
from hotline.tickets.service import IngestOutcome

log = logging.getLogger(__name__)

SURVEY = Principal(None, "callback-survey", Role.SYSTEM)
SURVEY_WINDOW = timedelta(days=7)
ANSWERS = {
    "1": "satisfied", "１": "satisfied", "满意": "satisfied", "非常满意": "satisfied",
    "2": "basically_satisfied", "２": "basically_satisfied", "基本满意": "basically_satisfied",
    "3": "unsatisfied", "３": "unsatisfied", "不满意": "unsatisfied",
}
THANKS = {
    "satisfied": "感谢您的评价（满意）。工单 {tn} 已办结。",
    "basically_satisfied": "感谢您的评价（基本满意）。工单 {tn} 已办结。",
    "unsatisfied": "收到您的评价（不满意）。工单 {tn} 已退回承办单位重新办理，我们会再与您联系。",
}


async def read_answers(
    session: AsyncSession, messages: Sequence[IntakeMessage]
) -> tuple[list[IntakeMessage], list[IngestOutcome]]:
    """Record survey answers as callbacks; return the other messages and the answers' outcomes."""
    keep: list[IntakeMessage] = []
    done: list[IngestOutcome] = []
    for m in messages:
        satisfaction = ANSWERS.get((m.text or "").strip().rstrip("。.!！"))
        ticket = await _waiting_for_callback(session, m) if satisfaction else None
        if satisfaction is None or ticket is None:
            keep.append(m)
            continue
        key = (m.channel.value, m.external_id)
        if not await tickets_repo.seen_intake(session, [key]):
            await tickets_repo.insert_intake(session, [{
                "channel": m.channel.value, "external_id": m.external_id, "ticket_id": ticket.id,
                "schema_version": m.schema_version, "payload": m.model_dump(mode="json"),
                "received_at": m.received_at, "created_at": utcnow()}])
            await record_callback(session, SURVEY, ticket.tracking_number, satisfaction,
                                  note=f"回访答复（{m.channel.value}）：{(m.text or '').strip()}")
            await notify_citizen(session, ticket, THANKS[satisfaction].format(tn=ticket.tracking_number),
                                 "callback_answer")
            log.info("callback survey answered on %s: %s", ticket.tracking_number, satisfaction)
        done.append(IngestOutcome(m.channel.value, m.external_id, ticket.tracking_number, False))
    return keep, done


async def _waiting_for_callback(session: AsyncSession, m: IntakeMessage) -> Ticket | None:
    kind, identity = m.citizen.identity_kind.value, m.citizen.identity
    ticket = await tickets_repo.latest_awaiting_callback(session, kind, identity, utcnow() - SURVEY_WINDOW)
    if ticket is None or ticket.replied_at is None:
        return None
    # A self-served answer after the reply ends with "回复 1 转人工": that "1" is for a person.
    if await tickets_repo.latest_self_served(session, kind, identity, ticket.replied_at) is not None:
        return None
    return ticket
