"""Every API endpoint × every kind of caller → the status each must get.

The list of endpoints comes from the app's own route table (its OpenAPI document), so an endpoint
added without an entry in ACCESS below fails `test_every_api_endpoint_has_an_entry`.

Outcomes: "ok" = served (any status but 401/403/404, and no 5xx: a 422 for the empty body we send
still means the caller got past the door); "in" = past authentication and role (404 allowed: the
fixture may lack that resource); 401, 403, 404 exactly. Unauthenticated callers (no key, revoked
key, expired key) get 401 everywhere except public endpoints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.api.conftest import LEAD, ROLES, World, build_world
from tests.conftest import client_for, settings_for
from tests.support.auth import SECRET

OK, IN = "ok", "in"

ANON = {"no_key": 401, "revoked_key": 401, "expired_key": 401}


def policy(agent: Any, supervisor: Any, department: Any, other_department: Any, channel: Any,
           admin: Any) -> dict[str, Any]:
    return {"agent": agent, "supervisor": supervisor, "department": department,
            "other_department": other_department, "channel": channel, "admin": admin, **ANON}


PUBLIC = {r: OK for r in ROLES}
PUBLIC_IN = {r: IN for r in ROLES}
SIGNED_IN = policy(OK, OK, OK, OK, OK, OK)
CENTRE = policy(OK, OK, 403, 403, 403, OK)  # agents, supervisors, admins
CENTRE_IN = policy(IN, IN, 403, 403, 403, IN)
SUPERVISORS = policy(403, OK, 403, 403, 403, OK)
SUPERVISORS_IN = policy(403, IN, 403, 403, 403, IN)
ADMIN = policy(403, 403, 403, 403, 403, OK)
ADMIN_IN = policy(403, 403, 403, 403, 403, IN)
# The LEAD department's own ticket or queue: another unit gets 404 (it must not learn it exists).
TICKET = policy(OK, OK, OK, 404, 403, OK)
TICKET_LIST = policy(OK, OK, OK, OK, 403, OK)  # a list: each unit sees its own (scoping tests check which)
TICKET_READERS_IN = policy(IN, IN, IN, IN, 403, IN)
# The knowledge service checks the role after the body is validated: a channel bot's empty body
# is refused as invalid (4xx) rather than by role; with a valid body it gets 403.
REFUSED = "refused"
KNOWLEDGE_WRITE = policy(IN, IN, IN, IN, REFUSED, IN)
# Lifecycle actions check the role in the state machine (tickets/lifecycle.py) after loading the
# ticket through readable(): a channel bot, which can read no ticket, gets 404 or 403.
HIDDEN = "hidden"  # 403 or 404: refused, and nothing learned


def acts(*allowed: str) -> dict[str, Any]:
    """A lifecycle action on LEAD's ticket that these roles may take (the others: 403)."""
    out = {r: (OK if r in allowed else 403) for r in ("agent", "supervisor", "department", "admin")}
    return {**out, "other_department": 404, "channel": HIDDEN, **ANON}


CENTRE_ACTS = acts("agent", "supervisor", "admin")
UNIT_ACTS = acts("department", "admin")

