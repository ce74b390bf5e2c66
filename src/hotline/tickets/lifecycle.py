"""The ticket state machine, as data: which action moves a ticket from which state to which, and who may.

`actions.py` (the service) asks `check()` before every change; the tests walk the whole table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hotline.auth.principal import Role
from hotline.kit.errors import Conflict, Forbidden
from hotline.tickets.models import TicketStatus as S

# -- event kinds (ticket_events.kind). Other domains read these: routing's training export reads
# REDISPATCHED and RECLASSIFIED as corrections of the router's choices.
RECEIVED = "received"  # written by the router
QUEUED_FOR_MANUAL_DISPATCH = "queued_for_manual_dispatch"  # written by the router
DISPATCHED = "dispatched"
REDISPATCHED = "redispatched"  # 改派
ACCEPTED = "accepted"  # 签收
CO_ACCEPTED = "co_accepted"
PROGRESS_ADDED = "progress_added"
REPLIED = "replied"  # 办结回复
CO_REPLIED = "co_replied"
RETURNED = "returned"  # 退单
RETURN_DISPUTED = "return_disputed"
EXTENSION_REQUESTED = "extension_requested"  # 延期
EXTENSION_APPROVED = "extension_approved"
EXTENSION_REFUSED = "extension_refused"
CALLED_BACK = "called_back"  # 回访 satisfied / basically satisfied
REOPENED = "reopened"  # 重办 after an unsatisfied callback
CLOSED = "closed"
MERGED = "merged"  # 并单: this ticket went into another
MERGED_IN = "merged_in"  # another ticket went into this one
HANDED_OFF = "handed_off"
REFUSED = "refused"  # 不予受理
ANSWERED_DIRECTLY = "answered_directly"  # 直接办结
RECLASSIFIED = "reclassified"
NOTE_ADDED = "note_added"

# -- fixed code lists
RETURN_REASONS: Mapping[str, str] = {  # 退单理由
    "not_our_remit": "不属于本单位职责",
    "outside_jurisdiction": "不在本单位辖区",
    "insufficient_information": "诉求信息不全，无法办理",
    "duplicate": "重复工单",
    "legal_proceedings": "已进入诉讼、仲裁或行政复议程序",
    "other": "其他（须说明）",
}
REFUSAL_REASONS: Mapping[str, str] = {  # 不予受理理由
    "outside_government_services": "不属于政务服务范围",
    "legal_proceedings": "已进入诉讼、仲裁或行政复议程序",
    "repeated_without_new_facts": "重复诉求且无新情况",
    "abusive": "恶意骚扰、辱骂或无实质诉求",
    "state_secret": "涉及国家秘密",
    "other": "其他（须说明）",
}
HAND_OFF_LINES: Mapping[str, str] = {  # emergency lines (转警)
    "110": "公安报警", "119": "消防", "120": "急救", "122": "交通事故",
}
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意 / 基本满意 / 不满意
# Types an agent may close at once (直接办结): what the centre's own knowledge answers.
DIRECT_ANSWER_TYPES = frozenset({"consultation", "praise", "other"})

# -- roles
CENTRE = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.SYSTEM})
AGENTS = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
UNITS = frozenset({Role.DEPARTMENT, Role.ADMIN})

# -- groups of states
TERMINAL = frozenset({S.CLOSED, S.MERGED, S.HANDED_OFF, S.REFUSED, S.ANSWERED_DIRECTLY})
ALL_STATES = tuple(S)
OPEN = tuple(s for s in ALL_STATES if s not in TERMINAL)
AT_UNIT = (S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.EXTENSION_REQUESTED, S.REOPENED)
WORKING = (S.ACCEPTED, S.IN_PROGRESS, S.EXTENSION_REQUESTED)
NOT_YET_DISPATCHED = (S.RECEIVED, S.PENDING_DISPATCH)


@dataclass(frozen=True)
class Action:
    """One thing a principal can do to a ticket.

    `moves` maps each state the action is legal from to the states it may lead to; the first
    is the usual one, others depend on the input (a callback's outcome, a return's decision).
    A move to the same state records an event without changing the status.
    """

    name: str
    roles: frozenset[Role]
    moves: Mapping[S, tuple[S, ...]]
    help: str

    def targets(self, state: str) -> tuple[S, ...]:
        return self.moves.get(S(state), ()) if state in S._value2member_map_ else ()


def _to(target: S, *sources: S) -> dict[S, tuple[S, ...]]:
    return {s: (target,) for s in sources}


def _stay(*sources: S) -> dict[S, tuple[S, ...]]:
    return {s: (s,) for s in sources}


ACTIONS: dict[str, Action] = {a.name: a for a in [
    Action("dispatch", CENTRE, _to(S.DISPATCHED, *NOT_YET_DISPATCHED),
           "send to a lead unit (and co-handling units) 派单"),
    Action("redispatch", CENTRE,
           _to(S.DISPATCHED, *AT_UNIT, S.RETURNED, S.DISPUTE_REVIEW),
           "send to another unit 改派"),
    Action("accept", UNITS, _to(S.ACCEPTED, S.DISPATCHED, S.REOPENED), "the lead unit signs for it 签收"),
    Action("co_accept", UNITS, _stay(*AT_UNIT), "a co-handling unit signs for its part"),
    Action("add_progress", UNITS,
           {S.ACCEPTED: (S.IN_PROGRESS,), S.IN_PROGRESS: (S.IN_PROGRESS,),
            S.EXTENSION_REQUESTED: (S.EXTENSION_REQUESTED,)},
           "record progress (and first contact with the citizen)"),
    Action("reply", UNITS | SUPERVISORS, _to(S.REPLIED, *WORKING), "the lead unit's final reply 办结回复"),
    Action("co_reply", UNITS, _stay(*AT_UNIT), "a co-handling unit's reply on its part"),
    Action("return_ticket", UNITS, _to(S.RETURNED, S.DISPATCHED, S.ACCEPTED),
           "send it back to the centre, with a reason 退单"),
    Action("resolve_return", AGENTS, {S.RETURNED: (S.DISPATCHED, S.DISPUTE_REVIEW)},
           "re-dispatch a returned ticket, or dispute the return"),
    Action("request_extension", UNITS, _to(S.EXTENSION_REQUESTED, S.ACCEPTED, S.IN_PROGRESS),
           "ask for more working days 延期申请"),
    Action("decide_extension", SUPERVISORS, _to(S.IN_PROGRESS, S.EXTENSION_REQUESTED),
           "the centre approves or refuses an extension"),
    Action("record_callback", CENTRE, {S.REPLIED: (S.CALLED_BACK, S.REOPENED)},
           "the citizen's satisfaction 回访; unsatisfied reopens with the same unit 重办"),
    Action("close", CENTRE, _to(S.CLOSED, S.REPLIED, S.CALLED_BACK), "close the ticket 结案"),
    Action("merge", AGENTS, _to(S.MERGED, *(s for s in OPEN if s not in (S.REPLIED, S.CALLED_BACK))),
           "merge into another ticket about the same matter 并单"),
    Action("hand_off", AGENTS, _to(S.HANDED_OFF, S.RECEIVED, S.PENDING_DISPATCH, S.DISPATCHED),
           "hand an emergency to 110/119/120/122"),
    Action("refuse", AGENTS, _to(S.REFUSED, *NOT_YET_DISPATCHED, S.RETURNED, S.DISPUTE_REVIEW),
           "refuse to accept it, with a reason 不予受理"),
    Action("answer_directly", CENTRE, _to(S.ANSWERED_DIRECTLY, *NOT_YET_DISPATCHED),
           "the agent answers a consultation at once 直接办结"),
    Action("reclassify", AGENTS, _stay(*OPEN), "correct the type, topic or urgency"),
    Action("add_note", CENTRE | {Role.DEPARTMENT}, _stay(*ALL_STATES), "an internal note"),
]}


def allowed_actions(state: str) -> list[str]:
    """The actions legal from `state`, whoever asks (what a 409 lists)."""
    return [a.name for a in ACTIONS.values() if a.targets(state)]


def allowed_actions_for(state: str, role: Role) -> list[str]:
    return [a.name for a in ACTIONS.values() if a.targets(state) and role in a.roles]


class IllegalTransition(Conflict):
    title = "Illegal transition"


def check(action: str, state: str, role: Role, target: S | None = None) -> S:
    """The state `action` leads to from `state`; 403 for a role that may not, 409 when illegal."""
    a = ACTIONS[action]
    if role not in a.roles:
        names = ", ".join(sorted(r.value for r in a.roles))
        raise Forbidden(f"the {role.value} role may not {action.replace('_', ' ')} (allowed: {names})")
    targets = a.targets(state)
    if not targets:
        allowed = allowed_actions(state)
        raise IllegalTransition(
            f"cannot {action.replace('_', ' ')} a ticket that is {state}; allowed: "
            f"{', '.join(allowed) or 'nothing'}",
            state=state, action=action, allowed_actions=allowed,
        )
    if target is None:
        return targets[0]
    if target not in targets:  # pragma: no cover - the service only asks for listed targets
        raise IllegalTransition(f"{action} cannot lead from {state} to {target}", state=state,
                                action=action, allowed_actions=allowed_actions(state))
    return target
