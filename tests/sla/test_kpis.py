"""Unit KPIs on a seeded October 2026, every figure counted by hand below; and the open-data summary."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.api.app import create_app
from hotline.auth.principal import Role
from hotline.kit.db import Database
from hotline.sla import service
from hotline.sla.service import Moment
from hotline.tickets import repository as tickets
from tests.conftest import client_for, settings_for
from tests.sla.support import make_ticket
from tests.support.auth import headers_for

CST = ZoneInfo("Asia/Shanghai")


def cst(*a: int) -> datetime:
    return datetime(*a, tzinfo=CST)


async def _act(db: Database, tracking_number: str, moment: Moment, at: datetime, *,
               satisfaction: str | None = None, unit: str | None = None, extend: int | None = None) -> None:
    async with db.unit_of_work() as s:
        t = await tickets.get_by_tracking_number(s, tracking_number)
        assert t is not None
        if unit:
            t.department_code = unit
        if extend:
            await service.extend_reply_deadline(s, t, extend, at)
        else:
            await service.apply_deadlines(s, t, moment, at, satisfaction=satisfaction)


async def _seed_october(db: Database) -> None:
    # T1 env complaint: accepted within the day, replied on time (due Oct 29), satisfied.
    t1 = await make_ticket(db, cst(2026, 10, 12, 9), town="town-changan", topic="noise")
    await _act(db, t1.tracking_number, Moment.ACCEPTED, cst(2026, 10, 12, 10))
    await _act(db, t1.tracking_number, Moment.REPLIED, cst(2026, 10, 20, 9))
    await _act(db, t1.tracking_number, Moment.CALLBACK_DONE, cst(2026, 10, 21, 9), satisfaction="satisfied")
    # T2 env consultation (3 working days, due Oct 15 09:00): accepted late, replied late, basically satisfied.
    t2 = await make_ticket(db, cst(2026, 10, 12, 9), type="consultation")
    await _act(db, t2.tracking_number, Moment.ACCEPTED, cst(2026, 10, 14, 9))
    await _act(db, t2.tracking_number, Moment.REPLIED, cst(2026, 10, 16, 9))
    await _act(db, t2.tracking_number, Moment.CALLBACK_DONE, cst(2026, 10, 19, 9),
               satisfaction="basically_satisfied")
    # T3: env accepts, then returns it (退单); re-dispatched to hrss, which replies on time; the
    # citizen is unsatisfied, it is reopened (重办) with hrss, replied again, then satisfied.
    t3 = await make_ticket(db, cst(2026, 10, 20, 10), town="town-changan", topic="noise")
    await _act(db, t3.tracking_number, Moment.ACCEPTED, cst(2026, 10, 20, 11))
    await _act(db, t3.tracking_number, Moment.RETURNED, cst(2026, 10, 21, 9))
    await _act(db, t3.tracking_number, Moment.DISPATCHED, cst(2026, 10, 21, 12), unit="hrss")
    await _act(db, t3.tracking_number, Moment.ACCEPTED, cst(2026, 10, 21, 13))
    await _act(db, t3.tracking_number, Moment.REPLIED, cst(2026, 10, 23, 9))
    await _act(db, t3.tracking_number, Moment.CALLBACK_DONE, cst(2026, 10, 26, 9), satisfaction="unsatisfied")
    await _act(db, t3.tracking_number, Moment.REOPENED, cst(2026, 10, 26, 9))
    await _act(db, t3.tracking_number, Moment.REPLIED, cst(2026, 10, 27, 9))
    await _act(db, t3.tracking_number, Moment.CALLBACK_DONE, cst(2026, 10, 28, 9), satisfaction="satisfied")
    # T4 env, 23:30 on Oct 30 (15:30 UTC): October. An approved extension; not replied yet.
    t4 = await make_ticket(db, cst(2026, 10, 30, 23, 30), town="street-nancheng")
    await _act(db, t4.tracking_number, Moment.REPLIED, cst(2026, 10, 31), extend=3)
    # T5 env at 00:30 on Nov 1 is still Oct 31 in UTC, but November in Dongguan; T6 is September.
    await make_ticket(db, cst(2026, 11, 1, 0, 30))
    await make_ticket(db, cst(2026, 9, 30, 23, 59))
    # T7 Tangxia town, a help request: everything on time, satisfied.
    t7 = await make_ticket(db, cst(2026, 10, 8, 9), type="help", department="town-tangxia", town="town-tangxia")
    await _act(db, t7.tracking_number, Moment.ACCEPTED, cst(2026, 10, 8, 10))
    await _act(db, t7.tracking_number, Moment.REPLIED, cst(2026, 10, 9, 9))
    await _act(db, t7.tracking_number, Moment.CALLBACK_DONE, cst(2026, 10, 12, 9), satisfaction="satisfied")


async def test_unit_kpis_and_ranking_for_a_seeded_month(db: Database, pg_url: str) -> None:
    await _seed_october(db)
    async with client_for(create_app(settings_for(pg_url))) as c:
        supervisor = await headers_for(db, Role.SUPERVISOR)
        r = await c.get("/api/v1/kpis", params={"month": "2026-10"}, headers=supervisor)
        assert r.status_code == 200, r.text
        items = {i["unit"]: i for i in r.json()["items"]}
        assert [i["unit"] for i in r.json()["items"]] == ["town-tangxia", "hrss", "env"]

        env = items["env"]
        # Given T1, T2, T3, T4 (4); T3 came back (1 return), so 3 handled; accepted in time: T1 only;
        # replied: T1, T2; on time: T1; rated T1 satisfied, T2 basically satisfied; T4 extended once.
        assert {k: env[k] for k in ("received", "handled", "accepted_on_time", "replied", "replied_on_time",
                                    "returns", "extensions", "reopens", "rated", "satisfied")} == {
            "received": 4, "handled": 3, "accepted_on_time": 1, "replied": 2, "replied_on_time": 1,
            "returns": 1, "extensions": 1, "reopens": 0, "rated": 2, "satisfied": 2}
        assert (env["response_rate"], env["resolution_rate"], env["on_time_rate"], env["satisfaction_rate"]) \
            == (0.3333, 0.6667, 0.5, 1.0)
        assert env["score"] == 0.625 and env["rank"] == 3

        hrss = items["hrss"]
        # T3 from its re-dispatch: received 1, accepted and replied on time, reopened once and
        # replied on time again; one unsatisfied and one satisfied callback.
        assert (hrss["received"], hrss["handled"], hrss["replied"], hrss["reopens"], hrss["returns"]) == (1, 1, 1, 1, 0)
        assert (hrss["response_rate"], hrss["resolution_rate"], hrss["on_time_rate"], hrss["satisfaction_rate"]) \
            == (1.0, 1.0, 1.0, 0.5)
        assert hrss["score"] == 0.875

        town = items["town-tangxia"]
        assert town["kind"] == "town" and town["score"] == 1.0 and town["received"] == 1

        towns_only = (await c.get("/api/v1/kpis", params={"month": "2026-10", "kind": "town"},
                                  headers=supervisor)).json()["items"]
        assert [i["unit"] for i in towns_only] == ["town-tangxia"]
        november = (await c.get("/api/v1/kpis", params={"month": "2026-11"}, headers=supervisor)).json()
        assert [(i["unit"], i["received"]) for i in november["items"]] == [("env", 1)]

        exported = await c.get("/api/v1/kpis.csv", params={"month": "2026-10"}, headers=supervisor)
        assert exported.headers["content-type"].startswith("text/csv")
        text = exported.content.decode("utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
        assert [(row["rank"], row["unit"], row["on_time_rate"]) for row in rows] == [
            ("1", "town-tangxia", "1.0"), ("2", "hrss", "1.0"), ("3", "env", "0.5")]
        assert rows[2]["name"] == "市生态环境局"


async def test_public_summary_is_counts_only(db: Database, pg_url: str) -> None:
    await _seed_october(db)
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await c.get("/api/v1/public/summary", params={"month": "2026-10"})
    assert r.status_code == 200
    s = r.json()
    assert s == {
        "month": "2026-10", "total": 5,
        "by_type": {"complaint": 3, "consultation": 1, "help": 1},
        "by_topic": {"noise": 2, "unknown": 3},
        "by_town": {"town-changan": 2, "street-nancheng": 1, "town-tangxia": 1, "unknown": 1},
        # Replies given in October: T1, T2 (late), T3 twice, T7 — four on time.
        "replied": 5, "on_time_rate": 0.8,
    }
    assert "+86" not in r.text and "测试工单" not in r.text
