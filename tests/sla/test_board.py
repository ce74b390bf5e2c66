"""The supervisors' SLA board: open deadlines per unit, with warnings and breaches as of now."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.sla.models import SlaClock
from tests.support.auth import headers_for


async def test_board_counts_open_nearing_and_late_deadlines_by_unit(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    for i in range(3):
        r = await embedded_client.post("/channels/web", json={
            "phone": f"1380013800{i}", "text": f"投诉塘厦镇工地夜间施工噪音扰民（{i}）"})
        assert r.status_code == 202
    supervisor = await headers_for(db, "supervisor")
    board = (await embedded_client.get("/api/v1/sla/board", headers=supervisor)).json()
    env = next(u for u in board["units"] if u["department_code"] == "env")
    assert env["open"] >= 3 and env["warnings"] == 0 and env["breaches"] == 0

    # Two of them are now late, one nearing its limit.
    now = utcnow()
    async with db.unit_of_work() as s:
        ids = [i for (i,) in (await s.execute(SlaClock.__table__.select().with_only_columns(SlaClock.id)
                                               .where(SlaClock.department_code == "env")
                                               .order_by(SlaClock.id))).all()]
        await s.execute(update(SlaClock).where(SlaClock.id.in_(ids[:2]))
                        .values(warn_at=now - timedelta(days=2), due_at=now - timedelta(hours=1)))
        await s.execute(update(SlaClock).where(SlaClock.id == ids[2])
                        .values(warn_at=now - timedelta(hours=1), due_at=now + timedelta(hours=3)))
    board = (await embedded_client.get("/api/v1/sla/board", headers=supervisor)).json()
    assert board["units"][0]["department_code"] == "env"  # the worst unit first
    assert board["units"][0]["breaches"] == 2 and board["units"][0]["warnings"] == 1

    dept = await headers_for(db, "department", "env")
    assert (await embedded_client.get("/api/v1/sla/board", headers=dept)).status_code == 403
