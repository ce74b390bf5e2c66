"""The same API on the embedded default (`hotline dev`: SQLite, router in-process)."""

from __future__ import annotations

from hotline.api.app import create_app
from tests.conftest import client_for, settings_for
from tests.support.auth import bearer, create_key


async def test_keys_tickets_polling_and_idempotency_on_sqlite(sqlite_url: str) -> None:
    agent = bearer(await create_key(sqlite_url, "agent"))
    async with client_for(create_app(settings_for(sqlite_url))) as c:
        call = {"phone": "13800138000", "text": "举报塘厦镇某工地夜间施工噪音扰民", "name": "张三"}
        r = await c.post("/api/v1/tickets", headers={**agent, "Idempotency-Key": "k1"}, json=call)
        assert r.status_code == 201, r.text
        again = await c.post("/api/v1/tickets", headers={**agent, "Idempotency-Key": "k1"}, json=call)
        assert again.json() == r.json()
        tn, unit = r.json()["tracking_number"], r.json()["department_code"]
        assert unit, "the router dispatched it"
        env = bearer(await create_key(sqlite_url, "department", unit))
        hrss = bearer(await create_key(sqlite_url, "department", "hrss" if unit != "hrss" else "env"))

        first = await c.get(f"/api/v1/departments/{unit}/tickets", headers=env)
        assert [t["tracking_number"] for t in first.json()["items"]] == [tn]
        assert first.json()["items"][0]["citizen"]["hidden"] is True
        cached = await c.get(f"/api/v1/departments/{unit}/tickets",
                             headers={**env, "If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304
        assert (await c.get(f"/api/v1/tickets/{tn}", headers=hrss)).status_code == 404
        found = await c.get("/api/v1/tickets", headers=agent, params={"q": "噪音"})
        assert [t["tracking_number"] for t in found.json()["items"]] == [tn]
        assert (await c.get("/api/v1/me")).status_code == 401
