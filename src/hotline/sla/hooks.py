"""The SLA side of every lifecycle event: registered in `tickets.actions.AFTER_EVENT` on import.

Runs inside the action's unit of work, so a deadline that cannot be set (an extension over
the cap) rolls the action back.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.sla import notifications, service
from hotline.sla.service import Moment
from hotline.tickets import actions
from hotline.tickets import lifecycle as lc
from hotline.tickets.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

_MOMENTS = {
    lc.DISPATCHED: Moment.DISPATCHED,
    lc.REDISPATCHED: Moment.DISPATCHED,
    lc.ACCEPTED: Moment.ACCEPTED,
    lc.REPLIED: Moment.REPLIED,
    lc.RETURNED: Moment.RETURNED,
    lc.CALLED_BACK: Moment.CALLBACK_DONE,
    lc.CLOSED: Moment.CLOSED,
    lc.MERGED: Moment.CLOSED,
    lc.HANDED_OFF: Moment.CLOSED,
    lc.REFUSED: Moment.CLOSED,
    lc.ANSWERED_DIRECTLY: Moment.CLOSED,
}

SURVEY_TEXT = ("您好，您的12345工单 {tn} 已办结。请对办理结果评价：回复 1 满意，2 基本满意，3 不满意。"
               "感谢您的支持！")


async def on_ticket_event(session: AsyncSession, ticket: Ticket, event: TicketEvent) -> None:
    kind, data = event.kind, event.data or {}
    now = event.created_at
    if kind == lc.PROGRESS_ADDED:
        if data.get("contacted_citizen"):
            await service.apply_deadlines(session, ticket, Moment.CONTACTED, now)
        return
    if kind == lc.EXTENSION_APPROVED:
        if data.get("days") and await service.has_open_clock(session, ticket, "reply"):
            await service.extend_reply_deadline(session, ticket, int(data["days"]), now)
        elif data.get("days"):
            log.warning("ticket %s: extension approved but no reply deadline runs (made before SLA clocks?)",
                        ticket.tracking_number)
        return
    if kind == lc.REOPENED:
        await service.apply_deadlines(session, ticket, Moment.CALLBACK_DONE, now, satisfaction="unsatisfied")
        await service.apply_deadlines(session, ticket, Moment.REOPENED, now)
        return
    if kind == lc.RECLASSIFIED:
        changed = (data.get("to") or {}).keys() & {"type", "urgency"}
        if changed:
            await service.recompute_open(session, ticket, now)
        return
    moment = _MOMENTS.get(kind)
    if moment is None:
        return
    await service.apply_deadlines(session, ticket, moment, now,
                                  satisfaction=data.get("satisfaction") if moment is Moment.CALLBACK_DONE else None)
    if moment is Moment.DISPATCHED:
        ticket.return_due_at = await service.return_deadline(session, ticket)
    # The citizen hears the answer on their own channel, and the survey the next working morning.
    if kind in (lc.REPLIED, lc.ANSWERED_DIRECTLY) and ticket.reply_text:
        await notifications.notify_citizen(session, ticket, f"【12345】工单 {ticket.tracking_number} 答复：{ticket.reply_text}",
                                           "reply")
    if kind == lc.REPLIED:
        await notifications.notify_citizen(session, ticket, SURVEY_TEXT.format(tn=ticket.tracking_number),
                                           "callback_survey", not_before=service.survey_time(now))


if on_ticket_event not in actions.AFTER_EVENT:
    actions.AFTER_EVENT.append(on_ticket_event)
