"""A small world for API tests: one principal per role, tickets of two units, and an HTTP client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.auth import service as auth
from hotline.auth.principal import Role
from hotline.departments import repository as departments
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.routing.schemas import RoutingDecision
from hotline.tickets.models import Ticket
from hotline.tickets.service import ingest
from tests.conftest import client_for, settings_for
from tests.support.auth import SECRET, bearer

LEAD = "env"  # the department under test (市生态环境局)
OTHER = "hrss"  # another unit: none of LEAD's tickets are its business

# Every caller the authorisation matrix tries.
ROLES = ("agent", "supervisor", "department", "other_department", "channel", "admin",
         "no_key", "revoked_key", "expired_key")


async def make_ticket(db: Database, department: str | None, *, type: str = "complaint",
                      text: str | None = None, phone: str = "+8613800138000", name: str | None = "张三",
                      confidential: bool = False, topic: str | None = None, town: str | None = None) -> str:
    """A ticket through the real ingest path, routed by a fixed decision (the router is not under test)."""
    external_id = uuid.uuid4().hex
    msg = IntakeMessage(
        channel=Channel.WEB, external_id=external_id, tracking_number=tracking_number_for("web", external_id),
        citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, name=name, phone=phone,
                        confidential=confidential),
        text=text or f"测试工单 {external_id[:6]}", received_at=utcnow())

    def route(texts: list[str], locations: object = None) -> list[RoutingDecision]:
        return [RoutingDecision(type=type, department_code=department, topic=topic, town_code=town, confidence=1.0,
                                rule="test", reasons=["set by the test"]) for _ in texts]

    async with db.unit_of_work() as s:
        await ingest(s, [msg], route, await departments.active_codes(s))
    return msg.tracking_number


async def ticket_row(db: Database, tracking_number: str) -> Ticket:
    async with db.sessions() as s:
        t = await s.scalar(select(Ticket).where(Ticket.tracking_number == tracking_number))
        assert t is not None
        return t


@dataclass
class World:
    client: httpx.AsyncClient
    db: Database
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    lead_ticket: str = ""  # LEAD's report: confidential
    other_ticket: str = ""  # OTHER's complaint
    victim: str = ""  # a principal the admin may revoke
    scratch_unit: str = ""  # a unit the admin may change or deactivate (the directory outlives tests)

    def as_(self, role: str) -> dict[str, str]:
        return self.headers[role]


async def build_world(db: Database, client: httpx.AsyncClient) -> World:
    w = World(client=client, db=db)
    tag = uuid.uuid4().hex[:6]
    w.victim, w.scratch_unit = f"victim-{tag}", f"test-unit-{tag}"
    callers = {"agent": (Role.AGENT, None, None), "supervisor": (Role.SUPERVISOR, None, None),
               "department": (Role.DEPARTMENT, LEAD, None), "other_department": (Role.DEPARTMENT, OTHER, None),
               "channel": (Role.CHANNEL, None, None), "admin": (Role.ADMIN, None, None),
               "revoked_key": (Role.ADMIN, None, None),
               "expired_key": (Role.ADMIN, None, utcnow() - timedelta(minutes=1))}
    async with db.unit_of_work() as s:  # one transaction: the world is rebuilt for every test
        for caller, (role, unit, expires_at) in callers.items():
            _, key = await auth.create_principal(s, name=f"{caller}-{tag}", role=role, department_code=unit,
                                                 secret_key=SECRET, key_expires_at=expires_at)
            w.headers[caller] = bearer(key or "")
        await auth.revoke(s, f"revoked_key-{tag}")
        await auth.create_principal(s, name=w.victim, role=Role.AGENT, secret_key=SECRET)
        await departments.add_department(s, w.scratch_unit, "测试单位", "city_department")
    w.headers["no_key"] = {}
    w.lead_ticket = await make_ticket(db, LEAD, type="report", text="举报塘厦镇某工厂夜间偷排废水",
                                      phone="+8613900000001", name="王举报", confidential=True)
    w.other_ticket = await make_ticket(db, OTHER, text="社保转移咨询", phone="+8613900000002", name="李四")
    return w


@pytest.fixture
async def api(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app (gateway + API), no credentials by default."""
    async with client_for(create_app(settings_for(pg_url, secret_key=SECRET))) as c:
        yield c


@pytest.fixture
async def world(db: Database, api: httpx.AsyncClient) -> World:
    return await build_world(db, api)
