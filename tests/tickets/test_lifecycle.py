"""The state machine, exhaustively: every (state, action) pair, legal ones move and write their event,
illegal ones are refused with 409 and the list of what is allowed, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.kit.db import Database
from hotline.kit.errors import Conflict
from hotline.tickets import actions
from hotline.tickets import lifecycle as lc
from tests.tickets.factories import (
    AGENT,
    CO,
    CO_UNIT,
    LEAD_UNIT,
    OTHER,
    SUPERVISOR,
    events,
    make_ticket,
    outbox,
    ticket,
)

# The lifecycle as the 12345 centre runs it, written out independently of lifecycle.py:
# state -> {action: status after it}. Every pair not listed must be refused.
AT_UNIT = {"redispatch": "dispatched", "co_accept": None, "co_reply": None, "merge": "merged",
           "reclassify": None, "add_note": None}
EXPECTED: dict[str, dict[str, str | None]] = {  # None = stays in the same state
    "received": {"dispatch": "dispatched", "merge": "merged", "hand_off": "handed_off", "refuse": "refused",
                 "answer_directly": "answered_directly", "reclassify": None, "add_note": None},
    "pending_dispatch": {"dispatch": "dispatched", "merge": "merged", "hand_off": "handed_off",
                         "refuse": "refused", "answer_directly": "answered_directly", "reclassify": None,
                         "add_note": None},
    "dispatched": {**AT_UNIT, "accept": "accepted", "return_ticket": "returned", "hand_off": "handed_off"},
    "accepted": {**AT_UNIT, "add_progress": "in_progress", "reply": "replied", "return_ticket": "returned",
                 "request_extension": "extension_requested"},
    "in_progress": {**AT_UNIT, "add_progress": "in_progress", "reply": "replied",
                    "request_extension": "extension_requested"},
    "extension_requested": {**AT_UNIT, "add_progress": None, "reply": "replied",
                            "decide_extension": "in_progress"},
    "reopened": {**AT_UNIT, "accept": "accepted"},
    "returned": {"redispatch": "dispatched", "resolve_return": "dispatched", "merge": "merged",
                 "refuse": "refused", "reclassify": None, "add_note": None},
    "dispute_review": {"redispatch": "dispatched", "merge": "merged", "refuse": "refused",
                       "reclassify": None, "add_note": None},
    "replied": {"record_callback": "called_back", "close": "closed", "reclassify": None, "add_note": None},
    "called_back": {"close": "closed", "reclassify": None, "add_note": None},
    "closed": {"add_note": None},
    "merged": {"add_note": None},
    "handed_off": {"add_note": None},
    "refused": {"add_note": None},
    "answered_directly": {"add_note": None},
}
EVENT_KIND = {
    "dispatch": "dispatched", "redispatch": "redispatched", "accept": "accepted", "co_accept": "co_accepted",
    "add_progress": "progress_added", "reply": "replied", "co_reply": "co_replied", "return_ticket": "returned",
    "resolve_return": "redispatched", "request_extension": "extension_requested",
    "decide_extension": "extension_approved", "record_callback": "called_back", "close": "closed",
    "merge": "merged", "hand_off": "handed_off", "refuse": "refused", "answer_directly": "answered_directly",
    "reclassify": "reclassified", "add_note": "note_added",
}
ACTION_NAMES = sorted(EVENT_KIND)
STATES = sorted(EXPECTED)

Call = Callable[[AsyncSession, str, str], Awaitable[Any]]


def _merge(s: AsyncSession, tn: str, other: str) -> Awaitable[Any]:
    return actions.merge(s, AGENT, tn, into=other)


# One valid call per action, by a principal allowed to make it; `other` is an open ticket.
CALLS: dict[str, Call] = {
    "dispatch": lambda s, tn, o: actions.dispatch(s, AGENT, tn, OTHER),
    "redispatch": lambda s, tn, o: actions.redispatch(s, AGENT, tn, OTHER, reason="属人社局职责"),
    "accept": lambda s, tn, o: actions.accept(s, LEAD_UNIT, tn),
    "co_accept": lambda s, tn, o: actions.accept(s, CO_UNIT, tn),
    "add_progress": lambda s, tn, o: actions.add_progress(s, LEAD_UNIT, tn, "已联系施工方"),
    "reply": lambda s, tn, o: actions.reply(s, LEAD_UNIT, tn, "已责令停止夜间施工"),
    "co_reply": lambda s, tn, o: actions.reply(s, CO_UNIT, tn, "镇执法队已到场"),
    "return_ticket": lambda s, tn, o: actions.return_ticket(s, LEAD_UNIT, tn, "not_our_remit"),
    "resolve_return": lambda s, tn, o: actions.resolve_return(s, AGENT, tn, "redispatch", OTHER),
    "request_extension": lambda s, tn, o: actions.request_extension(s, LEAD_UNIT, tn, 5, "需现场检测"),
    "decide_extension": lambda s, tn, o: actions.decide_extension(s, SUPERVISOR, tn, True),
    "record_callback": lambda s, tn, o: actions.record_callback(s, AGENT, tn, "satisfied"),
    "close": lambda s, tn, o: actions.close(s, AGENT, tn),
    "merge": _merge,
    "hand_off": lambda s, tn, o: actions.hand_off(s, AGENT, tn, "110"),
    "refuse": lambda s, tn, o: actions.refuse(s, AGENT, tn, "outside_government_services"),
    "answer_directly": lambda s, tn, o: actions.answer_directly(s, AGENT, tn, "社保转移请到人社窗口办理"),
    "reclassify": lambda s, tn, o: actions.reclassify(s, AGENT, tn, type="complaint"),
    "add_note": lambda s, tn, o: actions.add_note(s, AGENT, tn, "市民来电补充情况"),
}


@pytest.fixture(scope="module")
async def machine_db(pg_url: str) -> AsyncIterator[Database]:
    """One database for the whole table: each case makes its own tickets (cheaper than emptying
    the tables 300 times)."""
    database = Database(pg_url)
    yield database
    await database.dispose()


@pytest.fixture(autouse=True)
def machine_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tickets here are built straight into a state, with no SLA clocks behind them: the SLA hooks
    (tested with their domain, and end to end in test_scenarios) are left out of the table."""
    monkeypatch.setattr(actions, "AFTER_EVENT", [])