ACCESS: dict[str, dict[str, Any]] = {
    # auth
    "POST /api/v1/auth/login": PUBLIC,
    "POST /api/v1/auth/logout": SIGNED_IN,
    "GET /api/v1/me": SIGNED_IN,
    "GET /api/v1/admin/principals": ADMIN,
    "POST /api/v1/admin/principals": ADMIN,
    "POST /api/v1/admin/principals/{name_or_id}/revoke": ADMIN,
    # tickets
    "POST /api/v1/tickets": CENTRE,
    "GET /api/v1/tickets": TICKET_LIST,
    "GET /api/v1/tickets/export": TICKET_LIST,
    "GET /api/v1/tickets/{tracking_number}": TICKET,
    "GET /api/v1/tickets/{tracking_number}/events": TICKET,
    "GET /api/v1/citizens/lookup": CENTRE,
    # directory and queues
    "GET /api/v1/departments": SIGNED_IN,
    "GET /api/v1/departments/{code}/tickets": TICKET,
    "POST /api/v1/admin/departments": ADMIN,
    "PATCH /api/v1/admin/departments/{code}": ADMIN,
    "POST /api/v1/admin/departments/{code}/deactivate": ADMIN,
    # calls (PBX)
    "GET /api/v1/calls": CENTRE,
    "GET /api/v1/calls/{call_id}": CENTRE_IN,
    # knowledge base: readers are the centre and units; writers are checked by the service
    "GET /api/v1/knowledge/search": TICKET_READERS_IN,
    "GET /api/v1/knowledge/articles": TICKET_READERS_IN,
    "GET /api/v1/knowledge/articles/stale": TICKET_READERS_IN,
    "POST /api/v1/knowledge/articles": KNOWLEDGE_WRITE,
    "GET /api/v1/knowledge/articles/{article_id}": TICKET_READERS_IN,
    "PUT /api/v1/knowledge/articles/{article_id}": KNOWLEDGE_WRITE,
    "GET /api/v1/knowledge/articles/{article_id}/versions": TICKET_READERS_IN,
    "POST /api/v1/knowledge/articles/{article_id}/{status}": KNOWLEDGE_WRITE,
    # citizen-facing, no sign-in: status by tracking number, anonymised open data
    "GET /api/v1/public/tickets/{tracking_number}": PUBLIC_IN,
    "GET /api/v1/public/summary": PUBLIC_IN,
    # SLA and KPIs
    "GET /api/v1/admin/holidays": SUPERVISORS,
    "PUT /api/v1/admin/holidays/{year}": ADMIN,
    "GET /api/v1/admin/sla-policies": SUPERVISORS,
    "PUT /api/v1/admin/sla-policies": ADMIN,
    "PUT /api/v1/admin/units/{code}/contacts": ADMIN,
    "GET /api/v1/kpis": SUPERVISORS_IN,
    "GET /api/v1/kpis.csv": SUPERVISORS_IN,
    "GET /api/v1/tickets/{tracking_number}/sla": TICKET,
    "POST /api/v1/tickets/{tracking_number}/sla/pause": TICKET,
    "POST /api/v1/tickets/{tracking_number}/sla/resume": TICKET,
    # smart dispatch
    "GET /api/v1/dispatch-queue": CENTRE,
    "GET /api/v1/hot-issues": SUPERVISORS,
    "GET /api/v1/admin/catalogue": ADMIN,
    "PUT /api/v1/admin/catalogue": ADMIN,
    "POST /api/v1/admin/catalogue/versions/{version}/restore": ADMIN_IN,
    "POST /api/v1/routing/preview": CENTRE,
    "GET /api/v1/sla/board": CENTRE,
    "GET /api/v1/knowledge/candidates": TICKET_READERS_IN,
    "POST /api/v1/knowledge/articles/from-ticket/{tracking_number}": TICKET_READERS_IN,
    # the ticket lifecycle (E1): who may is the state machine's role table
    "GET /api/v1/lifecycle": SIGNED_IN,
    "GET /api/v1/tickets/{tracking_number}/lifecycle": policy(OK, OK, OK, 404, HIDDEN, OK),
    "POST /api/v1/tickets/{tracking_number}/dispatch": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/redispatch": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/accept": UNIT_ACTS,
    # co_accept / co_reply: the co-handling unit's own part; LEAD (the lead) and the centre get 403
    "POST /api/v1/tickets/{tracking_number}/co_accept": acts(),
    "POST /api/v1/tickets/{tracking_number}/co_reply": acts(),
    "POST /api/v1/tickets/{tracking_number}/add_progress": UNIT_ACTS,
    "POST /api/v1/tickets/{tracking_number}/reply": acts("department", "supervisor", "admin"),
    "POST /api/v1/tickets/{tracking_number}/return_ticket": UNIT_ACTS,
    "POST /api/v1/tickets/{tracking_number}/resolve_return": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/request_extension": UNIT_ACTS,
    "POST /api/v1/tickets/{tracking_number}/decide_extension": acts("supervisor", "admin"),
    "POST /api/v1/tickets/{tracking_number}/record_callback": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/close": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/merge": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/hand_off": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/refuse": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/answer_directly": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/reclassify": CENTRE_ACTS,
    "POST /api/v1/tickets/{tracking_number}/add_note": acts("agent", "supervisor", "department", "admin"),
}
# Engineers adding endpoints: add a line above, with one of the policies (or a policy(...) of your own).


def api_endpoints() -> list[str]:
    app = create_app(settings_for("sqlite+aiosqlite://"))
    return sorted(f"{method.upper()} {path}" for path, ops in app.openapi()["paths"].items()
                  for method in ops if path.startswith("/api/"))


ENDPOINTS = api_endpoints()


def test_every_api_endpoint_has_an_entry() -> None:
    missing = [e for e in ENDPOINTS if e not in ACCESS]
    assert not missing, f"endpoints with no entry in the authorisation matrix: {missing}"
    stale = [e for e in ACCESS if e not in ENDPOINTS]
    assert not stale, f"matrix entries for endpoints that no longer exist: {stale}"


