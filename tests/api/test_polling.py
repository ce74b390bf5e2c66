"""Departments poll their queue: cheap 304s while nothing changes, and pages that never skip or repeat."""

from __future__ import annotations

import json
from datetime import timedelta

import orjson

from tests.api.conftest import LEAD, World, make_ticket, ticket_row

QUEUE = f"/api/v1/departments/{LEAD}/tickets"


async def test_etag_gives_304_until_something_changes(world: World) -> None:
    c, dept = world.client, world.as_("department")
    first = await c.get(QUEUE, headers=dept)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert [t["tracking_number"] for t in first.json()["items"]] == [world.lead_ticket]

    again = await c.get(QUEUE, headers={**dept, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag

    # The unit signs for the ticket (签收): the ticket changed, so the page did.
    assert (await c.post(f"/api/v1/tickets/{world.lead_ticket}/accept", headers=dept, json={})).status_code == 200
    changed = await c.get(QUEUE, headers={**dept, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["items"][0]["status"] == "accepted"

    # A new ticket dispatched to the unit changes it again.
    etag2 = changed.headers["etag"]
    assert (await c.get(QUEUE, headers={**dept, "If-None-Match": etag2})).status_code == 304
    new = await make_ticket(world.db, LEAD, text="新的投诉：夜间施工")
    after = await c.get(QUEUE, headers={**dept, "If-None-Match": etag2})
    assert after.status_code == 200
    assert [t["tracking_number"] for t in after.json()["items"]][-1] == new

    # Another unit's ticket arriving does not disturb this unit's cache.
    etag3 = after.headers["etag"]
    await make_ticket(world.db, "hrss", text="社保咨询")
    assert (await c.get(QUEUE, headers={**dept, "If-None-Match": etag3})).status_code == 304


async def test_the_etag_depends_on_who_asks_and_what(world: World) -> None:
    c = world.client
    as_unit = await c.get(QUEUE, headers=world.as_("department"))
    as_centre = await c.get(QUEUE, headers=world.as_("supervisor"))
    assert as_unit.headers["etag"] != as_centre.headers["etag"]  # the centre's view is another representation
    filtered = await c.get(QUEUE, headers=world.as_("department"), params={"status": "closed"})
    assert filtered.json()["items"] == [] and filtered.headers["etag"] != as_unit.headers["etag"]


async def test_polling_pages_are_stable_while_tickets_arrive(world: World) -> None:
    c, dept = world.client, world.as_("department")
    for i in range(4):
        await make_ticket(world.db, LEAD, text=f"排队工单 {i}")
    seen: list[str] = []
    cursor = None
    arrived: list[str] = []
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await c.get(QUEUE, headers=dept, params=params)).json()
        seen += [t["tracking_number"] for t in page["items"]]
        if len(arrived) < 2:  # tickets keep arriving between pages
            arrived.append(await make_ticket(world.db, LEAD, text=f"新到工单 {len(arrived)}"))
        if not page["next_cursor"]:
            resume = page["resume_cursor"]
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)), "a ticket was served twice"
    assert len(seen) == 1 + 4 + 2  # the report, the four, and the two that arrived while paging
    assert seen[-2:] == arrived  # newcomers come last: the order is by last change
    # Resuming from the last page's cursor gives only what changed since.
    latest = await make_ticket(world.db, LEAD, text="最后一张")
    page = (await c.get(QUEUE, headers=dept, params={"cursor": resume})).json()
    assert [t["tracking_number"] for t in page["items"]] == [latest]


async def test_updated_since_and_bad_cursors(world: World) -> None:
    c, dept = world.client, world.as_("department")
    t = await ticket_row(world.db, world.lead_ticket)
    before = (t.updated_at - timedelta(seconds=1)).isoformat()
    after = (t.updated_at + timedelta(seconds=1)).isoformat()
    assert len((await c.get(QUEUE, headers=dept, params={"updated_since": before})).json()["items"]) == 1
    assert (await c.get(QUEUE, headers=dept, params={"updated_since": after})).json()["items"] == []
    bad = await c.get(QUEUE, headers=dept, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert (await c.get("/api/v1/departments/no-such-unit/tickets", headers=world.as_("agent"))).status_code == 404


async def test_a_poll_shows_each_ticket_as_the_ticket_list_does(world: World) -> None:
    """The queue is written without the response models (for speed): its items must still be the
    list's items, field for field and byte for byte, masked identities included."""
    c = world.client
    await make_ticket(world.db, LEAD, text="普通投诉：噪音", phone="+8613900000003", name="赵六")
    for who in ("department", "supervisor"):
        polled = await c.get(QUEUE, headers=world.as_(who))
        listed = await c.get("/api/v1/tickets", headers=world.as_(who), params={"department": LEAD})
        assert polled.status_code == listed.status_code == 200
        assert polled.headers["content-type"] == listed.headers["content-type"]
        by_number = {t["tracking_number"]: t for t in listed.json()["items"]}
        items = polled.json()["items"]
        assert len(items) == 2 and [t["citizen"]["hidden"] for t in items] == [True, False]
        assert [by_number[t["tracking_number"]] for t in items] == items
        for t in items:  # the same bytes too: datetimes and numbers written the same way
            raw = orjson.dumps(t)
            assert raw.decode() in polled.text
            assert json.dumps(by_number[t["tracking_number"]], ensure_ascii=False,
                              separators=(",", ":")) in listed.text
        assert polled.json()["next_cursor"] is None and polled.json()["resume_cursor"]