def test_the_table_covers_every_state_and_action() -> None:
    assert set(STATES) == {s.value for s in lc.ALL_STATES}
    assert set(ACTION_NAMES) == set(lc.ACTIONS)


async def _setup(db: Database, state: str, action: str) -> tuple[str, str]:
    extra: dict[str, Any] = {}
    if state == "extension_requested":
        extra = {"extension_state": "requested", "extension_requested_days": 5}
    if state == "returned":
        extra = {"return_reason": "not_our_remit"}
    # The co-handling unit exists only where it is the one acting: elsewhere it would (rightly)
    # hold the lead's reply back.
    tn = await make_ticket(db, state, co=CO if action in ("co_accept", "co_reply") else None, **extra)
    other = await make_ticket(db, "dispatched")
    return tn, other


@pytest.mark.parametrize("action", ACTION_NAMES)
@pytest.mark.parametrize("state", STATES)
async def test_every_state_and_action(machine_db: Database, state: str, action: str) -> None:
    db = machine_db
    tn, other = await _setup(db, state, action)
    legal = action in EXPECTED[state]
    before = [e.id for e in await events(db, tn)]
    if not legal:
        with pytest.raises(Conflict) as refused:
            async with db.unit_of_work() as s:
                await CALLS[action](s, tn, other)
        problem = refused.value.problem()
        assert problem["status"] == 409
        assert sorted(problem["allowed_actions"]) == sorted(EXPECTED[state])
        assert state in problem["detail"]
        assert (await ticket(db, tn)).status == state
        assert [e.id for e in await events(db, tn)] == before
        assert [m for m in await outbox(db) if m.key in (tn, other)] == []
        return

    async with db.unit_of_work() as s:
        await CALLS[action](s, tn, other)
    after = (await ticket(db, tn)).status
    assert after == (EXPECTED[state][action] or state)
    new = (await events(db, tn))[len(before):]
    assert [e.kind for e in new] == [EVENT_KIND[action]]
    assert (new[0].from_status, new[0].to_status) == (state, after)
    assert new[0].actor.split(":")[0] in ("agent", "supervisor", "department")
    # Every event is queued for hotline.ticket-events with its id, keyed by tracking number.
    queued = [m for m in await outbox(db) if m.key == tn]
    assert [m.payload["event_id"] for m in queued] == [new[0].id]
    assert queued[0].payload["kind"] == EVENT_KIND[action]