@pytest.fixture(scope="module")
async def shared_world(pg_url: str) -> AsyncIterator[World]:
    """One world for the whole matrix (built once: the matrix is hundreds of requests)."""
    db = Database(pg_url)
    async with client_for(create_app(settings_for(pg_url, secret_key=SECRET))) as client:
        yield await build_world(db, client)
    await db.dispose()


def fill(path: str, w: World) -> str:
    code = w.scratch_unit if path.startswith("/api/v1/admin/") else LEAD
    values = {"tracking_number": w.lead_ticket, "code": code, "name_or_id": w.victim, "call_id": "no-such-call",
              "article_id": "1", "status": "published", "year": "2026", "version": "1"}
    out = path
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    assert "{" not in out, f"the matrix does not know how to fill {path}: add the parameter to fill()"
    return out


QUERY = {"/api/v1/citizens/lookup": {"phone": "13900000001"}, "/api/v1/kpis": {"month": "2026-11"},
         "/api/v1/kpis.csv": {"month": "2026-11"}, "/api/v1/public/summary": {"month": "2026-11"},
         "/api/v1/knowledge/search": {"q": "社保"}}


def body_for(path: str, w: World) -> dict[str, Any]:
    """A valid body where the endpoint checks roles only after validating it; {} elsewhere."""
    action = path.rsplit("/", 1)[-1]
    bodies: dict[str, dict[str, Any]] = {
        "dispatch": {"department_code": LEAD}, "redispatch": {"department_code": LEAD},
        "add_progress": {"text": "已联系市民"}, "reply": {"text": "已办结"}, "co_reply": {"text": "已办结"},
        "return_ticket": {"reason_code": "not_our_remit"}, "resolve_return": {"decision": "dispute"},
        "request_extension": {"days": 2, "reason": "需现场核查"}, "decide_extension": {"approve": True},
        "record_callback": {"satisfaction": "satisfied"}, "merge": {"into": w.other_ticket},
        "hand_off": {"line": "110"}, "refuse": {"reason_code": "outside_government_services"},
        "answer_directly": {"answer": "已答复"}, "reclassify": {"type": "complaint"}, "add_note": {"text": "内部备注"},
    }
    return bodies.get(action, {}) if "/api/v1/tickets/{tracking_number}/" in path else {}


def outcome_ok(expected: Any, status: int) -> bool:
    if status >= 500:
        return False
    if expected == OK:
        return status not in (401, 403, 404)
    if expected == IN:
        return status not in (401, 403)
    if expected == HIDDEN:
        return status in (403, 404)
    if expected == REFUSED:
        return status in (400, 403, 422)
    return bool(status == expected)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_endpoint_admits_exactly_the_roles_it_should(endpoint: str, shared_world: World) -> None:
    world = shared_world
    expected = ACCESS.get(endpoint)
    assert expected is not None, f"{endpoint} has no entry in the authorisation matrix"
    method, path = endpoint.split(" ", 1)
    url = fill(path, world)
    wrong = []
    # Callers that must be refused go first, so no write by an allowed role changes what they see.
    for role in sorted(ROLES, key=lambda r: expected[r] in (OK, IN, REFUSED, HIDDEN)):
        kw: dict[str, Any] = {"headers": world.as_(role), "params": QUERY.get(path, {})}
        if method in ("POST", "PUT", "PATCH"):
            kw["json"] = body_for(path, world)
        r = await world.client.request(method, url, **kw)
        if not outcome_ok(expected[role], r.status_code):
            wrong.append(f"{role}: got {r.status_code}, expected {expected[role]} ({r.text[:120]})")
        if r.status_code == 401:
            assert "bearer" in r.headers.get("www-authenticate", "").lower(), r.headers
        if r.status_code in (401, 403, 404, 422):
            assert r.headers["content-type"].startswith("application/problem+json"), (role, r.text)
    assert not wrong, f"{endpoint}:\n" + "\n".join(wrong)


async def test_unauthenticated_callers_learn_why(world: World) -> None:
    c = world.client
    r = await c.get("/api/v1/me")
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    assert "revoked" in (await c.get("/api/v1/me", headers=world.as_("revoked_key"))).json()["detail"]
    assert "expired" in (await c.get("/api/v1/me", headers=world.as_("expired_key"))).json()["detail"]
    r = await c.get("/api/v1/me", headers={"Authorization": "Bearer hlk_not-a-real-key"})
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    r = await c.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401
    r = await c.get("/api/v1/admin/principals", headers=world.as_("agent"))
    assert r.status_code == 403 and "agent role may not" in r.json()["detail"]


def test_matrix_covers_every_role() -> None:
    for endpoint, expected in ACCESS.items():
        assert set(expected) == set(ROLES), endpoint

