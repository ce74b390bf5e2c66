"""How a ticket's state reads to its citizen: one vocabulary for every public surface.

SMS/WeChat status look-ups (knowledge/selfservice.py), the public status page
(`/api/v1/public/tickets/{tn}`) and Open311 `status_notes` all say the same words for the
same state. No notes, no units' internal steps (a return or a dispute reads as re-dispatch),
no identities.
"""

from __future__ import annotations

from hotline.tickets.models import TicketStatus as S

PUBLIC_STATUS: dict[str, str] = {
    S.RECEIVED: "已受理", S.PENDING_DISPATCH: "已受理，正在分派", S.DISPATCHED: "已派至承办单位",
    S.ACCEPTED: "承办单位已签收", S.IN_PROGRESS: "正在办理", S.EXTENSION_REQUESTED: "正在办理",
    S.RETURNED: "正在重新分派", S.DISPUTE_REVIEW: "正在重新分派", S.REOPENED: "重新办理中",
    S.REPLIED: "已办结，待回访", S.CALLED_BACK: "已回访", S.CLOSED: "已办结",
    S.ANSWERED_DIRECTLY: "已答复", S.MERGED: "已与同类诉求合并办理", S.HANDED_OFF: "已转紧急热线处理",
    S.REFUSED: "不予受理",
}
UNKNOWN_STATUS = "办理中"

# Done from the citizen's point of view: answered (办结), closed, merged into another ticket,
# handed to 110/119/120/122, refused (不予受理) or answered by the agent directly.
CLOSED_TO_PUBLIC = frozenset({S.REPLIED, S.CALLED_BACK, S.CLOSED, S.MERGED, S.HANDED_OFF, S.REFUSED,
                              S.ANSWERED_DIRECTLY})


def public_status(status: str) -> str:
    return PUBLIC_STATUS.get(status, UNKNOWN_STATUS)
