"""Rate limits on public intake: per sender and per client address, with 429 and Retry-After."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.kit.db import Database
from hotline.tickets.models import Ticket
from tests.conftest import client_for, settings_for


async def test_one_sender_flooding_the_web_form_gets_429_with_retry_after(db: Database, pg_url: str) -> None:
    settings = settings_for(pg_url, web_rate_limit_per_minute=3)
    async with client_for(create_app(settings, roles=("gateway", "api"))) as c:
        codes = [(await c.post("/channels/web", json={"phone": "13800138000", "text": f"路灯坏了 {i}"})).status_code
                 for i in range(5)]
        assert codes == [202, 202, 202, 429, 429]
        r = await c.post("/channels/web", json={"phone": "13800138000", "text": "再来一条"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "too many" in r.json()["detail"]
        # Another citizen is not held back by the first one.
        assert (await c.post("/channels/web", json={"phone": "13900139000", "text": "路灯坏了"})).status_code == 202


async def test_one_address_posting_as_many_senders_gets_429(db: Database, pg_url: str) -> None:
    settings = settings_for(pg_url, public_rate_limit_per_ip_per_minute=4)
    async with client_for(create_app(settings, roles=("gateway", "api"))) as c:
        codes = [(await c.post("/channels/web", json={"phone": f"1380013{i:04d}", "text": f"路灯坏了 {i}"})).status_code
                 for i in range(6)]
        assert codes == [202] * 4 + [429, 429]
        r = await c.post("/channels/web", json={"phone": "13700137000", "text": "x"})
        assert r.status_code == 429 and r.headers["Retry-After"]
    # Nothing refused was stored.
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 4
